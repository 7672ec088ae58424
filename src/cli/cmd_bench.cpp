// editlab bench: the foundation's speed figures, all measured in this one process.
#include "common.h"
#include "editlab/edit/edit_bench.h"
#include "editlab/model/bench.h"
#include "editlab/trace/trace_bench.h"

namespace editlab::cli {
namespace {

struct BenchOptions {
  bool json = false;
  std::string work_dir;
  bool skip_load = false;
  bool skip_edits = false;
  bool skip_trace = false;
  std::string toy_model_dir = std::string(EDITLAB_DATA_DIR) + "/toy-world/model";
  std::string measure_load_dir;
  std::string tokenizer_dir;
};

void run_bench(const BenchOptions& opt) {
  if (!opt.measure_load_dir.empty()) {
    auto result = measure_load(opt.measure_load_dir);
    if (opt.json) {
      print_json(result);
    } else {
      fmt::print("load to ready {:.3f} s, peak RSS {:.0f} MB\n", result["load_seconds"].get<double>(),
                 result["peak_rss_bytes"].get<double>() / 1e6);
    }
    return;
  }
  BenchSettings settings;
  if (!opt.work_dir.empty()) settings.work_dir = opt.work_dir;
  settings.measure_load = !opt.skip_load;
  if (!opt.tokenizer_dir.empty()) settings.tokenizer_dir = opt.tokenizer_dir;
  auto log = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
  auto report = run_foundation_bench(settings, log);
  if (!opt.skip_edits) report["edits"] = run_edit_bench(settings.tokenizer_dir, settings.repeats, log);
  if (!opt.skip_trace) report["trace"] = run_trace_bench(opt.toy_model_dir, settings.tokenizer_dir, log);
  if (opt.json) {
    print_json(report);
    return;
  }
  fmt::print("{}", format_bench_report(report));
  if (report.contains("edits")) {
    const auto& e = report["edits"];
    fmt::print("ROME edit (layer 5)      {:.2f} s ({} v steps); full-depth v steps {:.2f} s: speedup {:.2f}\n",
               e["rome_seconds_per_edit"].get<double>(), e["rome_v_steps"].get<int64_t>(),
               e["rome_full_depth_seconds_per_edit"].get<double>(), e["v_speedup_layers_L_to_N"].get<double>());
    fmt::print("FT edit (25 steps)       {:.2f} s\n", e["ft_seconds_per_edit"].get<double>());
    fmt::print(
        "statistics, layer 5      {:.0f} tokens/s stopping after it vs {:.0f} full pass: {:.2f}x (target >= {:.1f})\n",
        e["stats_tokens_per_second_early_exit"].get<double>(), e["stats_tokens_per_second_full_pass"].get<double>(),
        e["stats_speedup"].get<double>(), e["stats_speedup_target"].get<double>());
  }
  if (report.contains("trace")) {
    const auto& t = report["trace"];
    if (!t["toy_world_seconds"].is_null()) {
      fmt::print("trace, toy world         {:.2f} s per prompt ({} tokens, {} layers, 3 kinds; target < {:.0f} s)\n",
                 t["toy_world_seconds"].get<double>(), t["toy_world_tokens"].get<int64_t>(),
                 t["toy_world_layers"].get<int64_t>(), t["toy_world_target_seconds"].get<double>());
    }
    fmt::print("trace, GPT-2 small shape {:.1f} s per prompt ({} tokens, 12 layers, 3 kinds; target < {:.0f} s)\n",
               t["gpt2_small_seconds"].get<double>(), t["gpt2_small_tokens"].get<int64_t>(),
               t["gpt2_small_target_seconds"].get<double>());
  }
}

}  // namespace

void setup_bench(CLI::App& app, const GlobalOptions&) {
  auto opt = std::make_shared<BenchOptions>();
  auto* sub =
      app.add_subcommand("bench", "measure matmul and forward GFLOP/s, model load time and memory (GPT-2-small shape)");
  sub->add_flag("--json", opt->json, "machine-readable output");
  sub->add_option("--work-dir", opt->work_dir,
                  "where to write the temporary ~500 MB model for the load test (default: system temp dir)");
  sub->add_option("--tokenizer", opt->tokenizer_dir,
                  "vocab.json + merges.txt for the load test (default: the source tree's data/gpt2-tokenizer)")
      ->check(CLI::ExistingDirectory);
  sub->add_flag("--skip-load", opt->skip_load, "skip the load-time and memory measurement");
  sub->add_flag("--skip-edits", opt->skip_edits, "skip the ROME / FT / statistics timings");
  sub->add_flag("--skip-trace", opt->skip_trace, "skip the causal-tracing timings");
  sub->add_option("--toy-model", opt->toy_model_dir, "the toy-world model the trace timing uses")
      ->capture_default_str();
  sub->add_option("--measure-load", opt->measure_load_dir,
                  "only time loading this model directory and report this process's peak RSS "
                  "(what bench runs in a fresh child process)");
  sub->callback([opt] { run_bench(*opt); });
}

}  // namespace editlab::cli
