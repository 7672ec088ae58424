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

// Rank-one edits of several records (ROME's W += u v^T), each applied only to its own rows while
// many records' prompts go through one batch, no weight written: request i is scored as if
// group[i]'s updates were in the model (-1: the unedited model).
struct RowEdits {
  struct Update {
    int64_t layer = 0;
    torch::Tensor u, v;  // [M], [C]
  };
  std::vector<std::vector<Update>> groups;  // per group (record), its updates
  std::vector<int64_t> group;               // per request / prefix: its group or -1

  // The MLP interventions of one forward batch whose rows are the requests `items`, in order.
  std::vector<MlpIntervention> interventions(std::span<const size_t> items, torch::Device device) const;
};

std::vector<TargetScore> score_targets(LanguageModel& model, const Tokenizer& tokenizer,
                                       std::span<const ScoreRequest> requests, const ScoringOptions& options = {},
                                       const RowEdits* edits = nullptr);

// log-softmax of the next-token distribution after each prefix: [N, V] (float64 on CPU).
torch::Tensor next_token_logprobs(LanguageModel& model, const Tokenizer& tokenizer,
                                  std::span<const std::string> prefixes, const ScoringOptions& options = {},
                                  const RowEdits* edits = nullptr);

}  // namespace editlab
