// The benchmarks' own pass rules (RippleEdits, MQuAKE), records with several rewrites and
// benchmark tests, and the "benchmark" suite on the toy-world model, whose answers are known.
#include "catch_torch.h"

#include <fstream>

#include "editlab/model/model_dir.h"
#include "editlab/probe/benchmark_rules.h"
#include "editlab/probe/suites.h"
#include "support.h"

using namespace editlab;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

std::vector<BenchmarkAnswer> answers(std::initializer_list<BenchmarkAnswer> a) { return a; }

}  // namespace

TEST_CASE("RippleEdits' rule: every answer needs one of its strings in prompt + generation", "[benchmark]") {
  // One-character strings are dropped unless a digit (the reference's _filter_answers).
  CHECK(ripple_edits_answer_strings({"Paris", {"P", "City of Light", "7", "é"}}) ==
        std::vector<std::string>{"Paris", "City of Light", "7"});
  const std::string text = "The capital of France is Paris, the City of Light.";
  CHECK(ripple_edits_query_passes(text, answers({{"Paris", {}}})));
  CHECK(ripple_edits_query_passes(text, answers({{"Lutetia", {"City of Light"}}})));
  CHECK_FALSE(ripple_edits_query_passes(text, answers({{"paris", {}}})));  // case-sensitive, as Python's `in`
  // Several answers (several target ids): all of them must appear.
  CHECK(ripple_edits_query_passes(text, answers({{"Paris", {}}, {"France", {}}})));
  CHECK_FALSE(ripple_edits_query_passes(text, answers({{"Paris", {}}, {"Lyon", {}}})));
  // An answer whose strings are all filtered out can never pass.
  CHECK_FALSE(ripple_edits_query_passes(text, answers({{"P", {"x"}}})));
  CHECK(ripple_edits_query_passes("born in 7 BC", answers({{"7", {}}})));
  // The generation length: the prompt's characters (code points, not bytes) + 30.
  CHECK(ripple_edits_max_length("Café is") == 7 + 30);
}

TEST_CASE("MQuAKE's rule: the first line of the continuation equals the new answer or an alias", "[benchmark]") {
  CHECK(mquake_answer(" Franklin.\nQ: Who is ...") == "Franklin.");
  CHECK(mquake_answer("  Washington, D.C. \n") == "Washington, D.C.");
  CHECK(mquake_answer("\nParis") == "");
  CHECK(mquake_query_passes(" Washington, D.C.", answers({{"Washington, D.C.", {}}})));
  CHECK(mquake_query_passes(" Paris.", answers({{"Paris", {}}})));
  const auto a = answers({{"Franklin", {"Franklin, Kentucky"}}});
  CHECK(mquake_query_passes(" Franklin", a));
  CHECK(mquake_query_passes(" Franklin, Kentucky.\n", a));
  CHECK_FALSE(mquake_query_passes(" Frank", a));
  CHECK_FALSE(mquake_query_passes(" Franklin is a city", a));  // exact match, not containment
  CHECK_FALSE(mquake_query_passes(" Franklinville", a));
  CHECK_FALSE(mquake_query_passes(" Paris, France", answers({{"Paris", {}}})));
  // The answer may end the first sentence of a longer line (models prompted without few-shot
  // lines do not stop at a newline).
  CHECK(mquake_query_passes(" Paris. The city of Paris is located in France.", answers({{"Paris", {}}})));
  CHECK(mquake_query_passes(" Washington, D.C. is the capital", answers({{"Washington, D.C.", {}}})));
  CHECK_FALSE(mquake_query_passes("\n Franklin", a));  // the first line is empty
}

TEST_CASE("a test case: conditions on the unedited model, then OR / AND over its test queries", "[benchmark]") {
  CHECK(benchmark_test_outcome({true, false}, {true}, false) == TestOutcome::kNotExecuted);
  CHECK(benchmark_test_outcome({}, {false, true}, false) == TestOutcome::kPassed);
  CHECK(benchmark_test_outcome({true}, {false, true}, true) == TestOutcome::kFailed);
  CHECK(benchmark_test_outcome({true}, {true, true}, true) == TestOutcome::kPassed);
  CHECK(benchmark_test_outcome({}, {false}, false) == TestOutcome::kFailed);
}

