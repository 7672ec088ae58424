#include "editlab/model/generate.h"

#include <algorithm>
#include <cmath>
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

Generation beam_search(LanguageModel& model, const std::vector<int64_t>& prompt, const GenerateOptions& options,
                       int64_t max_length) {
  const int64_t nb = options.num_beams;
  const int64_t eos = options.eos_token_id;
  auto device = model.device();
  std::vector<std::vector<int64_t>> seqs(nb, prompt);
  KVCache cache;
  auto logits = step(model, as_tensor(seqs, device), cache);  // [nb, V]
  const int64_t V = logits.size(1);
  auto beam_scores = torch::zeros({nb}, logits.options());
  beam_scores.slice(0, 1).fill_(-1e9);
  Hypotheses hyps{nb, options.length_penalty, {}};
  bool done = false;
  while (true) {
    const int64_t cur_len = seqs[0].size();
    auto scores = torch::log_softmax(logits, -1) + beam_scores.unsqueeze(1);  // [nb, V]
    auto [top_scores, top_index] = scores.view({-1}).topk(2 * nb);            // [2 nb]
    auto top_scores_cpu = top_scores.to(torch::kCPU, torch::kDouble);
    auto top_index_cpu = top_index.to(torch::kCPU);
    std::vector<double> next_scores;
    std::vector<int64_t> next_tokens, next_beams;
    for (int64_t rank = 0; rank < 2 * nb && static_cast<int64_t>(next_tokens.size()) < nb; ++rank) {
      const int64_t flat = top_index_cpu[rank].item<int64_t>();
      const int64_t token = flat % V, beam = flat / V;
      const double score = top_scores_cpu[rank].item<double>();
      if (ends_sequence(options, token)) {
        if (rank < nb) hyps.add(seqs[beam], score);  // eos outside the top nb is not added
        continue;
      }
      next_scores.push_back(score);
      next_tokens.push_back(token);
      next_beams.push_back(beam);
    }
    done = done || hyps.done(top_scores_cpu.max().item<double>(), cur_len);
    std::vector<std::vector<int64_t>> new_seqs;
    for (int64_t i = 0; i < nb; ++i) {
      new_seqs.push_back(seqs[next_beams[i]]);
      new_seqs.back().push_back(next_tokens[i]);
    }
    seqs = std::move(new_seqs);
    beam_scores = torch::tensor(next_scores, torch::kDouble).to(logits.options());
    cache.select(torch::tensor(next_beams, torch::kLong).to(device));
    if (done || static_cast<int64_t>(seqs[0].size()) >= max_length) break;
    auto last = torch::tensor(next_tokens, torch::kLong).view({nb, 1}).to(device);
    logits = step(model, last, cache);
  }
  if (!done) {
    auto final_scores = beam_scores.to(torch::kCPU, torch::kDouble);
    for (int64_t i = 0; i < nb; ++i) hyps.add(seqs[i], final_scores[i].item<double>());
  }
  Generation out;
  std::tie(out.score, out.ids) = hyps.best();
  if (static_cast<int64_t>(out.ids.size()) < max_length) out.ids.push_back(eos);
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
  return beam_search(model, seq, options, limit);
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
