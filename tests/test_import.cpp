// editlab import ripple-edits / mquake: hand-made benchmark files against hand-written expected
// datasets (tests/fixtures/import/), every failure named and counted, and the executable's exit
// codes, summary line, JSON Lines output and few-shot prompts.
#include "catch_torch.h"

#include <fstream>
#include <sstream>

#include "editlab/edit/request.h"
#include "editlab/import/benchmarks.h"
#include "editlab/probe/record.h"
#include "editlab/util/error.h"
#include "support.h"

using namespace editlab;
using Catch::Contains;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

fs::path fixture(const std::string& name) { return test::source_dir() / "tests/fixtures/import" / name; }

json read_json(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in);
  return json::parse(in);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json as_json(const std::vector<nlohmann::ordered_json>& records) {
  json out = json::array();
  for (const auto& r : records) out.push_back(json::parse(r.dump()));
  return out;
}

// Record by record, so that a difference names the record.
void require_dataset(const json& actual, const json& expected) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("record " << i << "\nactual:   " << actual[i].dump() << "\nexpected: " << expected[i].dump());
    REQUIRE(actual[i] == expected[i]);
  }
}

struct Failure {
  size_t index;
  std::string kind, reason;
};

void require_failures(const import::ImportResult& r, const std::vector<Failure>& expected) {
  REQUIRE(r.failures.size() == expected.size());
  for (size_t k = 0; k < expected.size(); ++k) {
    INFO("failure " << k << ": " << r.failures[k].reason);
    REQUIRE(r.failures[k].index == expected[k].index);
    REQUIRE(r.failures[k].kind == expected[k].kind);
    REQUIRE(r.failures[k].reason == expected[k].reason);
  }
}

const std::string kAmbiguousReason =
    "ambiguous subject: the edit prompt reads as subject \"Night\" + target \"Day is followed by Dawn\" or subject "
    "\"Night is followed by Day\" + target \"Dawn\", and no query of the record names the subject";

// A well-formed RippleEdits record with no tests: edit "The name of the mother of Ada Lovelace is
// Mary Shelley." (original: Anne Isabella Milbanke).
json ripple_record() {
  json r = {{"example_type", "random"},
            {"edit",
             {{"prompt", "The name of the mother of Ada Lovelace is Mary Shelley."},
              {"subject_id", "Q7259"},
              {"relation", "MOTHER"},
              {"target_id", "Q47152"},
              {"original_fact",
               {{"prompt", "The name of the mother of Ada Lovelace is Anne Isabella Milbanke."},
                {"subject_id", "Q7259"},
                {"relation", "MOTHER"},
                {"target_id", "Q228494"}}}}}};
  for (const char* family : {"Relation_Specificity", "Logical_Generalization", "Subject_Aliasing", "Compositionality_I",
                             "Compositionality_II", "Forgetfulness"}) {
    r[family] = json::array();
  }
  return r;
}

json query(const std::string& prompt, const std::string& relation, const json& answers, const json& phrase = nullptr,
           const std::string& subject_id = "Q7259") {
  return {{"prompt", prompt},     {"answers", answers},          {"query_type", "regular"}, {"subject_id", subject_id},
          {"relation", relation}, {"target_ids", json::array()}, {"phrase", phrase}};
}

// Lists as vectors: a braced list of one json value would be that value, not a list of it.
json test_case(const std::vector<json>& test_queries, const std::vector<json>& condition_queries = {},
               const std::string& cond = "OR") {
  return {{"test_queries", test_queries}, {"test_condition", cond}, {"condition_queries", condition_queries}};
}

import::ImportResult ripple_one(const json& record, const import::RippleEditsOptions& options = {}){
    return import::import_ripple_edits({record}, options);
}  // namespace

// The one failure of a single-record import.
Failure only_failure(const import::ImportResult& r) {
  INFO("imported: " << (r.records.empty() ? std::string() : r.records.front().dump()));
  REQUIRE(r.records.empty());
  REQUIRE(r.failures.size() == 1);
  return {r.failures[0].index, r.failures[0].kind, r.failures[0].reason};
}

json mquake_case() {
  return {{"case_id", 9},
          {"requested_rewrite",
           {{{"prompt", "{} is a citizen of"},
             {"relation_id", "P27"},
             {"target_new", {{"str", "Libya"}, {"id", "Q1016"}}},
             {"target_true", {{"str", "United States of America"}, {"id", "Q30"}}},
             {"subject", "Vince McMahon"}}}},
          {"questions", {"What is the capital of the country of citizenship of Vince McMahon?"}},
          {"answer", "Washington, D.C."},
          {"answer_alias", json::array()},
          {"new_answer", "Tripoli"},
          {"new_answer_alias", {"Tarabulus"}}};
}

}  // namespace