TEST_CASE("records: a list of rewrites, benchmark tests, implications without target_old", "[benchmark]") {
  const nlohmann::json mquake = nlohmann::json::parse(R"({
    "case_id": 7,
    "requested_rewrite": [
      {"prompt": "{} is a citizen of", "subject": "Vince McMahon", "target_new": {"str": "Libya"},
       "target_true": {"str": "United States of America"}, "relation_id": "P27", "question": "?"},
      {"prompt": "The capital of {} is", "subject": "Libya", "target_new": {"str": "Franklin"},
       "target_true": {"str": "Tripoli"}}],
    "implications": [{"kind": "multi_hop", "prompt": "Q: Where? A:", "target_new": "Franklin"}],
    "benchmark_tests": [{"benchmark": "mquake", "family": "multi_hop", "test_condition": "OR",
      "condition_queries": [], "test_queries": [{"prompt": "Q: Where? A:",
      "answers": [{"value": "Franklin", "aliases": ["Franklin, Kentucky"]}]}]}]})");
  const auto r = parse_probe_record(mquake, "m.json: record 0");
  REQUIRE(r.requests.size() == 2);
  CHECK(r.request.subject == "Vince McMahon");
  CHECK(r.requests[1].target_new == "Franklin");
  CHECK(r.requests[1].case_id == "7");
  CHECK(r.implications[0].target_old.empty());
  REQUIRE(r.benchmark_tests.size() == 1);
  CHECK_FALSE(r.benchmark_tests[0].all);
  CHECK(r.benchmark_tests[0].test_queries[0].answers[0].aliases == std::vector<std::string>{"Franklin, Kentucky"});
  // One command that edits one request says why it cannot take this record.
  CHECK_THROWS_WITH(parse_edit_request(mquake, "m.json: record 0"), Contains("requests 2 rewrites together"));

  auto bad = mquake;
  bad["requested_rewrite"][1]["prompt"] = "The capital of Libya is";
  CHECK_THROWS_WITH(parse_probe_record(bad, "m.json: record 0"),
                    Contains("m.json: record 0 (case_id 7): requested_rewrite[1]: field \"prompt\""));
  bad = mquake;
  bad["benchmark_tests"][0]["test_condition"] = "XOR";
  CHECK_THROWS_WITH(parse_probe_record(bad, "m.json: record 0"),
                    Contains("benchmark_tests[0].test_condition\" is \"XOR\"; expected OR or AND"));
  bad = mquake;
  bad["benchmark_tests"][0]["test_queries"][0]["answers"] = nlohmann::json::array();
  CHECK_THROWS_WITH(parse_probe_record(bad, "m.json: record 0"),
                    Contains("benchmark_tests[0].test_queries[0].answers\" must be a non-empty list"));
  bad = mquake;
  bad["benchmark_tests"][0]["benchmark"] = "zsre";
  CHECK_THROWS_WITH(parse_probe_record(bad, "m.json: record 0"), Contains("expected ripple_edits or mquake"));
}

