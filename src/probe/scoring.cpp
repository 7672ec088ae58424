#include "editlab/probe/scoring.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "editlab/util/error.h"

namespace editlab {
namespace {

// One right-padded batch of token rows, the (row, position) pairs whose logits are wanted,
// and for each such pair the token it must predict (or -1).
struct Batch {
  std::vector<size_t> items;  // indices into the caller's list
  torch::Tensor ids, mask;    // [B, T]
};

std::vector<std::vector<size_t>> plan_batches(const std::vector<size_t>& lengths, int64_t max_batch_tokens) {
  // Sort by length (stable, so the plan is deterministic) to keep padding small.
  std::vector<size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
  std::vector<std::vector<size_t>> batches;
  std::vector<size_t> current;
  for (size_t index : order) {
    const size_t width = std::max(lengths[index], current.empty() ? 0 : lengths[current.back()]);
    if (!current.empty() && static_cast<int64_t>(width * (current.size() + 1)) > max_batch_tokens) {
      batches.push_back(std::move(current));
      current.clear();
    }
    current.push_back(index);
  }
  if (!current.empty()) batches.push_back(std::move(current));
  return batches;
}

Batch make_batch(const std::vector<std::vector<int64_t>>& rows, std::vector<size_t> items, int64_t pad_id,
                 torch::Device device) {
  size_t width = 0;
  for (size_t i : items) width = std::max(width, rows[i].size());
  const int64_t B = items.size();
  auto ids = torch::full({B, static_cast<int64_t>(width)}, pad_id, torch::kLong);
  auto mask = torch::zeros({B, static_cast<int64_t>(width)}, torch::kLong);
  auto ids_acc = ids.accessor<int64_t, 2>();
  auto mask_acc = mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& row = rows[items[b]];
    for (size_t t = 0; t < row.size(); ++t) {
      ids_acc[b][t] = row[t];
      mask_acc[b][t] = 1;
    }
  }
  return {std::move(items), ids.to(device), mask.to(device)};
}

int64_t pad_id_of(const Tokenizer& tokenizer) {
  auto eos = tokenizer.token_id("<|endoftext|>");
  return eos.value_or(0);
}

}  // namespace

std::vector<TargetScore> score_targets(LanguageModel& model, const Tokenizer& tokenizer,
                                       std::span<const ScoreRequest> requests, const ScoringOptions& options,
                                       const RowEdits* edits) {
  std::vector<TargetScore> scores(requests.size());
  std::vector<std::vector<int64_t>> rows(requests.size());
  std::vector<size_t> lengths(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    auto& s = scores[i];
    s.prefix_ids = tokenizer.encode_prompt(requests[i].prefix);
    s.target_ids = tokenizer.encode_continuation(" " + requests[i].target);
    if (s.prefix_ids.empty()) fail("score: the prefix is empty (target \"{}\")", requests[i].target);
    if (requests[i].target.empty()) fail("score: the target is empty (prefix \"{}\")", requests[i].prefix);
    // The model reads prefix + all target tokens but the last.
    rows[i] = s.prefix_ids;
    rows[i].insert(rows[i].end(), s.target_ids.begin(), s.target_ids.end() - 1);
    lengths[i] = rows[i].size();
    if (static_cast<int64_t>(lengths[i]) > model.shape().n_positions) {
      fail("score: prefix + target is {} tokens, longer than the model's n_positions ({}): \"{}\"", lengths[i],
           model.shape().n_positions, requests[i].prefix);
    }
  }
  torch::NoGradGuard no_grad;
  for (auto& items : plan_batches(lengths, options.max_batch_tokens)) {
    Batch batch = make_batch(rows, std::move(items), pad_id_of(tokenizer), model.device());
    std::vector<int64_t> logit_row, logit_pos, wanted;
    for (size_t b = 0; b < batch.items.size(); ++b) {
      const auto& s = scores[batch.items[b]];
      for (size_t j = 0; j < s.target_ids.size(); ++j) {
        logit_row.push_back(b);
        logit_pos.push_back(s.prefix_ids.size() - 1 + j);
        wanted.push_back(s.target_ids[j]);
      }
    }
    ForwardRequest request;
    request.input_ids = batch.ids;
    request.attention_mask = batch.mask;
    request.logit_batch = torch::tensor(logit_row, torch::kLong).to(model.device());
    request.logit_position = torch::tensor(logit_pos, torch::kLong).to(model.device());
    if (edits != nullptr) request.interventions = edits->interventions(batch.items, model.device());
    auto logprobs = torch::log_softmax(model.forward(request).logits, -1);  // [N, V]
    auto wanted_t = torch::tensor(wanted, torch::kLong).to(model.device());
    auto picked = logprobs.gather(1, wanted_t.unsqueeze(1)).squeeze(1).to(torch::kCPU, torch::kDouble);
    auto is_argmax = (logprobs.argmax(1) == wanted_t).to(torch::kCPU);
    auto picked_acc = picked.accessor<double, 1>();
    auto argmax_acc = is_argmax.accessor<bool, 1>();
    size_t n = 0;
    for (size_t index : batch.items) {
      auto& s = scores[index];
      s.greedy_correct = true;
      double total = 0;
      for (size_t j = 0; j < s.target_ids.size(); ++j, ++n) {
        s.token_logprobs.push_back(picked_acc[n]);
        total += picked_acc[n];
        s.greedy_correct = s.greedy_correct && argmax_acc[n];
      }
      s.nll = -total / static_cast<double>(s.target_ids.size());
    }
  }
  return scores;
}

torch::Tensor next_token_logprobs(LanguageModel& model, const Tokenizer& tokenizer,
                                  std::span<const std::string> prefixes, const ScoringOptions& options,
                                  const RowEdits* edits) {
  std::vector<std::vector<int64_t>> rows;
  std::vector<size_t> lengths;
  for (const auto& prefix : prefixes) {
    rows.push_back(tokenizer.encode_prompt(prefix));
    if (rows.back().empty()) fail("next-token distribution: empty prefix");
    lengths.push_back(rows.back().size());
  }
  auto out = torch::empty({static_cast<int64_t>(prefixes.size()), model.shape().vocab_size}, torch::kDouble);
  torch::NoGradGuard no_grad;
  for (auto& items : plan_batches(lengths, options.max_batch_tokens)) {
    Batch batch = make_batch(rows, std::move(items), pad_id_of(tokenizer), model.device());
    std::vector<int64_t> logit_row, logit_pos;
    for (size_t b = 0; b < batch.items.size(); ++b) {
      logit_row.push_back(b);
      logit_pos.push_back(lengths[batch.items[b]] - 1);
    }
    ForwardRequest request;
    request.input_ids = batch.ids;
    request.attention_mask = batch.mask;
    request.logit_batch = torch::tensor(logit_row, torch::kLong).to(model.device());
    request.logit_position = torch::tensor(logit_pos, torch::kLong).to(model.device());
    if (edits != nullptr) request.interventions = edits->interventions(batch.items, model.device());
    auto logprobs = torch::log_softmax(model.forward(request).logits, -1).to(torch::kCPU, torch::kDouble);
    for (size_t b = 0; b < batch.items.size(); ++b) out[batch.items[b]].copy_(logprobs[b]);
  }
  return out;
}

}  // namespace editlab
