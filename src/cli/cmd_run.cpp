// editlab run: the main job (include/editlab/run/runner.h).
#include <iostream>

#include "common.h"
#include "editlab/util/compute_threads.h"
#include "editlab/report/report.h"
#include "editlab/run/runner.h"
#include "editlab/util/error.h"

namespace editlab::cli {
namespace {

struct RunCliOptions {
  std::string experiment, out, shard, hparams;
  int64_t limit = 0;
  int64_t edit_batch = 0;
  int64_t record_batch = 0;
  bool details = false;
  bool resume = false;
  std::string format = "md";
};

void run_run(const RunCliOptions& o, const GlobalOptions& global) {
  auto config = ExperimentConfig::load(o.experiment);
  if (!o.out.empty()) config = config.with("out", o.out);
  if (o.limit > 0) config = config.with("limit", o.limit);
  if (o.edit_batch > 0) config = config.with("edit_batch", o.edit_batch);
  if (o.record_batch > 0) config = config.with("record_batch", o.record_batch);
  if (o.details) config = config.with("details", true);
  if (!o.hparams.empty()) config = config.with("hparams", o.hparams);
  // --device and --dtype (global), when given, win over the config's "device" and "dtype".
  if (global.device_given) {
    parse_device(global.device, "--device");  // its error names the flag
    config = config.with("device", global.device);
  }
  if (global.dtype_given) config = config.with("dtype", global.dtype);
  // --threads (global) wins over the config's "threads"; 0 in both = all cores (already set).
  if (global.threads == 0 && config.threads > 0) set_compute_threads(config.threads);
  RunOptions options;
  options.resume = o.resume;
  options.setting_names = flag_names();
  if (!o.shard.empty()) options.shard = Shard::parse(o.shard);
  const auto outcome = run_experiment(config, options);
  const auto& report = outcome.report;
  if (o.format == "json") {
    std::cout << report["aggregates"].dump(2) << std::endl;
  } else if (o.format == "md") {
    std::cout << report::markdown_table({report}, {config.method_label()});
  }
  const auto& t = report["timings"];
  fmt::print(stderr, "{} records ({} failed) in {:.1f} s: {:.2f} records/s, {:.0f}% of the loop in the model\n",
             report["summary"]["records"].get<int64_t>(), report["summary"]["failed"].get<int64_t>(),
             t["wall"].get<double>(), t["records_per_second"].get<double>(), 100 * t["model_share"].get<double>());
  fmt::print(stderr, "report: {}\n", (config.out / "report.json").string());
  if (outcome.interrupted) throw ExitStatus{130};
}

}  // namespace

void setup_run(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<RunCliOptions>();
  auto* sub = app.add_subcommand(
      "run",
      "run an experiment over a dataset: probe, edit, probe again; journal and report");
  sub->footer("run an experiment: for each record of the dataset, probe, edit, probe again, undo; write a journal "
      "(resumable) and a report with aggregates and confidence intervals. With \"sequential\" in the config the "
      "edits accumulate instead, and every k edits all records edited so far are probed against the unedited "
      "model (steps in out/sequential.jsonl and the report's \"sequential\")");
  sub->add_option("experiment", o->experiment, "experiment config (JSON; see docs/formats.md)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--out", o->out, "output directory (overrides the config's \"out\")");
  sub->add_option("--hparams", o->hparams, "hyperparameter file (overrides the config's \"hparams\")")
      ->check(CLI::ExistingFile);
  sub->add_option("--shard", o->shard,
                  "run shard K of N (K/N, 1-based) of the selected records; merge with `editlab merge`")
      ->check(
          [](const std::string& text) {
            try {
              Shard::parse(text);
              return std::string();
            } catch (const Error& e) {
              return std::string(e.what());
            }
          },
          "K/N");
  sub->add_flag("--resume", o->resume,
                "continue the run whose journal is in the output directory (a sequential run: start its edits "
                "over, reusing its saved baseline)");
  sub->add_option("--edit-batch", o->edit_batch,
                  "records edited together (overrides the config's \"edit_batch\"): MEMIT, EMMET and AlphaEdit "
                  "solve for the batch at once, the other methods apply it record by record")
      ->check(kPositive);
  sub->add_option("--record-batch", o->record_batch,
                  fmt::format("records probed together (overrides the config's \"record_batch\", default {}): their "
                              "prompts share forward batches, each ROME / r-ROME edit applied to its own rows; 1 "
                              "probes one record at a time. Results equal within float rounding",
                              ExperimentConfig::kDefaultRecordBatch))
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  sub->add_flag("--details", o->details,
                "keep every probe's prompt and p(target_new), p(target_true) before and after in each record "
                "(config \"details\": true; shown on each record of report --format html)");
  sub->add_option("--limit", o->limit, "only the first N selected records (overrides select.limit)")
      ->check(kPositive);
  sub->add_option("--format", o->format, "summary on stdout: md, json (aggregates) or none")
      ->check(CLI::IsMember({"md", "json", "none"}))
      ->capture_default_str();
  std::string suites = "Suites (the config's \"suites\"; * = run by default) and their metrics:\n";
  for (const auto& s : kSuiteRegistry) {
    suites += fmt::format("  {:<18} {}/{{{}}}\n", fmt::format("{}{}", s.name, s.by_default ? " *" : ""), s.name,
                          s.metrics);
  }
  sub->footer(suites + "Reports, journals and the config's fields: docs/formats.md.");
  sub->callback([o, &global] { run_run(*o, global); });
}

}  // namespace editlab::cli
