// The pass rules of the benchmarks' own generation tests (docs/benchmarks-and-sequential.md,
// the import section), as their reference code applies them, kept apart from editlab's probability-based
// implication metrics:
//
//   RippleEdits (src/queryexecutor.py, src/testrunner.py): greedy generation up to
//     len(prompt in characters) + 30 tokens, prompt included; the text checked is the decoded
//     prompt *and* continuation (so an answer already in the prompt passes, as in the reference);
//     every answer of the query needs one of its strings (value or alias, each kept only if
//     longer than one character or all digits) as a substring. A test case is executed only if
//     all its condition queries pass on the unedited model; then OR: any test query passes,
//     AND: all do.
//   MQuAKE (README, run_mello.ipynb): a case passes if any of its questions is answered with the
//     new answer or one of its aliases, exactly. editlab reads the greedy continuation's first
//     line (20 new tokens at most), trimmed of spaces: it must be the answer, or the answer must
//     end its first sentence (" Paris." and " Paris. The city ..." answer "Paris"; "Washington,
//     D.C. is ..." answers "Washington, D.C."; " Paris, France" does not answer "Paris"), since
//     a model prompted without MQuAKE's few-shot "Q: ... A: ...\n" lines need not stop at a
//     newline.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "editlab/probe/record.h"

namespace editlab {

// RippleEdits' generation length, prompt included: len(prompt) + 30, the length counted in
// characters (Python's len: code points) but used as tokens, as the reference does.
int64_t ripple_edits_max_length(std::string_view prompt);

// The strings RippleEdits accepts for one answer: value then aliases, those of one character
// dropped unless a digit (Python's len() counts code points).
std::vector<std::string> ripple_edits_answer_strings(const BenchmarkAnswer& answer);
bool ripple_edits_query_passes(const std::string& text, const std::vector<BenchmarkAnswer>& answers);

// The answer in a continuation (its first line, trimmed), and whether it is one of the answers.
std::string mquake_answer(const std::string& continuation);
bool mquake_query_passes(const std::string& continuation, const std::vector<BenchmarkAnswer>& answers);

bool benchmark_query_passes(const std::string& benchmark, const std::string& text,
                            const std::vector<BenchmarkAnswer>& answers);

enum class TestOutcome { kNotExecuted, kPassed, kFailed };

// conditions: the condition queries' results on the unedited model; tests: the test queries'
// results on the model under test; all: AND rather than OR.
TestOutcome benchmark_test_outcome(const std::vector<bool>& conditions, const std::vector<bool>& tests, bool all);

}  // namespace editlab
