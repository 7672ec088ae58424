// The probe suites of one record (docs/algorithms.md "Scores of a prompt", "Metrics", "Loud facts",
// "Implication probes"). A RecordProbes object plans every prompt of the chosen suites once;
// observe() runs them through a model state (all scores in one batched call, the next-token
// distributions for NKL in another, generations for the implication and fluency checks), and
// metrics() turns the observations of the unedited and the edited model into per-prompt values:
//
//   efficacy/{success, magnitude, accuracy}      the rewrite prompt: nll_new < nll_true,
//   paraphrase/{success, magnitude, accuracy}    exp(-nll_new) - exp(-nll_true), greedy argmax
//                                                equals every token of target_new
//   specificity/{NS, NM, NKL, NKL_scaled, accuracy}    neighborhood prompts: nll_true < nll_new,
//   specificity_plus/{NS+, NM+, NKL+, NKL+_scaled, accuracy}  exp(-nll_true) - exp(-nll_new),
//                                                KL(P_edited || P_unedited) of the next token in
//                                                nats and divided by the vocabulary size (the
//                                                reference's value), greedy accuracy of
//                                                target_true; "+" prompts are prefixed by the
//                                                edit sentence: sentence + " " + target_new + ". "
//   loud/{rate, rate_before, logprob_gain}       mention prompts ("The Louvre is cool. Barack
//                                                Obama is from"): target_new is the greedy answer
//                                                after / before the edit; gain of its mean token
//                                                log-prob
//   implication/<kind>/{success, success_before, known, success_known, prob_gain, generation,
//                       generation_before}       nll_new < nll_old after / before; whether the
//                                                unedited model's greedy answer is target_old;
//                                                success over the known probes only; exp(-nll_new)
//                                                after minus before; the beam-search continuation
//                                                contains target_new
//   fluency/{entropy_before, entropy_after}      ROME's weighted 2/3-gram entropy of top-k
//                                                samples from the generation prompts
//   benchmark/<benchmark>/<family>/{executed, pass, pass_before}
//                                                the benchmark's own rule (benchmark_rules.h):
//                                                executed per test (its condition queries hold on
//                                                the unedited model), pass / pass_before per
//                                                executed test on the edited / unedited model
// Several requested rewrites (MQuAKE) give one efficacy value each; the other suites follow the
// first rewrite, as CounterFact's prompts do. An implication without target_old gives prob_gain
// and generation only.
// A suite whose prompts a record lacks contributes no values for that record.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "editlab/model/language_model.h"
#include "editlab/model/tokenizer.h"
#include "editlab/probe/record.h"
#include "editlab/probe/scoring.h"
#include "editlab/probe/suite.h"
#include "editlab/probe/suite_options.h"

namespace editlab {

// What one model state said about one record's prompts.
struct Observation {
  std::vector<TargetScore> scores;       // in the plan's order
  torch::Tensor next_logprobs;           // [K, V] float64: neighborhood prompts, then the "+" prompts
  std::vector<std::string> generations;  // implication continuations, one per implication
  std::vector<std::string> samples;      // fluency texts, one per generation prompt
  // Benchmark tests: per test, the texts their rule reads (condition queries, then test queries).
  std::vector<std::vector<std::string>> benchmark_texts;
};

class RecordProbes {
 public:
  RecordProbes(const ProbeRecord& record, const SuiteOptions& options);

  // `seed` drives the fluency samples (use the same seed before and after an edit).
  Observation observe(LanguageModel& model, const Tokenizer& tokenizer, uint64_t seed) const;

  // The observations of several records at once, their prompts scored in shared batches (what
  // observe gives each, within float rounding): `edits` (null: none) holds each record's rank-one
  // edits, applied to its own rows only (RowEdits), so that records edited independently are
  // probed together without their edits meeting. The implications' beam searches share one batch
  // too (generate_many); benchmark generations and fluency samples run per record, its edits
  // written into the weights and restored bit for bit.
  static std::vector<Observation> observe_many(std::span<const RecordProbes* const> probes, LanguageModel& model,
                                               const Tokenizer& tokenizer, std::span<const uint64_t> seeds,
                                               const std::vector<std::vector<RowEdits::Update>>* edits = nullptr);

  // {"metrics": {name: [values...]}, "details": {...}}.
  nlohmann::json metrics(const Observation& before, const Observation& after) const;

  size_t prompt_count() const { return requests_.size(); }

 private:
  // SuiteOptions::details: every probe's prompt, targets and p(target_new), p(target_true) before
  // and after ([before, after]; implications' target_old as target_true, with the generations).
  nlohmann::json probe_details(const Observation& before, const Observation& after) const;

  struct Group {
    size_t first = 0, count = 0;  // range in requests_
  };
  Group add(const std::vector<std::string>& prompts, const std::vector<std::string>& targets);
  // The beam searches and samples of observe (implications unless told not, benchmark tests,
  // fluency), and whether a record has any.
  void generate_into(Observation& o, LanguageModel& model, const Tokenizer& tokenizer, uint64_t seed,
                     bool implications) const;
  bool generates(bool implications) const;

  ProbeRecord record_;
  SuiteOptions options_;
  std::vector<ScoreRequest> requests_;
  Group rewrite_, paraphrase_, neighborhood_, plus_, loud_;
  // Per implication: the score of target_new, and of target_old when there is one.
  std::vector<std::pair<size_t, std::optional<size_t>>> implication_rows_;
  std::vector<std::string> kl_prompts_;  // neighborhood then plus prompts
  std::vector<std::string> plus_prompts_, loud_prompts_;
};

// ROME's n-gram entropy of a text: words by a simple tokenizer (runs of letters/digits, or one
// other non-space character; ROME uses nltk.word_tokenize), entropies (bits) of the 2- and
// 3-gram frequencies weighted 2/3 and 4/3, arithmetic mean.
double ngram_entropy(const std::string& text);

}  // namespace editlab
