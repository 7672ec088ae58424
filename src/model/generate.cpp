#include "editlab/model/generate.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <tuple>

#include "editlab/util/error.h"

namespace editlab {
namespace {

// Logits of the last position of every row: [B, V].
torch::Tensor step(LanguageModel& model, const torch::Tensor& ids, KVCache& cache) {
  ForwardRequest request;
  request.input_ids = ids;
  request.cache = &cache;
  const int64_t B = ids.size(0);
  request.logit_batch = torch::arange(B, torch::TensorOptions().dtype(torch::kLong).device(ids.device()));
  request.logit_position = torch::full({B}, ids.size(1) - 1, request.logit_batch.options());
  return model.forward(request).logits;
}

torch::Tensor as_tensor(const std::vector<std::vector<int64_t>>& rows, torch::Device device) {
  const int64_t B = rows.size(), T = rows[0].size();
  auto t = torch::empty({B, T}, torch::kLong);
  auto acc = t.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) std::copy(rows[b].begin(), rows[b].end(), &acc[b][0]);
  return t.to(device);
}

// Finished hypotheses of one beam search, as Hugging Face's BeamHypotheses keeps them.
struct Hypotheses {
  int64_t capacity;
  double length_penalty;
  std::vector<std::pair<double, std::vector<int64_t>>> beams;
  double worst = 1e9;

