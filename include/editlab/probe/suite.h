// The probe suites: one registry of their names, whether `editlab run` runs them by default, and
// the metrics each writes. The probes (suites.h), the experiment config's validation, the report's
// metric order and `editlab run --help` all read it. Torch-free, so the report layer can use it.
#pragma once

#include <array>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace editlab {

enum class Suite { efficacy, paraphrase, specificity, specificity_plus, loud, implication, benchmark, fluency };

struct SuiteInfo {
  Suite suite;
  std::string_view name;     // as configs and metric names spell it ("specificity_plus")
  bool by_default;           // run when the config names no suites
  std::string_view metrics;  // the metrics it writes, "<name>/" left out
};

// In report order: a table lists the suites' metrics in this order.
inline constexpr std::array<SuiteInfo, 8> kSuiteRegistry = {{
    {Suite::efficacy, "efficacy", true, "success, magnitude, accuracy"},
    {Suite::paraphrase, "paraphrase", true, "success, magnitude, accuracy"},
    {Suite::specificity, "specificity", true, "NS, NM, NKL, NKL_scaled, accuracy"},
    {Suite::specificity_plus, "specificity_plus", true, "NS+, NM+, NKL+, NKL+_scaled, accuracy"},
    {Suite::loud, "loud", true, "rate, rate_before, logprob_gain"},
    {Suite::implication, "implication", true,
     "<kind>/{success, success_before, prob_gain, generation, generation_before}"},
    {Suite::benchmark, "benchmark", true, "<benchmark>/<family>/{executed, pass, pass_before}"},
    {Suite::fluency, "fluency", false, "entropy_before, entropy_after"},
}};

constexpr const SuiteInfo& suite_info(Suite s) {
  for (const auto& info : kSuiteRegistry) {
    if (info.suite == s) return info;
  }
  return kSuiteRegistry[0];  // unreachable: every Suite is registered
}

constexpr std::string_view suite_name(Suite s) { return suite_info(s).name; }

constexpr std::optional<Suite> parse_suite(std::string_view name) {
  for (const auto& info : kSuiteRegistry) {
    if (info.name == name) return info.suite;
  }
  return std::nullopt;
}

inline std::vector<Suite> default_suites() {
  std::vector<Suite> out;
  for (const auto& info : kSuiteRegistry) {
    if (info.by_default) out.push_back(info.suite);
  }
  return out;
}

inline std::vector<std::string> suite_names() {
  std::vector<std::string> out;
  for (const auto& info : kSuiteRegistry) out.emplace_back(info.name);
  return out;
}

inline std::ostream& operator<<(std::ostream& out, Suite s) { return out << suite_name(s); }

// Sort key of a metric's suite (the part before its first '/') in tables: the default suites in
// registry order, then suites this build does not know (a newer editlab's report), then the
// optional ones (fluency).
constexpr int suite_rank(std::string_view suite) {
  for (size_t i = 0; i < kSuiteRegistry.size(); ++i) {
    if (kSuiteRegistry[i].name == suite) return static_cast<int>(i) + (kSuiteRegistry[i].by_default ? 0 : 100);
  }
  return 50;
}

}  // namespace editlab
