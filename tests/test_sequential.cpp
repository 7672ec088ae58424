// `editlab run` with "sequential": the edits accumulate, and every record edited so far is scored
// against its probes on the *unedited* model, not against the model its own edit was applied to.
#include "catch_torch.h"

#include <fstream>

#include "editlab/edit/editor.h"
#include "editlab/model/model_dir.h"
#include "editlab/probe/suites.h"
#include "support.h"

using namespace editlab;
using Catch::Contains;
using test::run_cli;
using test::shell_quote;
namespace fs = std::filesystem;

namespace {

// Three records on the same neighbourhood, so each edit moves the others' locality probes.
nlohmann::json sequential_dataset() {
  nlohmann::json d = nlohmann::json::array();
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"The Eiffel Tower", "Berlin"}, {"The Louvre", "Rome"}, {"Big Ben", "Madrid"}};
  for (size_t i = 0; i < edits.size(); ++i) {
    const auto& [subject, target] = edits[i];
    d.push_back({{"case_id", i},
                 {"requested_rewrite",
                  {{"prompt", "{} is located in"},
                   {"subject", subject},
                   {"target_new", {{"str", target}}},
                   {"target_true", {{"str", "Paris"}}}}},
                 {"paraphrase_prompts", {"In fact, " + subject + " is in"}},
                 {"neighborhood_prompts", {"The Colosseum is located in", "The Vatican is located in"}}});
  }
  return d;
}

const nlohmann::json kFt = {{"layers", {1}},     {"num_steps", 5}, {"lr", 1e-2},
                            {"weight_decay", 0}, {"kl_factor", 0}, {"norm_constraint", false}};

struct SequentialFixture {
  test::TempDir tmp;
  fs::path experiment;
  explicit SequentialFixture(const nlohmann::json& sequential) {
    std::ofstream(tmp / "data.json") << sequential_dataset().dump(1);
    std::ofstream(tmp / "ft.json") << kFt.dump();
    const nlohmann::json e = {{"model", test::fixture_model_dir().string()},
                              {"method", "ft"},
                              {"hparams", "ft.json"},
                              {"dataset", "data.json"},
                              {"suites", {"efficacy", "paraphrase", "specificity"}},
                              {"sequential", sequential},
                              {"threads", 1},
                              {"out", "out"}};
    experiment = tmp / "experiment.json";
    std::ofstream(experiment) << e.dump(1);
  }
  nlohmann::json report() const {
    std::ifstream in(tmp / "out/report.json");
    return nlohmann::json::parse(in);
  }
};

}  // namespace

TEST_CASE("sequential run: steps, and every record scored against the unedited model", "[sequential]") {
  torch::set_num_threads(1);
  SequentialFixture f(nlohmann::json{{"every", 2}, {"first", 1}});
  const auto r = run_cli("run " + shell_quote(f.experiment.string()));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto report = f.report();
  const auto& seq = report["sequential"];
  CHECK(seq["every"] == 2);
  CHECK(seq["baseline"] == "unedited model");
  // Measured after 2 edits and after the last (3).
  REQUIRE(seq["steps"].size() == 2);
  CHECK(seq["steps"][0]["edits"] == 2);
  CHECK(seq["steps"][0]["records"] == 2);
  CHECK(seq["steps"][1]["edits"] == 3);
  CHECK(seq["steps"][1]["records"] == 3);
  CHECK(seq["steps"][1]["first"]["records"] == 1);
  CHECK(seq["steps"][1]["all"].contains("specificity/NKL"));
  // The steps file holds the same steps, one per line.
  std::ifstream steps_file(f.tmp / "out/sequential.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(steps_file, line)) CHECK(nlohmann::json::parse(line)["edits"] == seq["steps"][lines++]["edits"]);
  CHECK(lines == 2);
  REQUIRE(report["records"].size() == 3);
  for (const auto& rec : report["records"]) CHECK(rec["measured_after_edits"] == 3);

  // The same by hand: baseline on the unedited model, all three edits, probes again.
  auto m = load_model(test::fixture_model_dir(), {});
  SuiteOptions options;
  options.suites = {Suite::efficacy, Suite::paraphrase, Suite::specificity};
  std::vector<ProbeRecord> records;
  std::vector<Observation> baseline;
  for (const auto& j : sequential_dataset()) {
    records.push_back(parse_probe_record(j, "test"));
    baseline.push_back(RecordProbes(records.back(), options).observe(*m.model, *m.tokenizer, 0));
  }
  auto editor = make_editor(EditMethod::ft, kFt, "ft.json", *m.model, *m.tokenizer, m.fingerprint(), {});
  Observation before_last;  // record 2's probes on the model edited by records 0 and 1
  std::vector<EditResult> applied;
  for (size_t i = 0; i < records.size(); ++i) {
    if (i == 2) before_last = RecordProbes(records[2], options).observe(*m.model, *m.tokenizer, 0);
    for (auto& e : editor->apply(records[i].requests)) applied.push_back(std::move(e));
  }
  for (size_t i = 0; i < records.size(); ++i) {
    const RecordProbes probes(records[i], options);
    const auto after = probes.observe(*m.model, *m.tokenizer, 0);
    const auto expected = probes.metrics(baseline[i], after)["metrics"];
    const auto& got = report["records"][i]["metrics"];
    for (const auto& name : {"efficacy/success", "specificity/NS", "specificity/NKL"}) {
      INFO("record " << i << " " << name);
      REQUIRE(got[name].size() == expected[name].size());
      for (size_t k = 0; k < got[name].size(); ++k) {
        CHECK(got[name][k].get<double>() == Approx(expected[name][k].get<double>()).margin(1e-6));
      }
    }
    if (i == 2) {
      // What tools that take the "before" probes on the already-edited model would report for the
      // last record: a smaller divergence on the neighbourhood, hiding the first two edits' drift.
      const auto drifted = probes.metrics(before_last, after)["metrics"];
      const double ours = got["specificity/NKL"][0].get<double>();
      const double theirs = drifted["specificity/NKL"][0].get<double>();
      INFO("NKL against the unedited model " << ours << ", against the already-edited one " << theirs);
      CHECK(ours > 0);
      CHECK(std::abs(ours - theirs) > 1e-4 * std::max(1.0, ours));
    }
  }
  for (auto it = applied.rbegin(); it != applied.rend(); ++it) undo(*it);
}

TEST_CASE("sequential run: what it refuses", "[sequential]") {
  SequentialFixture f(true);
  CHECK(run_cli("run " + shell_quote(f.experiment.string()) + " --shard 1/2").err.find("cannot be sharded") !=
        std::string::npos);
  const auto first = run_cli("run " + shell_quote(f.experiment.string()));
  REQUIRE(first.exit_code == 0);
  CHECK(f.report()["sequential"]["steps"].size() == 3);  // true: every edit
  const auto again = run_cli("run " + shell_quote(f.experiment.string()));
  CHECK(again.exit_code == 2);
  CHECK_THAT(again.err, Contains("already holds a sequential run"));
  SequentialFixture bad(nlohmann::json{{"evry", 2}});
  CHECK_THAT(run_cli("run " + shell_quote(bad.experiment.string())).err,
             Contains("sequential: unknown field \"evry\""));
}