  void add(const std::vector<int64_t>& seq, double sum_logprobs) {
    const double score = sum_logprobs / std::pow(static_cast<double>(seq.size()), length_penalty);
    if (static_cast<int64_t>(beams.size()) >= capacity && score <= worst) return;
    beams.emplace_back(score, seq);
    if (static_cast<int64_t>(beams.size()) > capacity) {
      // Drop the lowest score (first one on ties, as Python's sort of (score, index) does).
      std::vector<std::pair<double, size_t>> order;
      for (size_t i = 0; i < beams.size(); ++i) order.emplace_back(beams[i].first, i);
      std::sort(order.begin(), order.end());
      beams.erase(beams.begin() + order[0].second);
      worst = order[1].first;
    } else {
      worst = std::min(score, worst);
    }
  }
  // early_stopping = false: HF's heuristic at the current length.
  bool done(double best_sum_logprobs, int64_t cur_len) const {
    if (static_cast<int64_t>(beams.size()) < capacity) return false;
    return worst >= best_sum_logprobs / std::pow(static_cast<double>(cur_len), length_penalty);
  }
  const std::pair<double, std::vector<int64_t>>& best() const {
    // Python's stable sort then pop(): the last-added among equal best scores wins.
    size_t best_index = 0;
    for (size_t i = 1; i < beams.size(); ++i) {
      if (beams[i].first >= beams[best_index].first) best_index = i;
    }
    return beams[best_index];
  }
};

bool ends_sequence(const GenerateOptions& options, int64_t token) {
  return token == options.eos_token_id || std::ranges::find(options.more_eos_token_ids, token) !=
                                              options.more_eos_token_ids.end();
}

Generation greedy(LanguageModel& model, std::vector<int64_t> seq, int64_t max_length, const GenerateOptions& options) {
  KVCache cache;
  auto device = model.device();
  auto logits = step(model, as_tensor({seq}, device), cache);  // [1, V]
  Generation out;
  while (true) {
    auto logprobs = torch::log_softmax(logits[0], -1);
    const int64_t next = logprobs.argmax().item<int64_t>();
    out.score += logprobs[next].item<double>();
    seq.push_back(next);
    if (ends_sequence(options, next) || static_cast<int64_t>(seq.size()) >= max_length) break;
    logits = step(model, torch::full({1, 1}, next, torch::TensorOptions().dtype(torch::kLong).device(device)), cache);
  }
  out.ids = std::move(seq);
  return out;
}

// One prompt's beam search inside a batch of several (generate_many).
struct BeamState {
  size_t prompt = 0;  // index into the caller's list
  int64_t limit = 0;  // max length, prompt included
  std::vector<std::vector<int64_t>> seqs;
  std::vector<double> scores;
  Hypotheses hyps;
  bool done = false;
};

// Beam search as Hugging Face runs it (generate.h), for one prompt or several: their num_beams rows
// each in one batch, the prompts left-padded (position ids come from the mask, so every row's
// logits are those it has alone), each prompt's search taken step by step on its own rows (2 *
// num_beams candidates, eos candidates in the top num_beams finish a hypothesis, HF's early-stop
// heuristic). A prompt that finishes leaves the batch. `row_edits` (optional) gives every row its
// prompt's low-rank edits.
std::vector<Generation> beam_search_many(LanguageModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                         const std::vector<int64_t>& limits, const GenerateOptions& options,
                                         const std::function<std::vector<MlpIntervention>(std::span<const size_t>)>& row_edits) {
  const int64_t nb = options.num_beams;
  auto device = model.device();
  std::vector<BeamState> states;
  size_t width = 0;
  for (size_t p = 0; p < prompts.size(); ++p) {
    states.push_back({p, limits[p], std::vector<std::vector<int64_t>>(nb, prompts[p]), {}, {nb, options.length_penalty, {}}, false});
    width = std::max(width, prompts[p].size());
  }
  // The first pass: every prompt's rows, left-padded.
  const int64_t B = static_cast<int64_t>(prompts.size()) * nb;
  auto ids = torch::full({B, static_cast<int64_t>(width)}, options.eos_token_id, torch::kLong);
  auto mask = torch::zeros({B, static_cast<int64_t>(width)}, torch::kLong);
  for (size_t p = 0; p < prompts.size(); ++p) {
    const auto n = static_cast<int64_t>(prompts[p].size());
    const auto row = torch::tensor(prompts[p], torch::kLong);
    for (int64_t b = 0; b < nb; ++b) {
      ids[static_cast<int64_t>(p) * nb + b].slice(0, static_cast<int64_t>(width) - n).copy_(row);
      mask[static_cast<int64_t>(p) * nb + b].slice(0, static_cast<int64_t>(width) - n).fill_(1);
    }
  }
  ids = ids.to(device);
  mask = mask.to(device);
  std::vector<size_t> active(prompts.size());  // positions in `states`, in batch order
  for (size_t p = 0; p < active.size(); ++p) active[p] = p;
  auto row_prompts = [&] {
    std::vector<size_t> rows;
    for (size_t a : active) rows.insert(rows.end(), static_cast<size_t>(nb), states[a].prompt);
    return rows;
  };
  KVCache cache;
  auto forward = [&](const torch::Tensor& input) {
    ForwardRequest request;
    request.input_ids = input;
    request.attention_mask = mask;
    request.cache = &cache;
    const int64_t rows = input.size(0);
    request.logit_batch = torch::arange(rows, torch::TensorOptions().dtype(torch::kLong).device(device));
    request.logit_position = torch::full({rows}, input.size(1) - 1, request.logit_batch.options());
    if (row_edits) request.interventions = row_edits(row_prompts());
    return torch::log_softmax(model.forward(request).logits, -1);
  };
  auto logprobs = forward(ids);  // [A * nb, V]
  const int64_t V = logprobs.size(1);
  for (auto& st : states) {
    st.scores.assign(nb, -1e9);
    st.scores[0] = 0;
  }
  while (!active.empty()) {
    // Each active prompt's step.
    const auto A = static_cast<int64_t>(active.size());
    // Built on the host and copied once (one element at a time on a CUDA device would be a
    // kernel launch each); the conversion to the logits' dtype rounds as an element fill does.
    std::vector<double> base_scores;
    base_scores.reserve(static_cast<size_t>(A * nb));
    for (int64_t a = 0; a < A; ++a) {
      for (int64_t b = 0; b < nb; ++b) base_scores.push_back(states[active[a]].scores[b]);
    }
    const auto base = torch::tensor(base_scores, torch::kDouble).to(logprobs.scalar_type()).to(logprobs.device());
    auto scores = (logprobs + base.unsqueeze(1)).view({A, nb * V});
    auto [top_scores, top_index] = scores.topk(2 * nb, 1);  // [A, 2 nb]
    auto top_scores_cpu = top_scores.to(torch::kCPU, torch::kDouble);
    auto top_index_cpu = top_index.to(torch::kCPU);
    std::vector<int64_t> keep_rows, next_tokens;
    std::vector<size_t> still;
    for (int64_t a = 0; a < A; ++a) {
      auto& st = states[active[a]];
      const int64_t cur_len = st.seqs[0].size();
      std::vector<double> next_scores;
      std::vector<int64_t> tokens, beams;
      for (int64_t rank = 0; rank < 2 * nb && static_cast<int64_t>(tokens.size()) < nb; ++rank) {
        const int64_t flat = top_index_cpu[a][rank].item<int64_t>();
        const int64_t token = flat % V, beam = flat / V;
        const double score = top_scores_cpu[a][rank].item<double>();
        if (ends_sequence(options, token)) {
          if (rank < nb) st.hyps.add(st.seqs[beam], score);
          continue;
        }
        next_scores.push_back(score);
        tokens.push_back(token);
        beams.push_back(beam);
      }
      st.done = st.done || st.hyps.done(top_scores_cpu[a].max().item<double>(), cur_len);
      std::vector<std::vector<int64_t>> new_seqs;
      for (int64_t i = 0; i < nb; ++i) {
        new_seqs.push_back(st.seqs[beams[i]]);
        new_seqs.back().push_back(tokens[i]);
      }
      st.seqs = std::move(new_seqs);
      // The scores stay in the logits' dtype between steps (HF's beam_scores tensor).
      const auto rounded = torch::tensor(next_scores, torch::kDouble).to(logprobs.scalar_type()).to(torch::kDouble);
      for (int64_t i = 0; i < nb; ++i) st.scores[i] = rounded[i].item<double>();
      if (st.done || static_cast<int64_t>(st.seqs[0].size()) >= st.limit) {
        if (!st.done) {
          for (int64_t i = 0; i < nb; ++i) st.hyps.add(st.seqs[i], st.scores[i]);
        }
        continue;  // leaves the batch
      }
      still.push_back(active[a]);
      for (int64_t i = 0; i < nb; ++i) {
        keep_rows.push_back(a * nb + beams[i]);
        next_tokens.push_back(tokens[i]);
      }
    }
    active = std::move(still);
    if (active.empty()) break;
    const auto select = torch::tensor(keep_rows, torch::kLong).to(device);
    cache.select(select);
    mask = torch::cat({mask.index_select(0, select), torch::ones({select.size(0), 1}, mask.options())}, 1);
    logprobs = forward(torch::tensor(next_tokens, torch::kLong).view({-1, 1}).to(device));
  }
  std::vector<Generation> out(prompts.size());
  for (auto& st : states) {
    Generation g;
    std::tie(g.score, g.ids) = st.hyps.best();
    if (static_cast<int64_t>(g.ids.size()) < st.limit) g.ids.push_back(options.eos_token_id);
    out[st.prompt] = std::move(g);
  }
  return out;
}

}  // namespace

