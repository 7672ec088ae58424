// editlab stats --model DIR --layer L --corpus FILE: ROME's second-moment statistics, cached.
#include "common.h"
#include "editlab/edit/rome_setup.h"
#include "editlab/model/device_memory.h"
#include "editlab/util/steady_clock.h"
#include "editlab/util/progress.h"

namespace editlab::cli {
namespace {

struct StatsOptions {
  std::string model_dir, corpus, cache_dir, out;
  int64_t layer = 0;
  int64_t samples = 100000;
  std::string mom2_dtype = "float32";
  bool no_cache = false, json = false;
};

void run_stats(const StatsOptions& opt, const GlobalOptions& global) {
  auto loaded = load(global, opt.model_dir);
  RomeSetupOptions setup;
  if (!opt.cache_dir.empty()) setup.cache_dir = opt.cache_dir;
  setup.use_cache = !opt.no_cache;
  setup.log = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
  setup.stats_progress = stderr_stats_progress();
  std::filesystem::path cache_file;
  const auto start = std::chrono::steady_clock::now();
  auto stats = cached_layer_stats(*loaded.model, *loaded.tokenizer, loaded.fingerprint(),
                                  {opt.layer, opt.corpus, opt.samples, opt.mom2_dtype}, setup, &cache_file);
  synchronize_device(loaded.model->device());
  const double seconds = seconds_since(start);
  if (!opt.out.empty()) save_cached_stats(opt.out, "exported:" + cache_file.stem().string(), stats);
  const auto moment = stats.moment();
  nlohmann::json j = {{"layer", opt.layer},
                      {"tokens", stats.count},
                      {"d_mlp", stats.mom2.size(0)},
                      {"mom2_dtype", opt.mom2_dtype},
                      {"cache_file", opt.no_cache ? "" : cache_file.string()},
                      {"out", opt.out},
                      {"trace_C", moment.trace().item<double>()},
                      {"fingerprint", loaded.fingerprint()},
                      {"seconds", seconds}};
  // Computed here, not read from the cache: the statistics' speed (reading the corpus, tokenizing,
  // the forward passes to the layer, the accumulation).
  if (opt.no_cache) j["tokens_per_second"] = stats.count / seconds;
  if (opt.json) {
    print_json(j);
    return;
  }
  fmt::print("layer {}: C = E[k k^T] over {} tokens ({} x {}, {}), trace {:.6g}\n", opt.layer, stats.count,
             stats.mom2.size(0), stats.mom2.size(1), opt.mom2_dtype, j["trace_C"].get<double>());
  if (!opt.no_cache) fmt::print("cached in {}\n", cache_file.string());
  if (!opt.out.empty()) fmt::print("written to {}\n", opt.out);
}

}  // namespace

void setup_stats(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<StatsOptions>();
  auto* sub = app.add_subcommand(
      "stats", "ROME's second-moment statistics C = E[k k^T] at a layer, cached");
  sub->footer("second-moment statistics C = E[k k^T] of the ROME key (the input of the MLP output projection: GPT-2 c_proj, GPT-J fc_out, NeoX dense_4h_to_h, Llama / Mistral / Qwen2 down_proj) at a layer, with a progress line, cached");
  sub->add_option("--model", opt->model_dir, "Hugging Face model directory")->required();
  sub->add_option("--layer", opt->layer, "layer index")->required()->check(kNonNegative);
  sub->add_option("--corpus", opt->corpus,
                  "texts: documents separated by blank lines, or JSON Lines with a \"text\" field (.jsonl)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--samples", opt->samples, "use the first N texts (ROME: mom2_n_samples = 100000)")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--mom2-dtype", opt->mom2_dtype, "accumulation dtype (ROME's mom2_dtype): float32 or float64")
      ->check(CLI::IsMember({"float32", "float64"}))
      ->capture_default_str();
  sub->add_option("--cache-dir", opt->cache_dir,
                  "cache directory (default: $XDG_CACHE_HOME/editlab or ~/.cache/editlab)");
  sub->add_flag("--no-cache", opt->no_cache, "neither read nor write the cache");
  sub->add_option("--out", opt->out, "also write the statistics to this .safetensors file (for edit --stats)");
  sub->add_flag("--json", opt->json, "machine-readable output");
  sub->callback([opt, &global] { run_stats(*opt, global); });
}

}  // namespace editlab::cli
