// editlab bench: the foundation's speed figures, all measured in this one process (but for the
// load's peak memory, measured in a fresh `editlab bench --measure-load` child process).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include <torch/torch.h>

#include "common.h"
#include "editlab/util/compute_threads.h"
#include "editlab/edit/edit_bench.h"
#include "editlab/model/bench.h"
#include "editlab/trace/trace_bench.h"
#include "editlab/util/data_dir.h"
#include "editlab/util/error.h"

namespace editlab::cli {
namespace {

struct BenchOptions {
  bool json = false;
  std::string work_dir;
  bool skip_load = false;
  bool skip_edits = false;
  bool skip_trace = false;
  std::string toy_model_dir = (data_dir() / "toy-world/model").string();
  std::string measure_load_dir;
  std::string tokenizer_dir;
};

// Runs `editlab --threads N bench --measure-load DIR --json` (this executable) as a fresh process
// (this one already held other models, so its own peak RSS says nothing) and returns its JSON.
nlohmann::json measure_load_in_child(const std::filesystem::path& dir) {
  const auto out_file = dir / "measure-load.json";
  std::vector<std::string> args = {"/proc/self/exe", "--threads",      std::to_string(compute_threads()),
                                   "bench",          "--measure-load", dir.string(),
                                   "--json"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) fail("bench: cannot start a child editlab to measure loading ({})", std::strerror(rc));
  int status = 0;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fail("bench: the child `editlab bench --measure-load {}` failed", dir.string());
  }
  std::ifstream in(out_file);
  return nlohmann::json::parse(in);
}

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
  settings.measure_load_in_fresh_process = measure_load_in_child;
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
    fmt::print("ROME edit (layer 5)      {:.2f} s ({} v steps); full depth and length {:.2f} s: speedup {:.2f}\n",
               e["rome_seconds_per_edit"].get<double>(), e["rome_v_steps"].get<int64_t>(),
               e["rome_full_depth_seconds_per_edit"].get<double>(), e["v_speedup"].get<double>());
    for (const auto& [key, label] : {std::pair{"suffix", "layers L..N, suffix"}, {"from_layer", "layers L..N, all"}}) {
      const auto& v = e["v_passes"][key];
      fmt::print("  v steps, {:<21} {:.2f} s: {:.2f} of the full pass's step time, touching {:.2f} of its work\n", label,
                 v["seconds"].get<double>(), v["time_fraction"].get<double>(), v["work_fraction"].get<double>());
    }
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