Generation generate(LanguageModel& model, std::span<const int64_t> prompt, const GenerateOptions& options) {
  if (prompt.empty()) fail("generate: the prompt is empty");
  if (options.num_beams < 1) fail("generate: num_beams must be at least 1, found {}", options.num_beams);
  const int64_t prompt_len = prompt.size();
  const int64_t max_length =
      options.max_new_tokens ? prompt_len + *options.max_new_tokens : options.max_length.value_or(20);
  // HF generates at least one token even when the prompt already reaches max_length.
  const int64_t limit = std::max(max_length, prompt_len + 1);
  if (limit > model.shape().n_positions) {
    fail("generate: {} tokens (prompt {} + new) exceed the model's n_positions ({})", limit, prompt_len,
         model.shape().n_positions);
  }
  torch::NoGradGuard no_grad;
  std::vector<int64_t> seq(prompt.begin(), prompt.end());
  if (options.num_beams == 1) return greedy(model, std::move(seq), limit, options);
  return beam_search_many(model, {seq}, {limit}, options, {}).front();
}

std::vector<Generation> generate_many(LanguageModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                      const std::vector<int64_t>& max_lengths, const GenerateOptions& options,
                                      const RowEdits* edits) {
  if (max_lengths.size() != prompts.size()) fail("generate_many: {} prompts, {} lengths", prompts.size(), max_lengths.size());
  if (edits != nullptr && edits->group.size() != prompts.size())
    fail("generate_many: {} prompts, {} edit groups", prompts.size(), edits->group.size());
  std::vector<int64_t> limits;
  for (size_t p = 0; p < prompts.size(); ++p) {
    if (prompts[p].empty()) fail("generate: the prompt is empty");
    const int64_t limit = std::max(max_lengths[p], static_cast<int64_t>(prompts[p].size()) + 1);
    if (limit > model.shape().n_positions) {
      fail("generate: {} tokens (prompt {} + new) exceed the model's n_positions ({})", limit, prompts[p].size(),
           model.shape().n_positions);
    }
    limits.push_back(limit);
  }
  if (prompts.empty()) return {};
  torch::NoGradGuard no_grad;
  std::function<std::vector<MlpIntervention>(std::span<const size_t>)> row_edits;
  if (edits != nullptr) row_edits = [&](std::span<const size_t> rows) { return edits->interventions(rows, model.device()); };
  if (options.num_beams > 1) return beam_search_many(model, prompts, limits, options, row_edits);
  // Greedy: one prompt at a time (edits need the batch path; greedy is not used with them).
  if (edits != nullptr) fail("generate_many: greedy decoding with row edits is not supported");
  std::vector<Generation> out;
  for (size_t p = 0; p < prompts.size(); ++p) out.push_back(greedy(model, prompts[p], limits[p], options));
  return out;
}

std::vector<int64_t> sample_top_k(LanguageModel& model, std::span<const int64_t> prompt, int64_t max_length,
                                  int64_t top_k, at::Generator& generator) {
  if (prompt.empty()) fail("sample: the prompt is empty");
  if (max_length > model.shape().n_positions) {
    fail("sample: {} tokens exceed the model's n_positions ({})", max_length, model.shape().n_positions);
  }
  torch::NoGradGuard no_grad;
  std::vector<int64_t> seq(prompt.begin(), prompt.end());
  KVCache cache;
  auto ids = as_tensor({seq}, model.device());
  top_k = std::min(top_k, model.shape().vocab_size);
  while (static_cast<int64_t>(seq.size()) < max_length) {
    auto probs = torch::softmax(step(model, ids, cache).to(torch::kCPU, torch::kFloat), -1);
    auto [top_probs, top_ids] = probs.topk(top_k, -1);
    top_probs = top_probs / top_probs.sum(1, true);
    auto next = top_ids.gather(1, torch::multinomial(top_probs, 1, false, generator));  // [1, 1]
    seq.push_back(next[0][0].item<int64_t>());
    ids = next.to(model.device());
  }
  return seq;
}

}  // namespace editlab
