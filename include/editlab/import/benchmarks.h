// Importers of the public knowledge-editing benchmarks into editlab's dataset format (a
// CounterFact record plus `implications`, `benchmark_tests` and `source`; docs/benchmarks-and-sequential.md,
// the import section):
//  - RippleEdits (Cohen et al. 2024, edenbiran/RippleEdits): the edit carries Wikidata ids, not
//    labels; subject and targets are recovered from the edit's prompt, which the reference builds
//    as `template(subject) + " " + target + "."` with the relation's template.
//  - MQuAKE (Zhong et al. 2023, princeton-nlp/MQuAKE): already CounterFact-like; each case's
//    rewrites become one record's requested_rewrite list, its questions the multi-hop probes.
// A record that cannot be converted is never guessed at: it is a failure with a kind (the key of
// `by_reason`) and a reason naming the field, and the import goes on with the next record.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace editlab::import {

// A RippleEdits relation: its Wikidata property id ("" when the reference has none) and its
// phrase, a template with "<subject>" exactly once ("The name of the mother of <subject> is").
struct Relation {
  std::string id;
  std::string phrase;
};
using RelationTable = std::map<std::string, Relation>;

// The relations of the reference's src/relation.py, by enum name (COUNTRY_OF_CITIZENSHIP, ...).
const RelationTable& ripple_edits_relations();

// Adds or overrides entries of `table` from a JSON object {NAME: "template"} or
// {NAME: {"id": "P27", "template": "..."}}; a bare template keeps a known relation's id. Errors
// (exit 2) name `source` and the entry: a template must contain "<subject>" exactly once.
void add_relations(RelationTable& table, const nlohmann::json& j, const std::string& source);
// The same from a file.
void add_relations_file(RelationTable& table, const std::filesystem::path& path);

// A record of the input that could not be imported: its index in the file, the kind of failure
// ("unknown relation", "ambiguous subject", ...) and the reason in words ("unknown relation
// \"FOO\"").
struct ImportFailure {
  size_t index = 0;
  std::string kind;
  std::string reason;
};

struct ImportResult {
  size_t read = 0;                              // records in the input
  std::vector<nlohmann::ordered_json> records;  // the imported dataset, in input order
  std::vector<ImportFailure> failures;          // in input order
  // RippleEdits queries with an empty "answers" list (the reference counts them as passed
  // whatever the model says; editlab's records need an answer) and test cases left without a test
  // query: left out of benchmark_tests.
  size_t dropped_queries = 0;
  size_t dropped_tests = 0;

  size_t imported() const { return records.size(); }
  std::map<std::string, size_t> by_reason() const;
  // {"read", "imported", "failed", "failures": [{"index", "kind", "reason"}], "by_reason": {kind: n}}
  // (+ "dropped_queries" / "dropped_tests" when not zero).
  nlohmann::ordered_json summary_json() const;
  // "ripple-edits: 12 records read, 11 imported, 1 failed (ambiguous subject: 1)".
  std::string summary_line(const std::string& name) const;
};

struct RippleEditsOptions {
  RelationTable relations = ripple_edits_relations();
};

// The records of a RippleEdits file (popular.json, random.json, recent.json).
ImportResult import_ripple_edits(const std::vector<nlohmann::json>& records, const RippleEditsOptions& options = {});

struct MquakeOptions {
  std::string question_template = "Q: {} A:";  // "{}" exactly once: where the question goes
  std::string few_shot;                        // prepended verbatim to every question prompt
};

// Checks a question template: "{}" exactly once (an error otherwise).
void validate_question_template(const std::string& question_template);
// A few-shot prompt file's text, with "\n" added when it does not end with one (an empty file
// gives "").
std::string load_few_shot(const std::filesystem::path& path);

// The cases of an MQuAKE file (MQuAKE-CF-3k.json, MQuAKE-CF.json, MQuAKE-T.json).
ImportResult import_mquake(const std::vector<nlohmann::json>& records, const MquakeOptions& options = {});

// What both importers share to reject a record: a failure of `kind` with `reason`, caught per
// record; the field helpers reject a missing field ("missing field") or a field of the wrong JSON
// type ("ill-typed field"), naming its path ("edit.original_fact.prompt").
namespace detail {
struct RecordFailure {
  std::string kind, reason;
};
[[noreturn]] void reject(std::string kind, std::string reason);
std::string join_path(const std::string& path, const std::string& key);
const nlohmann::json& field(const nlohmann::json& object, const std::string& key, const std::string& path);
const nlohmann::json& object_field(const nlohmann::json& object, const std::string& key, const std::string& path);
const nlohmann::json& array_field(const nlohmann::json& object, const std::string& key, const std::string& path);
std::string string_field(const nlohmann::json& object, const std::string& key, const std::string& path);
// Runs `convert` on each record; a RecordFailure becomes a failure of that record.
template <typename Convert>
ImportResult import_each(const std::vector<nlohmann::json>& records, Convert&& convert) {
  ImportResult result;
  result.read = records.size();
  for (size_t i = 0; i < records.size(); ++i) {
    try {
      result.records.push_back(convert(records[i], i, result));
    } catch (const RecordFailure& f) {
      result.failures.push_back({i, f.kind, f.reason});
    }
  }
  return result;
}
}  // namespace detail

// Writes a dataset atomically: JSON Lines when `path` ends in ".jsonl", else a JSON array
// (indent 1).
void write_dataset(const std::filesystem::path& path, const std::vector<nlohmann::ordered_json>& records);

}  // namespace editlab::import