TEST_CASE("ripple-edits: the hand-made file gives the hand-written dataset; two records fail, named", "[import]") {
  const auto input = load_json_records(fixture("ripple_edits.json"), "RippleEdits file");
  const auto r = import::import_ripple_edits(input);
  require_dataset(as_json(r.records), read_json(fixture("ripple_edits.expected.json")));
  REQUIRE(r.read == 5);
  REQUIRE(r.imported() == 3);
  require_failures(
      r, {{3, "unknown relation", "unknown relation \"INVENTOR\""}, {4, "ambiguous subject", kAmbiguousReason}});
  REQUIRE(r.by_reason() == std::map<std::string, size_t>{{"ambiguous subject", 1}, {"unknown relation", 1}});
  REQUIRE(r.dropped_queries == 0);
  REQUIRE(r.dropped_tests == 0);
  REQUIRE(r.summary_line("ripple-edits") ==
          "ripple-edits: 5 records read, 3 imported, 2 failed (ambiguous subject: 1, unknown relation: 1)");
  const json summary = json::parse(r.summary_json().dump());
  REQUIRE(summary == json{{"read", 5},
                          {"imported", 3},
                          {"failed", 2},
                          {"failures",
                           {{{"index", 3}, {"kind", "unknown relation"}, {"reason", "unknown relation \"INVENTOR\""}},
                            {{"index", 4}, {"kind", "ambiguous subject"}, {"reason", kAmbiguousReason}}}},
                          {"by_reason", {{"ambiguous subject", 1}, {"unknown relation", 1}}}});
}

TEST_CASE("mquake: the hand-made file gives the hand-written dataset; the broken case fails, named", "[import]") {
  const auto input = load_json_records(fixture("mquake.json"), "MQuAKE file");
  const auto r = import::import_mquake(input);
  require_dataset(as_json(r.records), read_json(fixture("mquake.expected.json")));
  REQUIRE(r.read == 3);
  REQUIRE(r.imported() == 2);
  require_failures(r, {{2, "bad rewrite prompt",
                        "field \"requested_rewrite[0].prompt\" must contain \"{}\" exactly once, found 0 in \"The "
                        "Eiffel Tower is located in the city of\""}});
  REQUIRE(r.summary_line("mquake") == "mquake: 3 records read, 2 imported, 1 failed (bad rewrite prompt: 1)");
}

TEST_CASE("imported records are valid editlab records", "[import]") {
  const auto ripple = import::import_ripple_edits(load_json_records(fixture("ripple_edits.json"), "RippleEdits file"));
  REQUIRE(ripple.records.size() == 3);
  const auto r0 = parse_probe_record(json::parse(ripple.records[0].dump()), "ripple record 0");
  REQUIRE(r0.request.prompt == "The name of the country of citizenship of {} is");
  REQUIRE(r0.request.subject == "Leonardo DiCaprio");
  REQUIRE(r0.request.target_new == "Syria");
  REQUIRE(r0.request.target_true == "United States of America");
  REQUIRE(r0.implications.size() == 8);
  REQUIRE(r0.implications[4].target_old == "United States of America");
  // Relation_Specificity: the kept answer's rival is the edit's target.
  REQUIRE(r0.implications[0].kind == "Relation_Specificity");
  REQUIRE(r0.implications[0].target_old == "Syria");
  REQUIRE(r0.implications[5].kind == "Compositionality_I");
  REQUIRE(r0.implications[5].target_old.empty());
  REQUIRE(r0.benchmark_tests.size() == 7);
  REQUIRE(r0.benchmark_tests[2].all);  // the AND test
  REQUIRE(r0.benchmark_tests[2].test_queries.size() == 2);
  const auto r1 = parse_probe_record(json::parse(ripple.records[1].dump()), "ripple record 1");
  REQUIRE(r1.request.target_true.empty());  // a "recent" record: no original fact

  const auto mquake = import::import_mquake(load_json_records(fixture("mquake.json"), "MQuAKE file"));
  const auto m1 = parse_probe_record(json::parse(mquake.records[1].dump()), "mquake record 1");
  REQUIRE(m1.requests.size() == 3);
  REQUIRE(m1.requests[1].prompt == "The chief executive officer of {} is");
  REQUIRE(m1.requests[1].subject == "Apple Inc.");
  REQUIRE(m1.request.case_id == "2500");
  REQUIRE(m1.implications.size() == 3);
  REQUIRE(m1.benchmark_tests.size() == 1);
  REQUIRE(m1.benchmark_tests[0].test_queries[2].answers[0].aliases ==
          std::vector<std::string>{"State of Libya", "LBY"});
}

