// editlab bench: the foundation's speed figures, all measured in this one process.
#include "common.h"
#include "editlab/model/bench.h"

namespace editlab::cli {
namespace {

struct BenchOptions {
  bool json = false;
  std::string work_dir;
  bool skip_load = false;
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
  auto report = run_foundation_bench(settings, [](const std::string& line) { fmt::print(stderr, "{}\n", line); });
  if (opt.json) {
    print_json(report);
    return;
  }
  fmt::print("{}", format_bench_report(report));
}

}  // namespace

void setup_bench(CLI::App& app, const GlobalOptions&) {
  auto opt = std::make_shared<BenchOptions>();
  auto* sub = app.add_subcommand(
      "bench", "measure matmul and forward GFLOP/s, model load time and memory (GPT-2-small shape)");
  sub->add_flag("--json", opt->json, "machine-readable output");
  sub->add_option("--work-dir", opt->work_dir,
                  "where to write the temporary ~500 MB model for the load test (default: system temp dir)");
  sub->add_option("--tokenizer", opt->tokenizer_dir,
                  "vocab.json + merges.txt for the load test (default: the source tree's data/gpt2-tokenizer)")
      ->check(CLI::ExistingDirectory);
  sub->add_flag("--skip-load", opt->skip_load, "skip the load-time and memory measurement");
  sub->add_option("--measure-load", opt->measure_load_dir,
                  "only time loading this model directory and report this process's peak RSS "
                  "(what bench runs in a fresh child process)");
  sub->callback([opt] { run_bench(*opt); });
}

}  // namespace editlab::cli
