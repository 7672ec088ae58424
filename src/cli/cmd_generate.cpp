// editlab generate --model DIR --prompt P [--beams N] [--max-length N | --max-new-tokens N]
#include "common.h"
#include "editlab/model/generate.h"

namespace editlab::cli {
namespace {

struct GenerateCliOptions {
  std::string model_dir, prompt;
  int64_t beams = 1;
  int64_t max_length = 20;
  int64_t max_new_tokens = 0;
  bool json = false;
};

void run_generate(const GenerateCliOptions& opt, const GlobalOptions& global) {
  auto loaded = load(global, opt.model_dir);
  auto prompt_ids = loaded.tokenizer->encode_prompt(opt.prompt);
  GenerateOptions options;
  options.num_beams = opt.beams;
  options.max_length = opt.max_length;
  if (opt.max_new_tokens > 0) options.max_new_tokens = opt.max_new_tokens;
  options.eos_token_id = loaded.config.eos_token_id;
  options.more_eos_token_ids = loaded.config.eos_token_ids;
  auto result = generate(*loaded.model, prompt_ids, options);
  std::vector<int64_t> new_ids(result.ids.begin() + prompt_ids.size(), result.ids.end());
  const auto continuation = loaded.tokenizer->decode_continuation(prompt_ids, new_ids);
  if (opt.json) {
    print_json({{"prompt", opt.prompt},
                {"prompt_ids", prompt_ids},
                {"ids", result.ids},
                {"new_ids", new_ids},
                {"continuation", continuation},
                {"text", opt.prompt + continuation},
                {"score", result.score},
                {"beams", opt.beams}});
    return;
  }
  fmt::print("{}{}\n", opt.prompt, continuation);
}

}  // namespace

void setup_generate(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<GenerateCliOptions>();
  auto* sub = app.add_subcommand("generate", "greedy or beam-search continuation (Hugging Face generate semantics)");
  sub->add_option("--model", opt->model_dir, "Hugging Face model directory")->required();
  sub->add_option("--prompt", opt->prompt, "text to continue")->required();
  sub->add_option("--beams", opt->beams, "number of beams (1 = greedy)")
      ->check(CLI::Range(int64_t{1}, int64_t{64}))
      ->capture_default_str();
  auto* max_length = sub->add_option("--max-length", opt->max_length, "total tokens incl. the prompt")
                         ->check(kPositive)
                         ->capture_default_str();
  sub->add_option("--max-new-tokens", opt->max_new_tokens, "new tokens (overrides --max-length)")
      ->check(kPositive)
      ->excludes(max_length);
  sub->add_flag("--json", opt->json, "machine-readable output");
  sub->callback([opt, &global] { run_generate(*opt, global); });
}

}  // namespace editlab::cli