TEST_CASE("ripple-edits: the subject is read back from the prompt, or the record fails with its reason", "[import]") {
  SECTION("a plain record: prompt, subject, targets, relation id") {
    const auto r = ripple_one(ripple_record());
    REQUIRE(r.failures.empty());
    const auto& rw = r.records.at(0)["requested_rewrite"];
    REQUIRE(rw["prompt"] == "The name of the mother of {} is");
    REQUIRE(rw["subject"] == "Ada Lovelace");
    REQUIRE(rw["target_new"]["str"] == "Mary Shelley");
    REQUIRE(rw["target_true"]["str"] == "Anne Isabella Milbanke");
    REQUIRE(rw["relation_id"] == "P25");
    REQUIRE(r.records[0]["implications"].empty());
    REQUIRE(r.records[0]["benchmark_tests"].empty());
  }
  SECTION("a template that starts with the subject (FOLLOWS); a relation without a Wikidata id keeps its name") {
    json rec = ripple_record();
    rec["edit"]["relation"] = "FOLLOWS";
    rec["edit"]["prompt"] = "Rocky III follows Rocky V.";
    rec["edit"].erase("original_fact");
    auto r = ripple_one(rec);
    REQUIRE(r.records.at(0)["requested_rewrite"]["prompt"] == "{} follows");
    REQUIRE(r.records[0]["requested_rewrite"]["subject"] == "Rocky III");
    REQUIRE(r.records[0]["requested_rewrite"]["target_new"]["str"] == "Rocky V");
    REQUIRE(r.records[0]["requested_rewrite"]["relation_id"] == "P155");
    REQUIRE_FALSE(r.records[0]["requested_rewrite"].contains("target_true"));
    rec["edit"]["relation"] = "UNCLE";
    rec["edit"]["prompt"] = "The name of the uncle of Ada Lovelace is Lord Byron.";
    r = ripple_one(rec);
    REQUIRE(r.records.at(0)["requested_rewrite"]["relation_id"] == "UNCLE");
  }
  SECTION("a target that ends with a full stop keeps it") {
    json rec = ripple_record();
    rec["edit"]["relation"] = "PLACE_OF_BIRTH";
    rec["edit"]["prompt"] = "The place of birth of Ada Lovelace is Washington, D.C..";
    rec["edit"]["original_fact"]["relation"] = "PLACE_OF_BIRTH";
    rec["edit"]["original_fact"]["prompt"] = "The place of birth of Ada Lovelace is London.";
    const auto r = ripple_one(rec);
    REQUIRE(r.records.at(0)["requested_rewrite"]["target_new"]["str"] == "Washington, D.C.");
    REQUIRE(r.records[0]["requested_rewrite"]["target_true"]["str"] == "London");
  }
  SECTION("a prompt that is not the relation's template") {
    json rec = ripple_record();
    rec["edit"]["prompt"] = "The name of the father of Ada Lovelace is Mary Shelley.";
    auto f = only_failure(ripple_one(rec));
    REQUIRE(f.kind == "prompt does not match template");
    REQUIRE(f.reason ==
            "edit prompt \"The name of the father of Ada Lovelace is Mary Shelley.\" does not match the template of "
            "relation MOTHER (\"The name of the mother of <subject> is\" + \" \" + target + \".\")");
    rec = ripple_record();
    rec["edit"]["prompt"] = "The name of the mother of Ada Lovelace is Mary Shelley";  // no full stop
    REQUIRE(only_failure(ripple_one(rec)).kind == "prompt does not match template");
    rec["edit"]["prompt"] = "The name of the mother of Ada Lovelace is .";  // no target
    REQUIRE(only_failure(ripple_one(rec)).kind == "prompt does not match template");
  }
  SECTION("the original fact must be about the same subject") {
    json rec = ripple_record();
    rec["edit"]["original_fact"]["prompt"] = "The name of the mother of Lord Byron is Catherine Gordon.";
    auto f = only_failure(ripple_one(rec));
    REQUIRE(f.kind == "original fact's subject differs");
    REQUIRE(f.reason ==
            "original fact's subject differs: its prompt reads as subject \"Lord Byron\" + target \"Catherine "
            "Gordon\", the edit's subject is \"Ada Lovelace\"");
    rec = ripple_record();
    rec["edit"]["original_fact"]["subject_id"] = "Q5679";
    f = only_failure(ripple_one(rec));
    REQUIRE(f.kind == "original fact's subject differs");
    REQUIRE(f.reason == "original fact's subject differs: subject_id \"Q5679\" against the edit's \"Q7259\"");
    rec = ripple_record();
    rec["edit"]["original_fact"]["prompt"] = "Ada Lovelace had a mother.";
    f = only_failure(ripple_one(rec));
    REQUIRE(f.kind == "prompt does not match template");
    REQUIRE_THAT(f.reason, Contains("original fact's prompt \"Ada Lovelace had a mother.\""));
  }
  SECTION("missing and ill-typed fields are named") {
    json rec = ripple_record();
    rec["edit"].erase("prompt");
    auto f = only_failure(ripple_one(rec));
    REQUIRE(f.kind == "missing field");
    REQUIRE(f.reason == "missing field \"edit.prompt\"");
    rec = ripple_record();
    rec.erase("Forgetfulness");
    f = only_failure(ripple_one(rec));
    REQUIRE(f.reason == "missing field \"Forgetfulness\"");
    rec = ripple_record();
    rec["edit"]["relation"] = 27;
    f = only_failure(ripple_one(rec));
    REQUIRE(f.kind == "ill-typed field");
    REQUIRE(f.reason == "field \"edit.relation\" must be a string, found number");
    rec = ripple_record();
    rec["edit"]["original_fact"] = "Anne Isabella Milbanke";
    f = only_failure(ripple_one(rec));
    REQUIRE(f.reason == "field \"edit.original_fact\" must be an object, found string");
    rec = ripple_record();
    rec["Subject_Aliasing"] =
        json::array({test_case({query("The name of the mother of Ada is", "MOTHER", "Mary Shelley")})});
    f = only_failure(ripple_one(rec));
    REQUIRE(f.reason == "field \"Subject_Aliasing[0].test_queries[0].answers\" must be a list, found string");
    rec = ripple_record();
    rec["Logical_Generalization"] = json::array(
        {test_case({query("The name of the child of Mary Shelley is", "CHILD", {{{"value", "Ada Lovelace"}}})},
                   json::array(), "XOR")});
    f = only_failure(ripple_one(rec));
    REQUIRE(f.reason == "field \"Logical_Generalization[0].test_condition\" must be \"OR\" or \"AND\", found \"XOR\"");
    rec = ripple_record();
    rec["Forgetfulness"] =
        json::array({test_case({query("The name of the mother of Ada Lovelace, which is not Mary Shelley, is", "MOTHER",
                                      {{{"value", "Anne Isabella Milbanke"}, {"aliases", "Annabella"}}})})});
    f = only_failure(ripple_one(rec));
    REQUIRE(f.reason ==
            "field \"Forgetfulness[0].test_queries[0].answers[0].aliases\" must be a list of strings, found "
            "\"Annabella\"");
    f = only_failure(ripple_one(json("not a record")));
    REQUIRE(f.reason == "the record must be an object, found string");
  }
  SECTION("the README's spelling Relation_Specifity is read as Relation_Specificity") {
    json rec = ripple_record();
    rec.erase("Relation_Specificity");
    rec["Relation_Specifity"] = json::array({test_case(
        {query("The gender of Ada Lovelace is", "SEX_OR_GENDER", {{{"value", "female"}, {"aliases", {"woman"}}}})})});
    const auto r = ripple_one(rec);
    REQUIRE(
        r.records.at(0)["implications"] ==
        nlohmann::ordered_json::parse(
            R"([{"kind": "Relation_Specificity", "prompt": "The gender of Ada Lovelace is", "target_new": "female", "target_old": "Mary Shelley"}])"));
    REQUIRE(r.records[0]["benchmark_tests"][0]["family"] == "Relation_Specificity");
  }
}

