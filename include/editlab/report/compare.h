// Comparing two reports of the same dataset selection, metric by metric: the CI regression
// verdict of `editlab compare BASELINE.json CANDIDATE.json [--tolerance T.json]`.
//
// Tolerance file (JSON; every key optional, unknown keys are errors):
//   {"default": {"abs": 0.05},
//    "metrics": {"efficacy/success": {"abs": 0.02},
//                "specificity/NKL": {"ci": true},
//                "implication/*/success": {"abs": 0.1, "optional": true}}}
// A rule has up to three fields:
//   "abs": T       within when |candidate mean - baseline mean| <= T (T >= 0);
//   "ci": true     within when the candidate mean lies inside the baseline's confidence interval;
//                  with both "abs" and "ci", within when either test passes;
//   "optional": true  a metric that only one report has is not a failure (default false).
// Metric keys are exact names or glob patterns ("*" any run of characters, "/" included; "?" one
// character). For each metric the most specific matching key decides, field by field: an exact
// name beats any pattern, a pattern with more literal characters beats one with fewer (ties: the
// first in the file). The test ("abs"/"ci") comes from the most specific rule that sets either,
// else from "default"; "optional" likewise. Without a tolerance file, and for whatever the file's
// "default" leaves unset, the test is {"ci": true}.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace editlab::report {

struct ToleranceRule {
  std::optional<double> abs;
  std::optional<bool> ci;
  std::optional<bool> optional;
};

// The test that applies to one metric after resolving patterns and the default.
struct Tolerance {
  std::optional<double> abs;  // unset: no absolute test
  bool ci = false;
  bool optional = false;
  std::string describe() const;  // "abs 0.02", "ci", "abs 0.02 or ci"
};

struct ToleranceSpec {
  ToleranceRule fallback;                                      // "default"
  std::vector<std::pair<std::string, ToleranceRule>> metrics;  // file order

  Tolerance for_metric(const std::string& metric) const;
};

// Parses a tolerance file's JSON (ordered: file order breaks ties); errors name `source` and the field.
ToleranceSpec parse_tolerance(const nlohmann::ordered_json& j, const std::string& source);
ToleranceSpec load_tolerance(const std::filesystem::path& path);

// Glob match of a metric name against a pattern ("*", "?").
bool glob_match(std::string_view pattern, std::string_view text);

enum class Verdict { within, outside, missing, optional_missing };
const char* verdict_name(Verdict v);  // "within", "outside", "missing", "optional-missing"

struct MetricComparison {
  std::string metric;
  std::optional<double> baseline_mean, candidate_mean;
  std::optional<std::pair<double, double>> baseline_ci, candidate_ci;
  std::optional<double> diff;  // candidate - baseline
  Tolerance tolerance;
  Verdict verdict = Verdict::within;
};

struct Comparison {
  std::vector<MetricComparison> metrics;     // every aggregate of either report, in metric order
  std::vector<std::string> warnings;         // compatible but worth knowing (different methods, ...)
  std::vector<std::string> unused_patterns;  // tolerance keys that match no metric
  bool passed() const;                       // no metric outside or missing
  int64_t failures() const;
};

// Compares the aggregates of two loaded reports. Throws editlab::Error when they cannot be
// compared: different schema, dataset hash or selection indices.
Comparison compare_reports(const nlohmann::ordered_json& baseline, const nlohmann::ordered_json& candidate,
                           const ToleranceSpec& tolerance);

// The comparison as a Markdown table followed by a one-line verdict.
std::string comparison_table(const Comparison& c);
// The comparison as JSON: {"passed", "failures", "warnings", "metrics": [{"metric", "baseline":
// {"mean", "ci"} | null, "candidate": ..., "diff", "tolerance": {"abs", "ci", "optional"},
// "verdict"}]}.
nlohmann::ordered_json comparison_json(const Comparison& c);

}  // namespace editlab::report
