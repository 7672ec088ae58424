// Scores of a prompt, as CounterFact defines them (docs/algorithms.md, "Scores of a prompt"):
// nll(prefix, target) = mean over the target's tokens of -log p(token | prefix + previous
// target tokens), the target tokenized as " " + target and the prefix tokenized on its own.
// Many (prefix, target) pairs go through the model in one batched forward call.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "editlab/model/language_model.h"
#include "editlab/model/tokenizer.h"
#include "editlab/probe/suite_options.h"  // ScoringOptions

namespace editlab {

struct ScoreRequest {
  std::string prefix;
  std::string target;  // tokenized as " " + target
};

struct TargetScore {
  std::vector<int64_t> prefix_ids;
  std::vector<int64_t> target_ids;
  std::vector<double> token_logprobs;  // log p(target token i | ...), one per target token
  double nll = 0;                      // -mean(token_logprobs)
  bool greedy_correct = false;         // every target token is the argmax at its position
};

std::vector<TargetScore> score_targets(LanguageModel& model, const Tokenizer& tokenizer,
                                       std::span<const ScoreRequest> requests, const ScoringOptions& options = {},
                                       const RowEdits* edits = nullptr);

// log-softmax of the next-token distribution after each prefix: [N, V] (float64 on CPU).
torch::Tensor next_token_logprobs(LanguageModel& model, const Tokenizer& tokenizer,
                                  std::span<const std::string> prefixes, const ScoringOptions& options = {},
                                  const RowEdits* edits = nullptr);

}  // namespace editlab
