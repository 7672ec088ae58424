// The sequential run's baseline on disk (issue 27, "Scale and memory"): the unedited model's
// next-token distributions go to out/baseline.bin and are read back when a record's metrics are
// computed. The metrics must be those of the in-memory computation bit for bit (float64, CPU), and
// --resume must reuse a complete file written for the same run, and observe again otherwise.
#include "catch_torch.h"

#include <fstream>

#include "editlab/edit/editor.h"
#include "editlab/model/model_dir.h"
#include "editlab/probe/suites.h"
#include "editlab/run/runner.h"
#include "support.h"

using namespace editlab;
using Catch::Contains;
using test::run_cli;
using test::shell_quote;
namespace fs = std::filesystem;

namespace {

const nlohmann::json kFt = {{"layers", {0}},     {"num_steps", 5}, {"lr", 1e-3},
                            {"weight_decay", 0}, {"kl_factor", 0}, {"norm_constraint", false}};

// Five toy-world records (implications and mention prompts included), in groups of two
// (record_batch), measured after 2, 4 and 5 edits.
struct ToyWorldSequential {
  test::TempDir tmp;
  fs::path experiment;
  explicit ToyWorldSequential(int64_t records = 5) {
    std::ofstream(tmp / "ft.json") << kFt.dump();
    const auto data = test::source_dir() / "data/toy-world";
    const nlohmann::json e = {
        {"model", (data / "model").string()},
        {"method", "ft"},
        {"hparams", "ft.json"},
        {"dataset", (data / "counterfact.json").string()},
        {"select", {{"limit", records}}},
        {"suites", {"efficacy", "paraphrase", "specificity", "specificity_plus", "loud", "implication"}},
        {"generation", {{"beams", 3}, {"max_length", 12}}},
        {"sequential", {{"every", 2}, {"first", 2}}},
        {"record_batch", 2},
        {"dtype", "float64"},
        {"details", true},
        {"threads", 1},
        {"out", "out"}};
    experiment = tmp / "experiment.json";
    std::ofstream(experiment) << e.dump(1);
  }
  nlohmann::json report(const std::string& out = "out") const {
    std::ifstream in(tmp / out / "report.json");
    return nlohmann::json::parse(in);
  }
};

// What a record's result holds that the baseline determines (the edit's diagnostics hold timings).
nlohmann::json scored(const nlohmann::json& result) {
  nlohmann::json d = result["details"];
  d.erase("edit");
  return {{"metrics", result["metrics"]}, {"details", d}};
}

struct Expected {
  std::vector<nlohmann::json> last;  // each record's metrics and details at the last step
  std::vector<nlohmann::json> own;   // ... at the first step after its own edit
};

// The sequential loop's arithmetic with every baseline observation kept whole in memory (as
// editlab did before the baseline file): the baseline through observe_many in groups of
// record_batch, the edits one after another, and after every `every` edits (and the last) every
// edited record observed again in groups of record_batch and scored against its baseline.
Expected in_memory_sequential(const ExperimentConfig& config) {
  auto m = load_model(config.model, {torch::kFloat64, torch::kCPU});
  const auto dataset = load_dataset(config.dataset);
  const auto order = select_records(config, dataset);
  const auto group = static_cast<size_t>(config.record_batch);
  std::vector<ProbeRecord> records;
  std::vector<std::unique_ptr<RecordProbes>> probes;
  for (auto i : order) {
    records.push_back(parse_probe_record(dataset[i], "test"));
    probes.push_back(std::make_unique<RecordProbes>(records.back(), config.suites));
  }
  auto observe = [&](size_t count) {
    std::vector<Observation> out;
    for (size_t b = 0; b < count; b += group) {
      std::vector<const RecordProbes*> batch;
      for (size_t k = b; k < std::min(count, b + group); ++k) batch.push_back(probes[k].get());
      const std::vector<uint64_t> seeds(batch.size(), 0);  // no sampled suite
      for (auto& o : RecordProbes::observe_many(batch, *m.model, *m.tokenizer, seeds)) out.push_back(std::move(o));
    }
    return out;
  };
  const auto baseline = observe(records.size());
  auto editor = make_editor(EditMethod::ft, kFt, "ft.json", *m.model, *m.tokenizer, m.fingerprint(), {});
  Expected x;
  x.last.resize(records.size());
  std::vector<EditResult> applied;
  const auto every = static_cast<size_t>(config.sequential->every);
  for (size_t i = 0; i < records.size(); ++i) {
    for (auto& e : editor->apply(records[i].requests)) applied.push_back(std::move(e));
    const size_t edits = i + 1;
    if (edits % every != 0 && edits != records.size()) continue;
    const auto afters = observe(edits);
    for (size_t k = 0; k < edits; ++k) {
      auto r = probes[k]->metrics(baseline[k], afters[k]);
      x.last[k] = {{"metrics", r["metrics"]}, {"details", r["details"]}};
      if (k >= x.own.size()) x.own.push_back(x.last[k]["metrics"]);
    }
  }
  for (auto it = applied.rbegin(); it != applied.rend(); ++it) undo(*it);
  return x;
}

void require_same_records(const nlohmann::json& a, const nlohmann::json& b) {
  REQUIRE(a["records"].size() == b["records"].size());
  for (size_t i = 0; i < a["records"].size(); ++i) {
    INFO("record " << i);
    CHECK(scored(a["records"][i]) == scored(b["records"][i]));
    CHECK(a["records"][i]["at_own_edit"] == b["records"][i]["at_own_edit"]);
  }
  CHECK(a["aggregates"] == b["aggregates"]);
  CHECK(a["sequential"]["steps"] == b["sequential"]["steps"]);
}

}  // namespace

