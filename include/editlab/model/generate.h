// Greedy and beam-search generation with Hugging Face `generate` semantics (transformers
// 4.2x-4.35, the versions ROME and CounterFact+ ran with): `max_length` counts the prompt and
// defaults to 20; `max_new_tokens` overrides it; no logits processors; beam search keeps
// 2 * num_beams candidates per step, finished hypotheses are scored
// sum_logprobs / len(prompt + generated) ** length_penalty, early_stopping = false uses HF's
// heuristic, and an eos token is appended to a winner shorter than max_length.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "editlab/model/language_model.h"

namespace editlab {

struct GenerateOptions {
  int64_t num_beams = 1;                  // 1 = greedy
  std::optional<int64_t> max_length;      // total tokens, prompt included (HF default 20)
  std::optional<int64_t> max_new_tokens;  // wins over max_length when set
  double length_penalty = 1.0;
  int64_t eos_token_id = 50256;           // ends a sequence; appended to a short beam winner
  std::vector<int64_t> more_eos_token_ids;  // further ids that end a sequence (an eos_token_id list)
};

struct Generation {
  std::vector<int64_t> ids;  // prompt + generated tokens (the eos included when produced)
  double score = 0;          // beam: the winner's length-normalised score; greedy: sum of log-probs
};

Generation generate(LanguageModel& model, std::span<const int64_t> prompt, const GenerateOptions& options);

// Several prompts at once, each with its own max_length (prompt included; max_new_tokens is not
// read): with num_beams > 1 their beams share one batch, the prompts left-padded, each prompt's
// search taken step by step as generate takes it alone (equal within float rounding), a finished
// prompt leaving the batch. `edits` (RowEdits with one group per prompt) gives each prompt's rows
// its own low-rank edits (beam search only).
std::vector<Generation> generate_many(LanguageModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                      const std::vector<int64_t>& max_lengths, const GenerateOptions& options,
                                      const RowEdits* edits = nullptr);

// Top-k sampling as ROME's generate_fast: sample until the sequence holds `max_length` tokens
// (prompt included; an eos does not stop it), drawing from the k most likely tokens with their
// renormalised probabilities. Returns prompt + sampled ids.
std::vector<int64_t> sample_top_k(LanguageModel& model, std::span<const int64_t> prompt, int64_t max_length,
                                  int64_t top_k, at::Generator& generator);

}  // namespace editlab
