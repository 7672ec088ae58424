#include "editlab/edit/ft.h"

#include <chrono>

#include "editlab/edit/repr_tools.h"
#include "editlab/edit/rome.h"
#include "editlab/util/error.h"
#include "editlab/util/model_clock.h"
#include "editlab/util/steady_clock.h"
#include "editlab/model/device.h"

namespace editlab {
namespace {

// Mean loss over a batch of requests under the chosen objective (autograd through the model).
torch::Tensor batch_loss(LanguageModel& model, const Tokenizer& tok, const std::vector<EditRequest>& batch,
                         const std::string& objective) {
  const auto device = model.device();
  std::vector<std::vector<int64_t>> rows;
  std::vector<int64_t> logit_row, logit_pos, wanted, owner;
  std::vector<int64_t> n_targets;
  for (size_t r = 0; r < batch.size(); ++r) {
    auto prompt_ids = tok.encode_prompt(batch[r].sentence());
    auto target_ids = tok.encode_continuation(with_leading_space(batch[r].target_new));
    if (prompt_ids.empty()) fail("edit {}: the prompt has no tokens", batch[r].case_id);
    n_targets.push_back(target_ids.size());
    const int64_t last = static_cast<int64_t>(prompt_ids.size()) - 1;
    for (size_t j = 0; j < target_ids.size(); ++j) {
      logit_row.push_back(r);
      // nll: teacher forcing, position last + j predicts target j; rome-compat: all at `last`.
      logit_pos.push_back(objective == "nll" ? last + static_cast<int64_t>(j) : last);
      wanted.push_back(target_ids[j]);
      owner.push_back(r);
    }
    if (objective == "nll") prompt_ids.insert(prompt_ids.end(), target_ids.begin(), target_ids.end() - 1);
    rows.push_back(std::move(prompt_ids));
  }
  auto [ids, mask] = pad_right(rows, tok.eos_id(), device);
  ForwardRequest request;
  request.input_ids = ids;
  request.attention_mask = mask;
  request.logit_batch = torch::tensor(logit_row, torch::kLong).to(device);
  request.logit_position = torch::tensor(logit_pos, torch::kLong).to(device);
  auto log_probs = torch::log_softmax(model.forward(request).logits, -1);
  auto picked = log_probs.gather(1, torch::tensor(wanted, torch::kLong).to(device).unsqueeze(1)).squeeze(1);
  // Per request: mean over its target tokens; then the mean over requests.
  auto per_request = torch::zeros({static_cast<int64_t>(batch.size())}, picked.options())
                         .index_add(0, torch::tensor(owner, torch::kLong).to(device), picked);
  auto counts = torch::tensor(n_targets, torch::kDouble).to(device).to(picked.scalar_type());
  return -(per_request / counts).mean();
}

}  // namespace

EditResult apply_ft(LanguageModel& model, const Tokenizer& tok, const std::vector<EditRequest>& requests,
                    const FtHparams& hp, EditMethod method) {
  const auto start = std::chrono::steady_clock::now();
  if (method == EditMethod::rome) fail("apply_ft: ROME is not a fine-tuning method");
  if (method == EditMethod::ft_l && !hp.constrained()) {
    fail("FT-L needs \"norm_constraint\" (the L-infinity radius) in its hyperparameters");
  }
  if (method == EditMethod::ft && hp.constrained()) {
    fail(
        "the hyperparameters set norm_constraint = {}: that is FT-L (method ft-l), or set it "
        "to false for unconstrained FT",
        hp.norm_constraint);
  }
  if (requests.empty()) fail("no edit requests");
  for (const auto& r : requests) validate_edit_request(r, "edit " + r.case_id);

  EditResult edit;
  edit.method = method;
  std::vector<torch::Tensor> trainable;
  for (int64_t layer : hp.layers) {
    auto w = model.mlp_out_weight(layer);
    edit.changes.push_back({model.mlp_out_weight_name(layer), w, w.detach().clone()});
    trainable.push_back(w);
  }
  for (auto& w : trainable) w.set_requires_grad(true);
  // A bfloat16 / float16 model trains float32 master copies (Adam's small steps would round away
  // in half precision); each step writes them back into the model's weights.
  const bool half = is_half_precision(model.dtype());
  std::vector<torch::Tensor> masters;
  for (const auto& w : trainable) masters.push_back(half ? w.detach().to(torch::kFloat) : w);
  torch::optim::Adam optimizer(masters, torch::optim::AdamOptions(hp.lr).weight_decay(hp.weight_decay));
  nlohmann::json losses = nlohmann::json::array();
  int64_t steps_taken = 0;
  try {
    for (int64_t it = 0; it < hp.num_steps; ++it) {
      double loss_sum = 0;
      for (size_t begin = 0; begin < requests.size(); begin += hp.batch_size) {
        std::vector<EditRequest> batch(requests.begin() + begin,
                                       requests.begin() + std::min(requests.size(), begin + hp.batch_size));
        optimizer.zero_grad();
        auto loss = batch_loss(model, tok, batch, hp.objective);
        const double value = loss.item<double>();
        if (value >= 1e-2) {
          {
            ModelClock::Scope clock;
            loss.backward();
          }
          if (half) {
            for (size_t i = 0; i < trainable.size(); ++i) {
              masters[i].mutable_grad() = trainable[i].grad().to(torch::kFloat);
              trainable[i].mutable_grad() = torch::Tensor();
            }
          }
          optimizer.step();
          ++steps_taken;
        }
        torch::NoGradGuard no_grad;
        if (hp.constrained()) {
          for (size_t i = 0; i < masters.size(); ++i) {
            const auto w0 = edit.changes[i].original.to(masters[i].scalar_type());
            masters[i].copy_(torch::max(torch::min(masters[i], w0 + hp.norm_constraint), w0 - hp.norm_constraint));
          }
        }
        if (half) {
          for (size_t i = 0; i < masters.size(); ++i) trainable[i].copy_(masters[i]);
        }
        loss_sum += value * batch.size();
      }
      const double mean = loss_sum / requests.size();
      losses.push_back(mean);
      if (mean < 1e-2) break;
    }
  } catch (...) {
    for (auto& w : trainable) w.set_requires_grad(false);
    undo(edit);
    throw;
  }
  for (auto& w : trainable) {
    w.set_requires_grad(false);
    w.mutable_grad() = torch::Tensor();
  }
  double max_change = 0;
  for (const auto& c : edit.changes)
    max_change = std::max(max_change, (c.weight - c.original).abs().max().item<double>());
  edit.diagnostics = {{"losses", losses},
                      {"optimizer_steps", steps_taken},
                      {"objective", hp.objective},
                      {"max_abs_weight_change", max_change},
                      {"requests", requests.size()}};
  edit.seconds = seconds_since(start);
  return edit;
}

}  // namespace editlab
