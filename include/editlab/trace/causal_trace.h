// Causal tracing (Meng et al. 2022, "Locating and Editing Factual Associations in GPT", section 2;
// kmeng01/rome experiments/causal_trace.py): where in the network does the model recall a fact?
//
//   clean run       the prompt as it is; p_clean = p(answer) at the last position.
//   corrupted runs  Gaussian noise, std = noise_level x embedding_std, added to the token
//                   embeddings (wte's output, before the position embeddings) of the subject's
//                   tokens; `samples` seeded draws; p_corrupt = the mean of p(answer) over draws.
//   restoration     for every token t, layer l and kind, the clean value of one internal state is
//                   patched into every corrupted draw: `hidden` the residual stream after block l,
//                   `mlp` / `attn` the MLP / attention outputs of the layers of a window centred on
//                   l ([l - w/2, l + ceil(w/2)) clipped to the model, as the reference computes it).
//                   p_restored(t, l) = the mean over draws; indirect effect IE = p_restored - p_corrupt.
//
// The same draws serve every cell of a prompt (as in the reference, whose noise generator is reset
// for each patched run), so cells differ only by what is restored. Batched: one forward per
// (kind, layer) holds every (token, draw); it starts at the window's first layer from the
// corrupted run's residual stream, and reuses the corrupted keys and values of the tokens before
// the subject, which no patch can change (their cells are p_corrupt exactly).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "editlab/model/language_model.h"
#include "editlab/model/tokenizer.h"

namespace editlab {

enum class TraceKind { kHidden, kMlp, kAttn };

std::string_view trace_kind_name(TraceKind kind);   // "hidden", "mlp", "attn"
TraceKind parse_trace_kind(std::string_view name);  // fails on anything else

// The reference's window of 10 layers for GPT-2 XL's 48, scaled to the model: max(1, round(10 L / 48)).
int64_t default_trace_window(int64_t n_layer);

struct TraceOptions {
  std::vector<TraceKind> kinds{TraceKind::kHidden, TraceKind::kMlp, TraceKind::kAttn};
  int64_t samples = 10;      // noise draws per prompt
  double noise_level = 3.0;  // noise std in units of embedding_std
  double embedding_std = 0;  // std of the subjects' token embeddings (subject_embedding_std)
  int64_t window = 0;        // mlp / attn window in layers; 0 = default_trace_window
};

struct TraceInput {
  std::string case_id;  // a name for reports ("" for a single prompt)
  std::string prompt;   // with the subject in it, e.g. "The Louvre is located in"
  std::string subject;  // its first occurrence in `prompt` is corrupted
  // The first token of " " + answer is the one traced; empty: the clean run's top-1 token.
  std::string answer;
};

struct PromptTrace {
  TraceInput input;
  std::vector<int64_t> ids;                    // the prompt's tokens
  int64_t subject_begin = 0, subject_end = 0;  // subject tokens [begin, end)
  int64_t answer_id = 0;
  int64_t predicted_id = 0;  // the clean run's top-1 token at the last position
  double p_clean = 0, p_corrupt = 0;
  std::vector<TraceKind> kinds;
  std::vector<torch::Tensor> restored;  // per kind, [T, L] float64 p_restored
};

// Standard deviation of all token-embedding entries of the subjects' tokens (each subject
// tokenized alone, as the reference's collect_embedding_std does).
double subject_embedding_std(LanguageModel& model, const Tokenizer& tokenizer,
                             const std::vector<std::string>& subjects);

class CausalTracer {
 public:
  CausalTracer(LanguageModel& model, const Tokenizer& tokenizer, TraceOptions options);

  const TraceOptions& options() const { return options_; }
  int64_t window() const { return window_; }
  // Forward passes trace() makes for a prompt (for progress): one per kind and layer.
  int64_t forwards_per_prompt() const;

  // Traces one prompt; `seed` chooses its noise draws. `on_forward` is called after each
  // batched forward.
  PromptTrace trace(const TraceInput& input, uint64_t seed, const std::function<void()>& on_forward = {}) const;

  // One cell computed directly, without batching or shortcuts: all draws corrupted from the
  // embeddings up, the cell's states patched, every layer run. For tests of trace().
  double restored_cell(const TraceInput& input, uint64_t seed, TraceKind kind, int64_t token, int64_t layer) const;

  // The layers [first, end) whose states a cell of `layer` restores for `kind`.
  std::pair<int64_t, int64_t> window_layers(TraceKind kind, int64_t layer) const;

 private:
  struct Prepared;
  Prepared prepare(const TraceInput& input, uint64_t seed) const;

  LanguageModel& model_;
  const Tokenizer& tokenizer_;
  TraceOptions options_;
  int64_t window_ = 1;
};

// ---- averages over prompts (the reference's notebooks/average_causal_effects) ----

// ROME's six token groups: the subject's first token, its middle tokens (each one counted), its
// last token, the first token after the subject, the further tokens (each counted) before the
// last one, and the prompt's last token. A one-token subject is its first and last token; a
// subject followed by one token has that token as both first subsequent and last.
inline constexpr std::array<std::string_view, 6> kTraceGroups = {"first_subject",    "middle_subject", "last_subject",
                                                                 "first_subsequent", "further",        "last"};

struct KindSummary {
  TraceKind kind = TraceKind::kHidden;
  std::array<std::vector<double>, kTraceGroups.size()> mean_ie;  // per group, [L]: mean IE
  std::array<int64_t, kTraceGroups.size()> rows{};               // token rows averaged per group
  // Where the last subject token's mean IE peaks, and the last token's mean IE in that layer.
  int64_t peak_layer = 0;
  double peak_ie = 0, last_token_ie_at_peak = 0;
};

struct TraceSummary {
  int64_t prompts = 0;
  int64_t averaged = 0;  // prompts in the averages
  bool include_unknown = false;
  double p_clean_mean = 0, p_corrupt_mean = 0;  // over the averaged prompts
  std::vector<KindSummary> kinds;
};

// True when the clean run's top-1 token is the answer's first token (the reference's "known" facts).
inline bool known(const PromptTrace& t) { return t.predicted_id == t.answer_id; }

// Averages the IE of the known prompts (all prompts with include_unknown); fails when none is left.
TraceSummary summarize_traces(const std::vector<PromptTrace>& traces, bool include_unknown);

nlohmann::json prompt_trace_json(const PromptTrace& trace, const Tokenizer& tokenizer);
nlohmann::json trace_summary_json(const TraceSummary& summary);

}  // namespace editlab