TEST_CASE("sequential baseline file: metrics equal the in-memory computation bit for bit", "[sequential_baseline]") {
  torch::set_num_threads(1);
  ToyWorldSequential f;
  const auto config = ExperimentConfig::load(f.experiment);
  RunOptions options;
  options.handle_signals = false;
  const auto outcome = run_experiment(config, options);
  REQUIRE_FALSE(outcome.interrupted);
  const auto report = f.report();
  CHECK(report["complete"] == true);
  CHECK_FALSE(fs::exists(f.tmp / "out/baseline.bin"));  // removed once the run is complete
  REQUIRE(report["sequential"]["steps"].size() == 3);

  const auto expected = in_memory_sequential(config);
  REQUIRE(report["records"].size() == expected.last.size());
  for (size_t i = 0; i < expected.last.size(); ++i) {
    INFO("record " << i);
    const auto& got = report["records"][i];
    REQUIRE(got["status"] == "ok");
    CHECK(got["metrics"].contains("specificity/NKL"));
    CHECK(got["metrics"].contains("specificity_plus/NKL+"));
    // Exact: JSON numbers compare as doubles, every digit.
    CHECK(scored(got) == expected.last[i]);
    CHECK(got["at_own_edit"]["metrics"] == expected.own[i]);
  }
}

TEST_CASE("sequential baseline file: --resume reuses a complete file of the same run, observes again otherwise",
          "[sequential_baseline]") {
  ToyWorldSequential f;
  const std::string run = "run " + shell_quote(f.experiment.string());
  const auto fresh = run_cli(run + " --out " + shell_quote((f.tmp / "fresh").string()));
  INFO(fresh.err);
  REQUIRE(fresh.exit_code == 0);
  const auto reference = f.report("fresh");
  const fs::path out = f.tmp / "out";
  const fs::path spill = out / "baseline.bin";

  // A run stopped after its baseline: its first step cannot be written (a full disk).
  auto stopped_after_baseline = [&] {
    fs::remove_all(out);
    fs::create_directories(out);
    fs::create_symlink("/dev/full", out / "sequential.jsonl");
    const auto r = run_cli(run);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains("sequential.jsonl: cannot write"));
    fs::remove(out / "sequential.jsonl");
    REQUIRE(fs::exists(spill));
  };
  stopped_after_baseline();
  // The output directory holds a sequential run's steps now: only --resume runs it again.
  std::ofstream(out / "sequential.jsonl") << "{}\n";
  CHECK_THAT(run_cli(run).err, Contains("already holds a sequential run"));

  const auto resumed = run_cli(run + " --resume");
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK_THAT(resumed.err, Contains("the baseline of 5 records is read from"));
  CHECK_THAT(resumed.err, !Contains("sequential: baseline"));  // no model pass for it
  require_same_records(f.report(), reference);
  CHECK_FALSE(fs::exists(spill));

  // A damaged file, one cut short, one of another run, none: the baseline is observed again.
  stopped_after_baseline();
  {
    std::fstream file(spill, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);  // inside the first record's distributions
    file.put('\x7f');
  }
  auto r = run_cli(run + " --resume");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("its contents do not match their hash"));
  CHECK_THAT(r.err, Contains("sequential: baseline"));
  require_same_records(f.report(), reference);

  stopped_after_baseline();
  fs::resize_file(spill, fs::file_size(spill) - 1);
  r = run_cli(run + " --resume");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("it is incomplete"));
  require_same_records(f.report(), reference);

  stopped_after_baseline();
  r = run_cli(run + " --resume --limit 4");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("it was written for another run"));
  CHECK(f.report()["records"].size() == 4);

  fs::remove_all(out);
  r = run_cli(run + " --resume");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("there is none"));
  require_same_records(f.report(), reference);
}
