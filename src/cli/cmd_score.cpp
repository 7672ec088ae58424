// editlab score --model DIR --prefix P --target T: CounterFact's nll(prefix, target).
#include "common.h"
#include "editlab/probe/scoring.h"

namespace editlab::cli {
namespace {

struct ScoreOptions {
  std::string model_dir, prefix, target;
  bool json = false;
};

void run_score(const ScoreOptions& opt, const GlobalOptions& global) {
  auto loaded = load(global, opt.model_dir);
  ScoreRequest request{opt.prefix, opt.target};
  auto score = score_targets(*loaded.model, *loaded.tokenizer, std::span(&request, 1))[0];
  if (opt.json) {
    nlohmann::json tokens = nlohmann::json::array();
    for (auto id : score.target_ids) tokens.push_back(loaded.tokenizer->token_string(id));
    print_json({{"prefix", opt.prefix},
                {"target", opt.target},
                {"prefix_ids", score.prefix_ids},
                {"target_ids", score.target_ids},
                {"target_tokens", tokens},
                {"token_logprobs", score.token_logprobs},
                {"nll", score.nll},
                {"prob", std::exp(-score.nll)},
                {"greedy_correct", score.greedy_correct}});
    return;
  }
  fmt::print("prefix  {}\ntarget  \" {}\" ({} tokens)\n", nlohmann::json(opt.prefix).dump(), opt.target,
             score.target_ids.size());
  for (size_t i = 0; i < score.target_ids.size(); ++i) {
    fmt::print("  {:>6}  {:<20} log p = {:.6f}\n", score.target_ids[i],
               nlohmann::json(loaded.tokenizer->token_string(score.target_ids[i])).dump(), score.token_logprobs[i]);
  }
  fmt::print("nll     {:.6f}  (exp(-nll) = {:.6g}; greedy {})\n", score.nll, std::exp(-score.nll),
             score.greedy_correct ? "correct" : "wrong");
}

}  // namespace

void setup_score(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<ScoreOptions>();
  auto* sub = app.add_subcommand(
      "score", "CounterFact's nll(prefix, target), with per-token log-probs");
  sub->footer("nll(prefix, target) as CounterFact defines it: mean -log p over \" \" + target's tokens");
  sub->add_option("--model", opt->model_dir, "Hugging Face model directory")->required();
  sub->add_option("--prefix", opt->prefix, "the prompt, e.g. \"The Eiffel Tower is located in\"")->required();
  sub->add_option("--target", opt->target, "the answer, e.g. \"Paris\" (a leading space is added)")->required();
  sub->add_flag("--json", opt->json, "machine-readable output");
  sub->callback([opt, &global] { run_score(*opt, global); });
}

}  // namespace editlab::cli