TEST_CASE("ripple-edits: an ambiguous prompt is decided only by the record's own queries", "[import]") {
  // "Night is followed by Day is followed by Dawn.": subject "Night" or "Night is followed by Day".
  json rec = ripple_record();
  rec["edit"] = {{"prompt", "Night is followed by Day is followed by Dawn."},
                 {"subject_id", "Q1"},
                 {"relation", "FOLLOWED_BY"},
                 {"target_id", "Q2"}};
  const json naming = query("The name of the composer of Night is followed by Day is", "COMPOSER",
                            {{{"value", "Ann Smith"}}}, nullptr, "Q1");
  SECTION("a regular query about the subject without a phrase names it") {
    rec["Relation_Specificity"] = json::array({test_case({naming})});
    const auto r = ripple_one(rec);
    REQUIRE(r.records.at(0)["requested_rewrite"]["subject"] == "Night is followed by Day");
    REQUIRE(r.records[0]["requested_rewrite"]["target_new"]["str"] == "Dawn");
  }
  SECTION("a condition query names it too") {
    rec["Compositionality_I"] = json::array({test_case(
        {query("The name of the capital of Dawn is", "CAPITAL", {{{"value", "Sunrise"}}}, nullptr, "Q2")}, {naming})});
    REQUIRE(ripple_one(rec).records.at(0)["requested_rewrite"]["subject"] == "Night is followed by Day");
  }
  SECTION("queries with a phrase, about another subject, of another type or relation do not count") {
    json with_phrase = naming;
    with_phrase["phrase"] = naming["prompt"];
    json other_subject = naming;
    other_subject["subject_id"] = "Q2";
    json two_hop = naming;
    two_hop["query_type"] = "two_hop";
    json unknown_relation = naming;
    unknown_relation["relation"] = "INVENTOR";
    rec["Relation_Specificity"] = json::array({test_case({with_phrase, other_subject, two_hop, unknown_relation})});
    const auto f = only_failure(ripple_one(rec));
    REQUIRE(f.kind == "ambiguous subject");
    REQUIRE_THAT(f.reason, Contains("no query of the record names the subject"));
  }
  SECTION("queries naming both subjects do not decide") {
    rec["Relation_Specificity"] = json::array({test_case(
        {naming, query("The name of the composer of Night is", "COMPOSER", {{{"value", "Bo"}}}, nullptr, "Q1")})});
    const auto f = only_failure(ripple_one(rec));
    REQUIRE(f.kind == "ambiguous subject");
    REQUIRE_THAT(f.reason, Contains("the record's queries name more than one of these subjects"));
  }
}

