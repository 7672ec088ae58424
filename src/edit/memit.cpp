#include "editlab/edit/memit.h"

#include <algorithm>
#include <chrono>

#include "editlab/edit/repr_tools.h"
#include "editlab/model/device.h"
#include "editlab/util/error.h"
#include "editlab/util/steady_clock.h"

namespace editlab {
namespace {

// Rows per forward pass when reading keys: 1,000 requests x 6 templates stay within memory.
constexpr size_t kRowsPerPass = 128;

torch::Tensor as_float64(const torch::Tensor& t) { return t.to(torch::kFloat64); }

}  // namespace

torch::Tensor AlphaEditMemory::preserved(int64_t layer, int64_t d_mlp, torch::Device device) const {
  auto out = torch::zeros({d_mlp, d_mlp}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
  auto it = keys.find(layer);
  if (it == keys.end()) return out;
  for (const auto& k : it->second) out.addmm_(k, k.t());  // cache_c += K K^T, batch by batch as the reference
  return out;
}

std::pair<torch::Tensor, torch::Tensor> memit_keys_and_outputs(LanguageModel& model, const Tokenizer& tok,
                                                               const std::vector<EditRequest>& requests,
                                                               const MemitHparams& hp,
                                                               const std::vector<std::string>& templates,
                                                               int64_t layer, int64_t z_layer) {
  if (layer > z_layer) fail("MEMIT: edit layer {} is above the layer of z ({})", layer, z_layer);
  const auto bare = std::find(templates.begin(), templates.end(), "{}");
  if (bare == templates.end()) fail("MEMIT's context templates must include \"{{}}\" (the bare prompt)");
  const size_t bare_index = bare - templates.begin();
  const size_t T = templates.size();
  std::vector<std::vector<int64_t>> rows;
  std::vector<int64_t> index;
  for (const auto& r : requests) {
    for (const auto& t : templates) {
      auto located = locate_subject(tok, fill_braces(t, r.prompt), r.subject, hp.fact_token);
      rows.push_back(std::move(located.ids));
      index.push_back(located.index);
    }
  }
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> keys, outputs;
  for (size_t begin = 0; begin < rows.size(); begin += kRowsPerPass) {
    const size_t end = std::min(rows.size(), begin + kRowsPerPass);
    std::vector<std::vector<int64_t>> chunk(rows.begin() + begin, rows.begin() + end);
    std::vector<int64_t> where(index.begin() + begin, index.begin() + end);
    auto [ids, mask] = pad_right(chunk, tok.eos_id(), model.device());
    auto batch = torch::arange(static_cast<int64_t>(chunk.size()), torch::kLong).to(model.device());
    auto position = torch::tensor(where, torch::kLong).to(model.device());
    ForwardRequest request;
    request.input_ids = ids;
    request.attention_mask = mask;
    request.last_layer = z_layer;  // hidden: the block output of z_layer
    request.interventions.push_back({layer, batch, position, /*capture_key=*/true, false, {}, {}});
    auto result = model.forward(request);
    keys.push_back(as_float64(result.captures[0].key));
    outputs.push_back(as_float64(result.hidden.index({batch, position})));
  }
  auto all_keys = torch::cat(keys).view({static_cast<int64_t>(requests.size()), static_cast<int64_t>(T), -1});
  auto all_out = torch::cat(outputs).view({static_cast<int64_t>(requests.size()), static_cast<int64_t>(T), -1});
  // compute_ks: the mean of each context type ("{}", the sampled templates), then their mean.
  std::vector<int64_t> plain, sampled;
  for (size_t t = 0; t < T; ++t) (templates[t] == "{}" ? plain : sampled).push_back(static_cast<int64_t>(t));
  const auto device = all_keys.device();
  auto k = all_keys.index_select(1, torch::tensor(plain, torch::kLong).to(device)).mean(1);
  if (!sampled.empty()) {
    auto ks = all_keys.index_select(1, torch::tensor(sampled, torch::kLong).to(device)).mean(1);
    k = (k + ks) / 2;
  }
  auto z = all_out.select(1, static_cast<int64_t>(bare_index));  // [N, C]
  return {k.t().contiguous(), z.t().contiguous()};
}

torch::Tensor null_space_projection(const torch::Tensor& moment, double threshold) {
  auto c = moment.to(torch::kFloat64);
  auto [values, vectors] = torch::linalg_eigh(c);
  auto small = torch::nonzero(values.abs() < threshold).squeeze(1);
  auto u = vectors.index_select(1, small);  // [M, s]
  return torch::matmul(u, u.t());
}

EditResult apply_memit(LanguageModel& model, const Tokenizer& tok, const std::vector<EditRequest>& requests,
                       const MemitHparams& hp, EditMethod method, const MemitResources& resources,
                       const std::shared_ptr<AlphaEditMemory>& memory) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  if (!is_batch_method(method)) fail("apply_memit: {} is not MEMIT, EMMET or AlphaEdit", method_name(method));
  if (requests.empty()) fail("{}: no edit request", method_name(method));
  if (method == EditMethod::alphaedit && !memory) fail("AlphaEdit needs its memory of earlier edits");
  for (const auto& r : requests) validate_edit_request(r, "edit " + r.case_id);
  const int64_t z_layer = hp.layers.back();
  const int64_t M = model.shape().d_mlp;
  const auto device = model.device();
  const int64_t N = requests.size();

  // z for every request on the unedited model: the block output of z_layer that makes the target likely.
  nlohmann::json z_diagnostics = nlohmann::json::array();
  std::vector<torch::Tensor> z_list;
  for (const auto& r : requests) {
    auto t = optimize_target(model, tok, r, hp, z_layer, Site::kBlock, resources.context_templates, resources.v_pass);
    z_list.push_back(as_float64(t.target));
    t.diagnostics["case_id"] = r.case_id;
    z_diagnostics.push_back(std::move(t.diagnostics));
  }
  const auto z = torch::stack(z_list, 1);  // [C, N]
  const double z_seconds = seconds_since(start);

  EditResult edit;
  edit.method = method;
  nlohmann::json per_layer = nlohmann::json::array();
  const int64_t n_layers = hp.layers.size();
  for (int64_t i = 0; i < n_layers; ++i) {
    const int64_t layer = hp.layers[i];
    auto weight = model.mlp_out_weight(layer);  // [M, C]
    auto [k, current] = memit_keys_and_outputs(model, tok, requests, hp, resources.context_templates, layer, z_layer);
    const auto resid = (z - current) / static_cast<double>(n_layers - i);  // [C, N]
    torch::Tensor delta;                                                     // [M, C]
    torch::NoGradGuard no_grad;
    if (method == EditMethod::alphaedit) {
      const auto& p = resources.projection.at(layer);
      auto lhs = torch::matmul(p, torch::matmul(k, k.t()) + memory->preserved(layer, M, device)) +
                 hp.L2 * torch::eye(M, k.options());
      delta = torch::linalg_solve(lhs, torch::matmul(p, torch::matmul(k, resid.t())));
    } else {
      const auto& c = resources.moment.at(layer);
      if (method == EditMethod::memit) {
        auto adj_k = torch::linalg_solve(hp.mom2_update_weight * c + torch::matmul(k, k.t()), k);  // [M, N]
        delta = torch::matmul(adj_k, resid.t());
      } else {  // EMMET
        auto c_prime = hp.mom2_update_weight * c;
        if (hp.update_norm_lambda != 0) c_prime = c_prime + hp.update_norm_lambda * torch::eye(M, c.options());
        auto c_inv = torch::inverse(c_prime);
        auto d = torch::matmul(k.t(), torch::matmul(c_inv, k));  // [N, N]
        if (N > 1) d = d + hp.emmet_lambda * torch::eye(N, d.options());
        auto adj_k = torch::matmul(torch::inverse(d), torch::matmul(k.t(), c_inv)).t();  // [M, N]
        delta = torch::matmul(adj_k, resid.t());
      }
    }
    edit.changes.push_back({model.mlp_out_weight_name(layer), weight, weight.clone()});
    weight.add_(delta.to(weight.scalar_type()));
    per_layer.push_back({{"layer", layer},
                         {"z_error", torch::linalg_vector_norm(z - current, 2, {0}).mean().item<double>()},
                         {"weight_norm", weight.norm().item<double>()},
                         {"update_norm", delta.norm().item<double>()}});
  }
  if (method == EditMethod::alphaedit) {
    // As the reference: the batch's keys, recomputed on the edited model, join the memory.
    for (int64_t layer : hp.layers) {
      auto [k, unused] = memit_keys_and_outputs(model, tok, requests, hp, resources.context_templates, layer, z_layer);
      memory->keys[layer].push_back(k);
    }
    std::weak_ptr<AlphaEditMemory> weak = memory;
    const auto layers = hp.layers;
    edit.on_undo = [weak, layers] {
      if (auto m = weak.lock()) {
        for (int64_t layer : layers) {
          auto& list = m->keys[layer];
          if (!list.empty()) list.pop_back();
        }
      }
    };
  }
  edit.diagnostics = {{"requests", N},
                      {"z_layer", z_layer},
                      {"z", z_diagnostics},
                      {"layers", per_layer},
                      {"seconds", {{"z", z_seconds}, {"total", seconds_since(start)}}}};
  edit.seconds = seconds_since(start);
  return edit;
}

}  // namespace editlab
