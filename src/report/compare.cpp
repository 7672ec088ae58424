#include "editlab/report/compare.h"
#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "editlab/report/report.h"
#include "editlab/util/error.h"
#include "editlab/util/json_file.h"

namespace editlab::report {
namespace {

using ojson = nlohmann::ordered_json;

// Means and bounds come from JSON round trips and differences of nearby doubles: a difference
// of exactly the tolerance (0.8 - 0.75 = 0.05000000000000004) counts as within.
constexpr double kSlack = 1e-9;

ToleranceRule parse_rule(const ojson& j, const std::string& where) {
  if (!j.is_object()) fail("{}: must be an object like {{\"abs\": 0.05}}, found {}", where, j.dump());
  ToleranceRule rule;
  for (const auto& [key, value] : j.items()) {
    if (key == "abs") {
      if (!value.is_number() || value.get<double>() < 0 || !std::isfinite(value.get<double>())) {
        fail("{}.abs: must be a non-negative number, found {}", where, value.dump());
      }
      rule.abs = value.get<double>();
    } else if (key == "ci" || key == "optional") {
      if (!value.is_boolean()) fail("{}.{}: must be true or false, found {}", where, key, value.dump());
      (key == "ci" ? rule.ci : rule.optional) = value.get<bool>();
    } else {
      fail("{}: unknown key \"{}\" (expected \"abs\", \"ci\" or \"optional\")", where, key);
    }
  }
  return rule;
}

size_t literal_chars(const std::string& pattern) {
  return static_cast<size_t>(
      std::count_if(pattern.begin(), pattern.end(), [](char c) { return c != '*' && c != '?'; }));
}

bool is_pattern(const std::string& key) { return key.find_first_of("*?") != std::string::npos; }

// Absent: nullopt. Present with a null mean (NaN written as JSON): NaN, which fails every test.
std::optional<double> mean_of(const ojson& aggregates, const std::string& metric) {
  const auto it = aggregates.find(metric);
  if (it == aggregates.end() || !it->is_object()) return std::nullopt;
  const auto mean = it->find("mean");
  if (mean == it->end() || !mean->is_number()) return std::nan("");
  return mean->get<double>();
}

std::optional<std::pair<double, double>> ci_of(const ojson& aggregates, const std::string& metric) {
  const auto it = aggregates.find(metric);
  if (it == aggregates.end() || !it->contains("ci")) return std::nullopt;
  const auto& ci = (*it)["ci"];
  if (!ci.is_array() || ci.size() != 2) return std::nullopt;
  auto bound = [](const ojson& b) { return b.is_number() ? b.get<double>() : std::nan(""); };
  return std::pair(bound(ci[0]), bound(ci[1]));
}

ojson get_or_null(const ojson& j, const char* outer, const char* inner) {
  const auto o = j.find(outer);
  if (o == j.end() || !o->is_object()) return nullptr;
  const auto i = o->find(inner);
  return i == o->end() ? ojson() : *i;
}

std::string number(double x) {
  if (x == 0 || std::fabs(x) >= 1e-3) return fmt::format("{:.3f}", x);
  return fmt::format("{:.3e}", x);
}

std::string signed_number(double x) { return (x >= 0 ? "+" : "") + number(x); }

std::string estimate_text(const std::optional<double>& mean, const std::optional<std::pair<double, double>>& ci) {
  if (!mean) return "–";
  if (!ci) return number(*mean);
  return fmt::format("{} [{}, {}]", number(*mean), number(ci->first), number(ci->second));
}

}  // namespace

std::string Tolerance::describe() const {
  std::string out;
  if (abs) out = fmt::format("abs {}", *abs);
  if (ci) out += out.empty() ? "ci" : " or ci";
  if (out.empty()) out = "exact";
  if (optional) out += ", optional";
  return out;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative wildcard matching with backtracking to the last '*'.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p, ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++, mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1, t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Tolerance ToleranceSpec::for_metric(const std::string& metric) const {
  // Matching rules, most specific first: exact names, then patterns by literal characters.
  std::vector<const std::pair<std::string, ToleranceRule>*> matching;
  for (const auto& entry : metrics) {
    if (is_pattern(entry.first) ? glob_match(entry.first, metric) : entry.first == metric) matching.push_back(&entry);
  }
  std::stable_sort(matching.begin(), matching.end(), [](const auto* a, const auto* b) {
    const bool ea = !is_pattern(a->first), eb = !is_pattern(b->first);
    if (ea != eb) return ea;
    return literal_chars(a->first) > literal_chars(b->first);
  });
  Tolerance t;
  const ToleranceRule* test = nullptr;
  const ToleranceRule* optional = nullptr;
  for (const auto* entry : matching) {
    if (!test && (entry->second.abs || entry->second.ci)) test = &entry->second;
    if (!optional && entry->second.optional) optional = &entry->second;
  }
  if (!test && (fallback.abs || fallback.ci)) test = &fallback;
  if (test) {
    t.abs = test->abs;
    t.ci = test->ci.value_or(false);
  } else {
    t.ci = true;
  }
  if (!optional && fallback.optional) optional = &fallback;
  t.optional = optional ? *optional->optional : false;
  return t;
}

ToleranceSpec parse_tolerance(const ojson& j, const std::string& source) {
  if (!j.is_object()) fail("{}: a tolerance file must be a JSON object with \"default\" and/or \"metrics\"", source);
  ToleranceSpec spec;
  for (const auto& [key, value] : j.items()) {
    if (key == "default") {
      spec.fallback = parse_rule(value, source + ": default");
    } else if (key == "metrics") {
      if (!value.is_object()) fail("{}: metrics: must be an object of metric name -> rule", source);
      for (const auto& [metric, rule] : value.items()) {
        if (metric.empty()) fail("{}: metrics: an empty metric name", source);
        spec.metrics.emplace_back(metric, parse_rule(rule, fmt::format("{}: metrics[\"{}\"]", source, metric)));
      }
    } else {
      fail("{}: unknown key \"{}\" (expected \"default\" or \"metrics\")", source, key);
    }
  }
  return spec;
}

ToleranceSpec load_tolerance(const std::filesystem::path& path) {
  // Parsed as an ordered object so that "ties: the first in the file" holds.
  return parse_tolerance(read_ordered_json_file(path, "tolerance file"), path.string());
}

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::within:
      return "within";
    case Verdict::outside:
      return "outside";
    case Verdict::missing:
      return "missing";
    case Verdict::optional_missing:
      return "optional-missing";
  }
  return "?";
}