TEST_CASE("ripple-edits: implications and benchmark tests of a record", "[import]") {
  json rec = ripple_record();
  rec["Subject_Aliasing"] =
      json::array({test_case({query("The name of the mother of Augusta Ada King is", "MOTHER",
                                    {{{"value", "Mary Shelley"}, {"aliases", {"Mary Wollstonecraft Shelley"}}}},
                                    "The name of the mother of Augusta Ada King is"),
                              query("The name of the father of Augusta Ada King is", "FATHER",
                                    {{{"value", "Lord Byron"}}}, "The name of the father of Augusta Ada King is")})});
  SECTION("target_old only for Subject_Aliasing queries of the edited relation, and only with an original fact") {
    auto r = ripple_one(rec);
    const auto& imp = r.records.at(0)["implications"];
    REQUIRE(imp.size() == 2);
    REQUIRE(imp[0]["target_old"] == "Anne Isabella Milbanke");
    REQUIRE_FALSE(imp[1].contains("target_old"));
    rec["edit"].erase("original_fact");
    r = ripple_one(rec);
    REQUIRE_FALSE(r.records.at(0)["implications"][0].contains("target_old"));
    REQUIRE_FALSE(r.records[0]["requested_rewrite"].contains("target_true"));
  }
  SECTION("a query without answers is left out of benchmark_tests, and so is a test left without test queries") {
    rec["Forgetfulness"] = json::array({test_case(
        {query("The name of the mother of Ada Lovelace, which is not Mary Shelley, is", "MOTHER", json::array())},
        {query("The name of the mother of Ada Lovelace, which is not Mary Shelley, is", "MOTHER", json::array())})});
    rec["Subject_Aliasing"][0]["test_queries"].push_back(query("The name of the mother of Ada King is", "MOTHER",
                                                               json::array(), "The name of the mother of Ada King is"));
    const auto r = ripple_one(rec);
    REQUIRE(r.failures.empty());
    REQUIRE(r.dropped_queries == 3);
    REQUIRE(r.dropped_tests == 1);
    const auto& tests = r.records.at(0)["benchmark_tests"];
    REQUIRE(tests.size() == 1);
    REQUIRE(tests[0]["family"] == "Subject_Aliasing");
    REQUIRE(tests[0]["test_queries"].size() == 2);
    REQUIRE(r.summary_line("ripple-edits") ==
            "ripple-edits: 1 records read, 1 imported, 0 failed; left out of benchmark_tests: queries without "
            "answers: 3, test cases without test queries: 1");
    REQUIRE(r.summary_json()["dropped_queries"] == 3);
  }
}

