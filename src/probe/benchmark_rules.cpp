#include "editlab/probe/benchmark_rules.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace editlab {
namespace {

size_t code_points(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

int64_t ripple_edits_max_length(std::string_view prompt) { return static_cast<int64_t>(code_points(prompt)) + 30; }

std::vector<std::string> ripple_edits_answer_strings(const BenchmarkAnswer& answer) {
  std::vector<std::string> out;
  auto keep = [&](const std::string& s) {
    const bool digit = s.size() == 1 && std::isdigit(static_cast<unsigned char>(s[0]));
    if (code_points(s) > 1 || digit) out.push_back(s);
  };
  keep(answer.value);
  for (const auto& a : answer.aliases) keep(a);
  return out;
}

bool ripple_edits_query_passes(const std::string& text, const std::vector<BenchmarkAnswer>& answers) {
  for (const auto& answer : answers) {
    const auto strings = ripple_edits_answer_strings(answer);
    const bool found = std::any_of(strings.begin(), strings.end(),
                                   [&](const std::string& s) { return text.find(s) != std::string::npos; });
    if (!found) return false;
  }
  return true;
}

std::string mquake_answer(const std::string& continuation) {
  std::string a = continuation.substr(0, continuation.find('\n'));
  while (!a.empty() && is_space(a.back())) a.pop_back();
  size_t start = 0;
  while (start < a.size() && is_space(a[start])) ++start;
  return a.substr(start);
}

bool mquake_query_passes(const std::string& continuation, const std::vector<BenchmarkAnswer>& answers) {
  const std::string line = mquake_answer(continuation);
  // The line is the answer, or the answer ends the line's first sentence ("Paris." and "Paris.
  // The city of ..." answer "Paris"; "Washington, D.C. is ..." answers "Washington, D.C.").
  auto is = [&](const std::string& v) {
    if (v.empty() || line.compare(0, v.size(), v) != 0) return false;
    const std::string_view rest = std::string_view(line).substr(v.size());
    if (rest.empty()) return true;
    if (rest[0] == '.' && (rest.size() == 1 || is_space(rest[1]))) return true;
    return v.back() == '.' && is_space(rest[0]);
  };
  for (const auto& answer : answers) {
    if (is(answer.value) || std::any_of(answer.aliases.begin(), answer.aliases.end(), is)) return true;
  }
  return false;
}

bool benchmark_query_passes(const std::string& benchmark, const std::string& text,
                            const std::vector<BenchmarkAnswer>& answers) {
  return benchmark == "mquake" ? mquake_query_passes(text, answers) : ripple_edits_query_passes(text, answers);
}

TestOutcome benchmark_test_outcome(const std::vector<bool>& conditions, const std::vector<bool>& tests, bool all) {
  if (std::find(conditions.begin(), conditions.end(), false) != conditions.end()) return TestOutcome::kNotExecuted;
  const bool pass = all ? std::all_of(tests.begin(), tests.end(), [](bool b) { return b; })
                        : std::any_of(tests.begin(), tests.end(), [](bool b) { return b; });
  return pass ? TestOutcome::kPassed : TestOutcome::kFailed;
}

}  // namespace editlab
