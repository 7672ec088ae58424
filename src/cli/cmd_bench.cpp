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
#include "editlab/model/device.h"
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
  std::string model_dir;
  std::string shape;
  int64_t batch = 1;
  int64_t tokens = 128;
  bool keep = false;
};

// Runs `editlab --threads N bench --measure-load DIR --json` (this executable) as a fresh process
// (this one already held other models, so its own peak RSS says nothing) and returns its JSON.
nlohmann::json measure_load_in_child(const std::filesystem::path& dir, const std::string& dtype = "float32",
                                     const std::string& device = "cpu") {
  const auto out_file = std::filesystem::temp_directory_path() / fmt::format("editlab-measure-load-{}.json", ::getpid());
  std::vector<std::string> args = {"/proc/self/exe", "--threads", std::to_string(compute_threads()),
                                   "--dtype",        dtype,       "--device", device, "bench",
                                   "--measure-load", dir.string(), "--json"};
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
  auto result = nlohmann::json::parse(in);
  std::error_code ec;
  std::filesystem::remove(out_file, ec);
  return result;
}

// editlab bench --model DIR | --shape NAME: one model at its real size.
void run_model_bench_cli(const BenchOptions& opt, const GlobalOptions& global) {
  auto log = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
  std::filesystem::path dir = opt.model_dir;
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code ec;
      if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    }
  } cleanup;
  if (!opt.shape.empty()) {
    const auto config = bench_shape_config(opt.shape);
    const std::filesystem::path work =
        opt.work_dir.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(opt.work_dir);
    dir = work / fmt::format("editlab-bench-{}-{}", opt.shape, ::getpid());
    if (!opt.keep) cleanup.dir = dir;
    log(fmt::format("writing a random-weight {} to {} ...", opt.shape, dir.string()));
    const auto tokenizer = opt.tokenizer_dir.empty() ? data_dir() / "gpt2-tokenizer" : std::filesystem::path(opt.tokenizer_dir);
    write_random_model(config, tokenizer, dir);
  }
  ModelBenchSettings settings;
  settings.dtype = parse_compute_dtype(global.dtype, "--dtype");
  settings.device = parse_device(global.device, "--device");
  settings.batch = opt.batch;
  settings.tokens = opt.tokens;
  if (!opt.skip_load) {
    settings.measure_load_in_fresh_process = [&](const std::filesystem::path& d) {
      return measure_load_in_child(d, global.dtype, global.device);
    };
  }
  auto report = run_model_bench(dir, settings, log);
  if (!opt.shape.empty()) report["model"] = opt.shape + " (random weights)";
  if (opt.json) {
    print_json(report);
  } else {
    fmt::print("{}", format_model_bench_report(report));
  }
}

void run_bench(const BenchOptions& opt, const GlobalOptions& global) {
  if (!opt.model_dir.empty() || !opt.shape.empty()) {
    run_model_bench_cli(opt, global);
    return;
  }
  if (!opt.measure_load_dir.empty()) {
    auto result = measure_load(opt.measure_load_dir, 3, parse_compute_dtype(global.dtype, "--dtype"),
                               parse_device(global.device, "--device"));
    if (opt.json) {
      print_json(result);
    } else {
      fmt::print("load to ready {:.3f} s, peak RSS {:.0f} MB\n", result["load_seconds"].get<double>(),
                 result["peak_rss_bytes"].get<double>() / 1e6);
    }
    return;
  }
  if (!parse_device(global.device, "--device").is_cpu()) {
    fail("bench: without --model or --shape, bench measures this machine's CPU (GPT-2-small shape, edits, "
         "tracing); on {} give --model DIR or --shape llama-1b|gpt2-xl",
         global.device);
  }
  BenchSettings settings;
  if (!opt.work_dir.empty()) settings.work_dir = opt.work_dir;
  settings.measure_load = !opt.skip_load;
  settings.measure_load_in_fresh_process = [](const std::filesystem::path& d) { return measure_load_in_child(d); };
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

void setup_bench(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<BenchOptions>();
  auto* sub =
      app.add_subcommand("bench", "measure speed and memory (GPT-2-small shape, or a model with --model / --shape)");
  sub->footer(
      "Without --model / --shape: matmul and forward GFLOP/s of a GPT-2-small-shaped model, its load time "
      "and memory, and the ROME / FT / statistics / tracing timings, in one run. With --model DIR or "
      "--shape NAME: that model at its real size in --dtype: load time and peak RSS in a fresh process, "
      "forward GFLOP/s and tokens/s against sgemm at its MLP shape.");
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
  auto* model = sub->add_option("--model", opt->model_dir,
                                "measure this model directory instead: load time and peak RSS in a fresh process, "
                                "forward GFLOP/s against sgemm at its MLP shape, in --dtype")
                    ->check(CLI::ExistingDirectory);
  sub->add_option("--shape", opt->shape,
                  "the same on a random-weight model of a named shape written to --work-dir and removed after: "
                  "llama-1b (Llama 3.2 1B, 4.9 GB in float32) or gpt2-xl (6.2 GB)")
      ->check(CLI::IsMember(bench_shape_names()))
      ->excludes(model);
  sub->add_option("--batch", opt->batch, "with --model / --shape: sequences per forward pass")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--tokens", opt->tokens, "with --model / --shape: tokens per sequence")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_flag("--keep", opt->keep, "with --shape: keep the written model directory");
  sub->callback([opt, &global] { run_bench(*opt, global); });
}

}  // namespace editlab::cli