TEST_CASE("ripple-edits: --relations adds and overrides relations", "[import]") {
  import::RippleEditsOptions options;
  import::add_relations(options.relations,
                        json{{"INVENTOR",
                              { {"id", "P61"},
                                { "template",
                                  "The name of the inventor of <subject> is" } }},
                             { "MOTHER",
                               "The mother of <subject> is" }},
                        "relations.json");
  REQUIRE(options.relations.at("MOTHER").id == "P25");  // a bare template keeps the id
  REQUIRE(options.relations.at("MOTHER").phrase == "The mother of <subject> is");
  REQUIRE(import::ripple_edits_relations().size() == 53);
  REQUIRE(import::ripple_edits_relations().at("MOTHER").phrase == "The name of the mother of <subject> is");

  const auto input = load_json_records(fixture("ripple_edits.json"), "RippleEdits file");
  const auto r = import::import_ripple_edits(input, options);
  REQUIRE(r.imported() == 4);
  const auto& inventor = r.records.at(3);
  REQUIRE(inventor["case_id"] == 3);
  REQUIRE(inventor["requested_rewrite"]["prompt"] == "The name of the inventor of {} is");
  REQUIRE(inventor["requested_rewrite"]["subject"] == "telephone");
  REQUIRE(inventor["requested_rewrite"]["target_new"]["str"] == "Nikola Tesla");
  REQUIRE(inventor["requested_rewrite"]["target_true"]["str"] == "Alexander Graham Bell");
  REQUIRE(inventor["requested_rewrite"]["relation_id"] == "P61");

  REQUIRE_THROWS_WITH(import::add_relations(options.relations, json{{"X", "no subject here"}}, "rel.json"),
                      Contains("rel.json: relation \"X\": the template must contain \"<subject>\" exactly once"));
  REQUIRE_THROWS_WITH(import::add_relations(options.relations, json{{"X", "<subject> {} is"}}, "rel.json"),
                      Contains("the template must not contain \"{}\""));
  REQUIRE_THROWS_WITH(import::add_relations(options.relations, json{{"X", {{"id", "P1"}}}}, "rel.json"),
                      Contains("missing \"template\""));
  REQUIRE_THROWS_WITH(import::add_relations(options.relations, json::array(), "rel.json"),
                      Contains("expected a JSON object"));
}

TEST_CASE("mquake: prompts from the template and the few-shot text; failures named", "[import]") {
  SECTION("template and few-shot text") {
    import::MquakeOptions options;
    options.question_template = "Question: {}\nAnswer:";
    options.few_shot = "Q: Who is the spouse of Joe Biden? A: Jill Biden\n";
    const auto r = import::import_mquake({mquake_case()}, options);
    const std::string expected =
        "Q: Who is the spouse of Joe Biden? A: Jill Biden\nQuestion: What is the capital of the country of "
        "citizenship of Vince McMahon?\nAnswer:";
    REQUIRE(r.records.at(0)["implications"][0]["prompt"] == expected);
    REQUIRE(r.records[0]["benchmark_tests"][0]["test_queries"][0]["prompt"] == expected);
    REQUIRE(r.records[0]["case_id"] == 9);
  }
  SECTION("plain string targets, a string case_id, no new_answer_alias, an empty answer") {
    json c = mquake_case();
    c["case_id"] = "cf-9";
    c["requested_rewrite"][0]["target_new"] = "Libya";
    c.erase("new_answer_alias");
    c["answer"] = "";
    const auto r = import::import_mquake({c});
    REQUIRE(r.records.at(0)["case_id"] == "cf-9");
    REQUIRE(r.records[0]["requested_rewrite"][0]["target_new"] == nlohmann::ordered_json{{"str", "Libya"}});
    REQUIRE(r.records[0]["benchmark_tests"][0]["test_queries"][0]["answers"][0]["aliases"].empty());
    REQUIRE_FALSE(r.records[0]["implications"][0].contains("target_old"));
  }
  SECTION("each failure") {
    auto fails = [](const json& c) {
      const auto r = import::import_mquake({c});
      REQUIRE(r.records.empty());
      REQUIRE(r.failures.size() == 1);
      return std::pair(r.failures[0].kind, r.failures[0].reason);
    };
    json c = mquake_case();
    c["questions"] = json::array();
    REQUIRE(fails(c) == std::pair<std::string, std::string>("no questions", "field \"questions\" is empty"));
    c = mquake_case();
    c["new_answer"] = "";
    REQUIRE(fails(c) == std::pair<std::string, std::string>("empty new_answer", "field \"new_answer\" is empty"));
    c = mquake_case();
    c.erase("answer");
    REQUIRE(fails(c) == std::pair<std::string, std::string>("missing field", "missing field \"answer\""));
    c = mquake_case();
    c["requested_rewrite"][0].erase("subject");
    REQUIRE(fails(c) ==
            std::pair<std::string, std::string>("missing field", "missing field \"requested_rewrite[0].subject\""));
    c = mquake_case();
    c["requested_rewrite"][0]["prompt"] = "{} is a citizen of {}";
    REQUIRE(fails(c).first == "bad rewrite prompt");
    c = mquake_case();
    c["questions"] = "What is it?";
    REQUIRE(fails(c) ==
            std::pair<std::string, std::string>("ill-typed field", "field \"questions\" must be a list, found string"));
    c = mquake_case();
    c["questions"] = {"What is it?", 3};
    REQUIRE(fails(c).second == "field \"questions[1]\" must be a string, found number");
    c = mquake_case();
    c["requested_rewrite"] = json::array();
    REQUIRE(fails(c).first == "ill-typed field");
    c = mquake_case();
    c["requested_rewrite"][0]["target_true"] = {{"id", "Q30"}};
    REQUIRE(fails(c).second == "missing field \"requested_rewrite[0].target_true.str\"");
    c = mquake_case();
    c["case_id"] = 1.5;
    REQUIRE(fails(c).second == "field \"case_id\" must be an integer or a string, found number");
  }
  SECTION("the question template needs one {}; a few-shot file gets its final newline") {
    REQUIRE_THROWS_WITH(import::validate_question_template("Q: A:"), Contains("exactly once"));
    REQUIRE_THROWS_WITH(import::import_mquake({mquake_case()}, {"Q: {} {} A:", ""}), Contains("found 2"));
    REQUIRE(import::load_few_shot(fixture("few-shot.txt")) ==
            "Q: What is the country where The Rotunda is located? A: United States of America\nQ: Who is the spouse "
            "of Joe Biden? A: Jill Biden\n");
  }
}