bool Comparison::passed() const { return failures() == 0; }

int64_t Comparison::failures() const {
  return std::count_if(metrics.begin(), metrics.end(), [](const MetricComparison& m) {
    return m.verdict == Verdict::outside || m.verdict == Verdict::missing;
  });
}

Comparison compare_reports(const ojson& baseline, const ojson& candidate, const ToleranceSpec& tolerance) {
  if (baseline.value("schema", "") != candidate.value("schema", "")) {
    fail("the reports have different schemas ({} vs {}): compare reports of one editlab version",
         baseline.value("schema", ""), candidate.value("schema", ""));
  }
  const ojson hash_b = get_or_null(baseline, "dataset", "hash"), hash_c = get_or_null(candidate, "dataset", "hash");
  if (hash_b != hash_c) {
    fail("the reports are over different datasets (dataset hash {} vs {}): nothing to compare", hash_b.dump(),
         hash_c.dump());
  }
  const ojson sel_b = get_or_null(baseline, "selection", "indices"),
              sel_c = get_or_null(candidate, "selection", "indices");
  if (sel_b != sel_c) {
    fail(
        "the reports cover different records (selection.indices: {} vs {} records{}): run both on the same "
        "selection",
        sel_b.size(), sel_c.size(), sel_b.size() == sel_c.size() ? ", different indices" : "");
  }

  Comparison out;
  const ojson method_b = get_or_null(baseline, "config", "method"),
              method_c = get_or_null(candidate, "config", "method");
  if (method_b != method_c) {
    out.warnings.push_back(fmt::format("different methods (baseline {}, candidate {}): comparing methods",
                                       method_b.dump(), method_c.dump()));
  }
  const ojson fp_b = get_or_null(baseline, "model", "fingerprint"),
              fp_c = get_or_null(candidate, "model", "fingerprint");
  if (fp_b != fp_c) out.warnings.push_back(fmt::format("different models ({} vs {})", fp_b.dump(), fp_c.dump()));
  if (baseline.value("bootstrap", ojson()) != candidate.value("bootstrap", ojson())) {
    out.warnings.push_back("different bootstrap settings: the confidence intervals are not computed alike");
  }
  if (!baseline.value("complete", true)) out.warnings.push_back("the baseline report is partial (complete: false)");
  if (!candidate.value("complete", true)) out.warnings.push_back("the candidate report is partial (complete: false)");

  const ojson& agg_b = baseline["aggregates"];
  const ojson& agg_c = candidate["aggregates"];
  if (!agg_b.is_object() || !agg_c.is_object()) fail("a report's \"aggregates\" is not an object");
  std::vector<std::string> names;
  for (const auto* agg : {&agg_b, &agg_c}) {
    for (const auto& [k, v] : agg->items()) {
      if (std::find(names.begin(), names.end(), k) == names.end()) names.push_back(k);
    }
  }
  std::stable_sort(names.begin(), names.end(), metric_less);

  for (const auto& name : names) {
    MetricComparison m;
    m.metric = name;
    m.baseline_mean = mean_of(agg_b, name);
    m.candidate_mean = mean_of(agg_c, name);
    m.baseline_ci = ci_of(agg_b, name);
    m.candidate_ci = ci_of(agg_c, name);
    m.tolerance = tolerance.for_metric(name);
    if (!m.baseline_mean || !m.candidate_mean) {
      m.verdict = m.tolerance.optional ? Verdict::optional_missing : Verdict::missing;
    } else {
      m.diff = *m.candidate_mean - *m.baseline_mean;
      bool within = false;
      if (m.tolerance.abs) within = within || std::fabs(*m.diff) <= *m.tolerance.abs + kSlack;
      if (m.tolerance.ci && m.baseline_ci) {
        within = within || (*m.candidate_mean >= m.baseline_ci->first - kSlack &&
                            *m.candidate_mean <= m.baseline_ci->second + kSlack);
      }
      if (!m.tolerance.abs && !m.tolerance.ci) within = std::fabs(*m.diff) <= kSlack;
      m.verdict = within ? Verdict::within : Verdict::outside;
    }
    out.metrics.push_back(std::move(m));
  }
  for (const auto& entry : tolerance.metrics) {
    const auto& pattern = entry.first;  // a named variable: clang 14 cannot capture a structured binding
    const bool used = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
      return is_pattern(pattern) ? glob_match(pattern, n) : pattern == n;
    });
    if (!used) out.unused_patterns.push_back(pattern);
  }
  return out;
}