TEST_CASE("the benchmark suite on the toy-world model, whose answers are known", "[benchmark]") {
  // The shipped model answers "The Louvre is located in" and "Which city is the Louvre located
  // in?" with " Paris. ..." (greedy), and "Barack Obama is married to" with " Michelle Obama".
  auto m = load_model(test::source_dir() / "data/toy-world/model", {});
  const nlohmann::json j = nlohmann::json::parse(R"({
    "case_id": 1,
    "requested_rewrite": {"prompt": "The {} is located in", "subject": "Louvre",
                          "target_new": {"str": "Rome"}, "target_true": {"str": "Paris"}},
    "implications": [{"kind": "Relation_Specificity", "prompt": "Barack Obama is married to",
                      "target_new": "Michelle Obama"}],
    "benchmark_tests": [
      {"benchmark": "ripple_edits", "family": "Forgetfulness", "test_condition": "OR",
       "test_queries": [{"prompt": "The Louvre is located in", "answers": [{"value": "Paris", "aliases": []}]}]},
      {"benchmark": "ripple_edits", "family": "Logical_Generalization", "test_condition": "OR",
       "condition_queries": [{"prompt": "The Louvre is located in", "answers": [{"value": "Tokyo"}]}],
       "test_queries": [{"prompt": "The Louvre is located in", "answers": [{"value": "Paris"}]}]},
      {"benchmark": "ripple_edits", "family": "Compositionality_I", "test_condition": "AND",
       "condition_queries": [{"prompt": "Barack Obama is married to", "answers": [{"value": "Michelle"}]}],
       "test_queries": [{"prompt": "The Louvre is located in", "answers": [{"value": "Paris"}]},
                        {"prompt": "Barack Obama is married to", "answers": [{"value": "Zanzibar"}]}]},
      {"benchmark": "ripple_edits", "family": "Compositionality_I", "test_condition": "OR",
       "test_queries": [{"prompt": "The Louvre is located in", "answers": [{"value": "Zanzibar"}]},
                        {"prompt": "Barack Obama is married to", "answers": [{"value": "Obama", "aliases": ["x"]}]}]},
      {"benchmark": "mquake", "family": "multi_hop", "test_condition": "OR",
       "test_queries": [{"prompt": "Which city is the Louvre located in?",
                         "answers": [{"value": "City of Light", "aliases": ["Paris"]}]}]},
      {"benchmark": "mquake", "family": "multi_hop", "test_condition": "OR",
       "test_queries": [{"prompt": "Which city is the Louvre located in?", "answers": [{"value": "Rome"}]}]}]})");
  const auto record = parse_probe_record(j, "toy");
  SuiteOptions options;
  options.suites = {Suite::implication, Suite::benchmark};
  const RecordProbes probes(record, options);
  const auto o = probes.observe(*m.model, *m.tokenizer, 0);
  REQUIRE(o.benchmark_texts.size() == 6);
  // RippleEdits reads the prompt and its continuation; MQuAKE the continuation alone.
  CHECK(o.benchmark_texts[0][0].rfind("The Louvre is located in Paris", 0) == 0);
  CHECK(o.benchmark_texts[4][0].rfind(" Paris.", 0) == 0);
  const auto result = probes.metrics(o, o);
  const auto& mt = result["metrics"];
  CHECK(mt["benchmark/ripple_edits/Forgetfulness/executed"] == nlohmann::json{1.0});
  CHECK(mt["benchmark/ripple_edits/Forgetfulness/pass"] == nlohmann::json{1.0});
  CHECK(mt["benchmark/ripple_edits/Forgetfulness/pass_before"] == nlohmann::json{1.0});
  // The condition (the Louvre in Tokyo) fails on the unedited model: not executed, no pass value.
  CHECK(mt["benchmark/ripple_edits/Logical_Generalization/executed"] == nlohmann::json{0.0});
  CHECK_FALSE(mt.contains("benchmark/ripple_edits/Logical_Generalization/pass"));
  // AND with one failing query fails; OR with one passing query passes.
  CHECK(mt["benchmark/ripple_edits/Compositionality_I/executed"] == nlohmann::json{1.0, 1.0});
  CHECK(mt["benchmark/ripple_edits/Compositionality_I/pass"] == nlohmann::json{0.0, 1.0});
  CHECK(mt["benchmark/mquake/multi_hop/pass"] == nlohmann::json{1.0, 0.0});
  // An implication without target_old: prob_gain and generation, no success.
  CHECK(mt["implication/Relation_Specificity/prob_gain"] == nlohmann::json{0.0});
  CHECK(mt["implication/Relation_Specificity/generation"] == nlohmann::json{1.0});
  CHECK_FALSE(mt.contains("implication/Relation_Specificity/success"));
  const auto& details = result["details"]["benchmark_tests"];
  CHECK(details[1]["outcome"] == "not_executed");
  CHECK(details[2]["outcome"] == "failed");
  CHECK(details[2]["queries"][0]["role"] == "condition");
  CHECK(details[4]["outcome"] == "passed");
}

TEST_CASE("editlab run: a record with two rewrites applies both before its probes", "[benchmark]") {
  test::TempDir tmp;
  const nlohmann::json d = nlohmann::json::array({nlohmann::json::parse(R"({
    "case_id": "m1",
    "requested_rewrite": [
      {"prompt": "{} is located in", "subject": "The Eiffel Tower", "target_new": {"str": "Berlin"},
       "target_true": {"str": "Paris"}},
      {"prompt": "{} is located in", "subject": "The Louvre", "target_new": {"str": "Rome"},
       "target_true": {"str": "Paris"}}],
    "neighborhood_prompts": ["The Colosseum is located in"]})")});
  std::ofstream(tmp / "data.json") << d.dump();
  std::ofstream(tmp / "ft.json") << R"({"layers": [1], "num_steps": 25, "lr": 0.05, "weight_decay": 0,
                                        "kl_factor": 0, "norm_constraint": false})";
  std::ofstream(tmp / "e.json") << nlohmann::json{{"model", test::fixture_model_dir().string()},
                                                  {"method", "ft"},
                                                  {"hparams", "ft.json"},
                                                  {"dataset", "data.json"},
                                                  {"suites", {"efficacy", "specificity"}},
                                                  {"threads", 1},
                                                  {"out", "out"}}
                                       .dump();
  const auto r = test::run_cli("run " + test::shell_quote((tmp / "e.json").string()));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::ifstream in(tmp / "out/report.json");
  const auto report = nlohmann::json::parse(in);
  const auto& rec = report["records"][0];
  REQUIRE(rec["status"] == "ok");
  // One efficacy value per rewrite; both edits learned by one FT run (one set of diagnostics).
  CHECK(rec["metrics"]["efficacy/success"] == nlohmann::json{1.0, 1.0});
  CHECK(rec["details"].contains("edit"));
  CHECK_FALSE(rec["details"].contains("edits"));
}