TEST_CASE("editlab import: exit codes, summary line, .jsonl, --json, --few-shot", "[import]") {
  test::TempDir tmp;
  const std::string ripple_in = test::shell_quote(fixture("ripple_edits.json").string());
  const std::string mquake_in = test::shell_quote(fixture("mquake.json").string());

  SECTION("ripple-edits: a JSON array, failures on stderr, exit 0") {
    const auto out = tmp / "ripple.json";
    const auto r = test::run_cli("import ripple-edits " + ripple_in + " --out " + test::shell_quote(out.string()));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.out.empty());
    REQUIRE(r.err ==
            "record 3: unknown relation \"INVENTOR\"\nrecord 4: " + kAmbiguousReason +
                "\nripple-edits: 5 records read, 3 imported, 2 failed (ambiguous subject: 1, unknown relation: "
                "1)\n");
    require_dataset(read_json(out), read_json(fixture("ripple_edits.expected.json")));
    REQUIRE(read_text(out).rfind("[\n {\n  \"case_id\": 0,", 0) == 0);  // indent 1
  }
  SECTION("ripple-edits: JSON Lines and --json") {
    const auto out = tmp / "ripple.jsonl";
    const auto r =
        test::run_cli("import ripple-edits " + ripple_in + " --out " + test::shell_quote(out.string()) + " --json");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const json summary = json::parse(r.out);
    REQUIRE(summary["read"] == 5);
    REQUIRE(summary["imported"] == 3);
    REQUIRE(summary["failed"] == 2);
    REQUIRE(summary["failures"][0] ==
            json{{"index", 3}, {"kind", "unknown relation"}, {"reason", "unknown relation \"INVENTOR\""}});
    REQUIRE(summary["by_reason"] == json{{"ambiguous subject", 1}, {"unknown relation", 1}});
    std::ifstream lines(out);
    std::string line;
    json records = json::array();
    while (std::getline(lines, line)) records.push_back(json::parse(line));
    require_dataset(records, read_json(fixture("ripple_edits.expected.json")));
  }
  SECTION("ripple-edits --relations") {
    const auto rel = tmp / "relations.json";
    std::ofstream(rel) << R"({"INVENTOR": {"id": "P61", "template": "The name of the inventor of <subject> is"}})";
    const auto out = tmp / "ripple.json";
    const auto r = test::run_cli("import ripple-edits " + ripple_in + " --out " + test::shell_quote(out.string()) +
                                 " --relations " + test::shell_quote(rel.string()));
    REQUIRE(r.exit_code == 0);
    REQUIRE_THAT(r.err, Contains("ripple-edits: 5 records read, 4 imported, 1 failed (ambiguous subject: 1)"));
    REQUIRE(read_json(out).size() == 4);
    std::ofstream(rel) << R"({"INVENTOR": "The inventor of it is"})";
    const auto bad = test::run_cli("import ripple-edits " + ripple_in + " --out " + test::shell_quote(out.string()) +
                                   " --relations " + test::shell_quote(rel.string()));
    REQUIRE(bad.exit_code == 2);
    REQUIRE_THAT(bad.err, Contains("\"<subject>\" exactly once"));
  }
  SECTION("mquake: the expected dataset; --few-shot prepends the file with a newline") {
    const auto out = tmp / "mquake.json";
    auto r = test::run_cli("import mquake " + mquake_in + " --out " + test::shell_quote(out.string()));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(
        r.err ==
        "record 2: field \"requested_rewrite[0].prompt\" must contain \"{}\" exactly once, found 0 in \"The Eiffel "
        "Tower is located in the city of\"\nmquake: 3 records read, 2 imported, 1 failed (bad rewrite prompt: 1)\n");
    require_dataset(read_json(out), read_json(fixture("mquake.expected.json")));

    r = test::run_cli("import mquake " + mquake_in + " --out " + test::shell_quote(out.string()) + " --few-shot " +
                      test::shell_quote(fixture("few-shot.txt").string()) +
                      " --question-template 'Question: {} Answer:'");
    REQUIRE(r.exit_code == 0);
    const json dataset = read_json(out);
    REQUIRE(dataset[1]["implications"][2]["prompt"] ==
            "Q: What is the country where The Rotunda is located? A: United States of America\nQ: Who is the spouse of "
            "Joe Biden? A: Jill Biden\nQuestion: The head of the company that employs Triple H holds citizenship in "
            "which country? Answer:");
    REQUIRE(dataset[1]["benchmark_tests"][0]["test_queries"][2]["prompt"] == dataset[1]["implications"][2]["prompt"]);
  }
  SECTION("nothing importable, unreadable input, bad options: exit 2 and nothing written") {
    const auto broken = tmp / "broken.json";
    std::ofstream(broken) << R"([{"case_id": 1, "requested_rewrite": [], "questions": []}])";
    const auto out = tmp / "none.json";
    auto r = test::run_cli("import mquake " + test::shell_quote(broken.string()) + " --out " +
                           test::shell_quote(out.string()));
    REQUIRE(r.exit_code == 2);
    REQUIRE_THAT(r.err, Contains("mquake: 1 records read, 0 imported, 1 failed (ill-typed field: 1)"));
    REQUIRE_THAT(r.err, Contains("editlab: error: "));
    REQUIRE_THAT(r.err, Contains("no record could be imported"));
    REQUIRE_FALSE(fs::exists(out));

    const auto garbage = tmp / "garbage.json";
    std::ofstream(garbage) << "{not json";
    r = test::run_cli("import ripple-edits " + test::shell_quote(garbage.string()) + " --out " +
                      test::shell_quote(out.string()));
    REQUIRE(r.exit_code == 2);
    REQUIRE_THAT(r.err, Contains("not valid JSON"));
    REQUIRE_FALSE(fs::exists(out));

    r = test::run_cli("import ripple-edits " + test::shell_quote((tmp / "missing.json").string()) + " --out " +
                      test::shell_quote(out.string()));
    REQUIRE(r.exit_code == 2);

    r = test::run_cli("import mquake " + mquake_in + " --out " + test::shell_quote(out.string()) +
                      " --question-template 'Q: A:'");
    REQUIRE(r.exit_code == 2);
    REQUIRE_THAT(r.err, Contains("--question-template: the question template must contain \"{}\" exactly once"));
    REQUIRE_FALSE(fs::exists(out));
  }
  SECTION("`editlab import` without a benchmark lists both; --help explains failures") {
    auto r = test::run_cli("import");
    REQUIRE(r.exit_code == 2);
    REQUIRE_THAT(r.err, Contains("a benchmark is required"));
    REQUIRE_THAT(r.err, Contains("editlab import ripple-edits FILE --out DATASET"));
    REQUIRE_THAT(r.err, Contains("editlab import mquake FILE --out DATASET"));
    r = test::run_cli("import counterfact x.json");
    REQUIRE(r.exit_code == 2);
    REQUIRE_THAT(r.err, Contains("unknown benchmark \"counterfact\""));
    REQUIRE_THAT(r.err, Contains("ripple-edits"));
    REQUIRE_THAT(r.err, Contains("mquake"));
    r = test::run_cli("import --help");
    REQUIRE(r.exit_code == 0);
    REQUIRE_THAT(r.out, Contains("ripple-edits"));
    REQUIRE_THAT(r.out, Contains("mquake"));
    r = test::run_cli("import ripple-edits --help");
    REQUIRE(r.exit_code == 0);
    REQUIRE_THAT(r.out, Contains("ambiguous subject"));
    REQUIRE_THAT(r.out, Contains("--relations"));
    r = test::run_cli("import mquake " + mquake_in + " --out " + test::shell_quote((tmp / "x.json").string()) +
                      " stray");
    REQUIRE(r.exit_code == 2);
    REQUIRE_THAT(r.err, Contains("unexpected argument \"stray\""));
  }
}
