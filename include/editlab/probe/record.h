// A CounterFact record as the probe suites read it: the requested rewrite and its prompts
// (paraphrase, neighborhood, attribute, generation), plus editlab's optional `implications`
// [{kind, prompt, target_new, target_old}], `mention_prompts` and `benchmark_tests` (docs/formats.md,
// the dataset records). `requested_rewrite` may be a list (MQuAKE:
// edits applied together).
// Unknown fields are ignored, so the real counterfact.json (and CounterFact+'s) loads as it is.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "editlab/edit/request.h"

namespace editlab {

struct ImplicationProbe {
  std::string kind;        // "symmetric", "transitive", "inverse", "alias", ...
  std::string prompt;      // the subject filled in, e.g. "The Louvre is located in the country of"
  std::string target_new;  // the implied answer after the edit
  std::string target_old;  // the answer before it; empty when the benchmark does not know it
};

// A benchmark's own generation test (RippleEdits' test case; MQuAKE's three questions). A query
// passes by the benchmark's rule (probe/benchmark_rules.h); each answer is a value and its aliases.
struct BenchmarkAnswer {
  std::string value;
  std::vector<std::string> aliases;
};
struct BenchmarkQuery {
  std::string prompt;
  std::vector<BenchmarkAnswer> answers;
};
struct BenchmarkTest {
  std::string benchmark;  // "ripple_edits" | "mquake"
  std::string family;     // "Logical_Generalization", "multi_hop", ...
  bool all = false;       // test_condition AND (all test queries must pass) rather than OR
  std::vector<BenchmarkQuery> condition_queries, test_queries;
};

struct ProbeRecord {
  EditRequest request;                // the first (usually only) requested rewrite
  std::vector<EditRequest> requests;  // all of them, applied in order
  std::vector<std::string> paraphrase_prompts, neighborhood_prompts, attribute_prompts, generation_prompts,
      mention_prompts;
  std::vector<ImplicationProbe> implications;
  std::vector<BenchmarkTest> benchmark_tests;
};

// Parses and validates one record; errors name `where` and the field.
ProbeRecord parse_probe_record(const nlohmann::json& record, const std::string& where);

// The records of a dataset file (a JSON array, one object, or JSON Lines), unparsed so that one
// bad record fails alone. Errors name the file and, for JSON Lines, the line.
std::vector<nlohmann::json> load_dataset(const std::filesystem::path& path);

}  // namespace editlab