std::string comparison_table(const Comparison& c) {
  std::string out = "| metric | baseline | candidate | diff | tolerance | verdict |\n|---|---|---|---|---|---|\n";
  std::vector<std::string> failing;
  for (const auto& m : c.metrics) {
    std::string verdict;
    switch (m.verdict) {
      case Verdict::within:
        verdict = "within";
        break;
      case Verdict::outside:
        verdict = "**OUTSIDE**";
        break;
      case Verdict::missing:
        verdict = m.baseline_mean ? "**MISSING in candidate**" : "**MISSING in baseline**";
        break;
      case Verdict::optional_missing:
        verdict = m.baseline_mean ? "absent in candidate (optional)" : "absent in baseline (optional)";
        break;
    }
    if (m.verdict == Verdict::outside || m.verdict == Verdict::missing) failing.push_back(m.metric);
    out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", m.metric, estimate_text(m.baseline_mean, m.baseline_ci),
                       estimate_text(m.candidate_mean, m.candidate_ci), m.diff ? signed_number(*m.diff) : "–",
                       m.tolerance.describe(), verdict);
  }
  if (failing.empty()) {
    out += fmt::format("\ncompare: all {} metrics within tolerance\n", c.metrics.size());
  } else {
    out += fmt::format("\ncompare: {} of {} metrics outside tolerance or missing: {}\n", failing.size(),
                       c.metrics.size(), fmt::join(failing, ", "));
  }
  return out;
}

ojson comparison_json(const Comparison& c) {
  ojson metrics = ojson::array();
  for (const auto& m : c.metrics) {
    auto estimate = [](const std::optional<double>& mean, const std::optional<std::pair<double, double>>& ci) {
      if (!mean) return ojson();
      ojson e = {{"mean", *mean}};
      e["ci"] = ci ? ojson::array({ci->first, ci->second}) : ojson();
      return e;
    };
    ojson tol = ojson::object();
    tol["abs"] = m.tolerance.abs ? ojson(*m.tolerance.abs) : ojson();
    tol["ci"] = m.tolerance.ci;
    tol["optional"] = m.tolerance.optional;
    ojson row = ojson::object();
    row["metric"] = m.metric;
    row["baseline"] = estimate(m.baseline_mean, m.baseline_ci);
    row["candidate"] = estimate(m.candidate_mean, m.candidate_ci);
    row["diff"] = m.diff ? ojson(*m.diff) : ojson();
    row["tolerance"] = tol;
    row["verdict"] = verdict_name(m.verdict);
    metrics.push_back(std::move(row));
  }
  ojson out = ojson::object();
  out["passed"] = c.passed();
  out["failures"] = c.failures();
  out["warnings"] = c.warnings;
  out["unused_tolerance_keys"] = c.unused_patterns;
  out["metrics"] = std::move(metrics);
  return out;
}

}  // namespace editlab::report
