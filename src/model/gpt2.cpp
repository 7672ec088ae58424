#include "editlab/model/gpt2.h"
#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)

#include <cmath>
#include <map>

#include "editlab/util/error.h"
#include "editlab/util/model_clock.h"
#include "editlab/model/device.h"

namespace editlab {
namespace {

torch::Tensor uninitialized(std::vector<int64_t> shape) {
  // Large uninitialised allocations are not touched until loading replaces them, so a model
  // costs no memory beyond its weights.
  return torch::empty(shape);
}

}  // namespace

void KVCache::select(const torch::Tensor& batch_index) {
  for (auto& k : keys) k = k.index_select(0, batch_index);
  for (auto& v : values) v = v.index_select(0, batch_index);
}

torch::Tensor positions_from_mask(const torch::Tensor& attention_mask) {
  auto mask = attention_mask.to(torch::kLong);
  return (mask.cumsum(-1) - 1).clamp_min(0);  // [B, P+T]
}

// ---- building blocks ----

Conv1DImpl::Conv1DImpl(int64_t in, int64_t out) {
  weight = register_parameter("weight", uninitialized({in, out}), /*requires_grad=*/false);
  bias = register_parameter("bias", uninitialized({out}), /*requires_grad=*/false);
}

torch::Tensor Conv1DImpl::forward(const torch::Tensor& x) {
  auto out_shape = x.sizes().vec();
  out_shape.back() = weight.size(1);
  return torch::addmm(bias, x.reshape({-1, x.size(-1)}), weight).view(out_shape);
}

LayerNormImpl::LayerNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", uninitialized({dim}), false);
  bias = register_parameter("bias", uninitialized({dim}), false);
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  return torch::layer_norm(x, {weight.size(0)}, weight, bias, eps);
}

AttentionImpl::AttentionImpl(const GPT2Config& config, int64_t layer_index)
    : n_head(config.n_head), head_dim(config.head_dim()) {
  c_attn = register_module("c_attn", Conv1D(config.n_embd, 3 * config.n_embd));
  c_proj = register_module("c_proj", Conv1D(config.n_embd, config.n_embd));
  scale = 1.0;
  if (config.scale_attn_weights) scale /= std::sqrt(static_cast<double>(head_dim));
  if (config.scale_attn_by_inverse_layer_idx) scale /= static_cast<double>(layer_index + 1);
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& allowed, torch::Tensor* past_k,
                                     torch::Tensor* past_v) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  auto qkv = c_attn(x).split(C, /*dim=*/-1);  // 3 x [B, T, C]
  auto heads = [&](const torch::Tensor& t) {
    return t.view({B, T, n_head, head_dim}).transpose(1, 2);  // [B, H, T, D]
  };
  auto q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]);
  if (past_k != nullptr) {
    if (past_k->defined()) {
      k = torch::cat({*past_k, k}, 2);  // [B, H, P+T, D]
      v = torch::cat({*past_v, v}, 2);
    }
    *past_k = k;
    *past_v = v;
  }
  // bfloat16 / float16: the scores and their softmax in float32.
  const bool upcast = is_half_precision(q.scalar_type());
  auto scores = upcast ? torch::matmul(q.to(torch::kFloat), k.to(torch::kFloat).transpose(-1, -2))
                       : torch::matmul(q, k.transpose(-1, -2));  // [B, H, T, P+T]
  if (scale != 1.0) scores = scores * scale;
  auto lowest = std::numeric_limits<float>::lowest();
  if (scores.scalar_type() == torch::kDouble) lowest = std::numeric_limits<double>::lowest();
  scores = scores.masked_fill(allowed.logical_not(), lowest);
  auto probs = torch::softmax(scores, -1).to(v.scalar_type());
  auto out = torch::matmul(probs, v).transpose(1, 2).reshape({B, T, C});  // [B, T, C]
  return c_proj(out);
}

MLPImpl::MLPImpl(const GPT2Config& config) : activation_function(config.activation_function) {
  c_fc = register_module("c_fc", Conv1D(config.n_embd, config.d_mlp()));
  c_proj = register_module("c_proj", Conv1D(config.d_mlp(), config.n_embd));
}

torch::Tensor MLPImpl::activation(const torch::Tensor& x) const {
  // gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), which is torch's tanh-gelu.
  if (activation_function == "gelu_new" || activation_function == "gelu_pytorch_tanh") {
    return torch::gelu(x, "tanh");
  }
  if (activation_function == "gelu") return torch::gelu(x);
  if (activation_function == "relu") return torch::relu(x);
  return torch::silu(x);  // "silu" / "swish"; config parsing rejects everything else
}

BlockImpl::BlockImpl(const GPT2Config& config, int64_t layer_index) {
  ln_1 = register_module("ln_1", LayerNorm(config.n_embd, config.layer_norm_epsilon));
  attn = register_module("attn", Attention(config, layer_index));
  ln_2 = register_module("ln_2", LayerNorm(config.n_embd, config.layer_norm_epsilon));
  mlp = register_module("mlp", MLP(config));
}

// ---- the model ----

GPT2::GPT2(const GPT2Config& config) : config_(config) {
  shape_ = ModelShape{config.n_layer, config.n_embd, config.d_mlp(), config.vocab_size, config.n_positions};
  wte = register_module("wte", torch::nn::Embedding(torch::nn::EmbeddingOptions(config.vocab_size, config.n_embd)
                                                        ._weight(uninitialized({config.vocab_size, config.n_embd}))));
  wpe = register_module("wpe", torch::nn::Embedding(torch::nn::EmbeddingOptions(config.n_positions, config.n_embd)
                                                        ._weight(uninitialized({config.n_positions, config.n_embd}))));
  h = register_module("h", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.n_layer; ++i) {
    blocks_.push_back(Block(config, i));
    h->push_back(blocks_.back());
  }
  ln_f = register_module("ln_f", LayerNorm(config.n_embd, config.layer_norm_epsilon));
  for (auto& p : torch::nn::Module::parameters()) p.set_requires_grad(false);
}

void GPT2::init_random(uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const double residual_std = 0.02 / std::sqrt(2.0 * config_.n_layer);
  for (auto& [name, p] : parameters_by_name()) {
    auto ends_with = [&](std::string_view s) {
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    const bool norm = name.find("ln_") != std::string::npos;
    torch::Tensor value;
    if (norm) {
      value = ends_with(".weight") ? torch::ones(p.sizes()) : torch::zeros(p.sizes());
    } else if (ends_with(".bias")) {
      value = torch::zeros(p.sizes());
    } else {
      const double std = ends_with("c_proj.weight") ? residual_std : 0.02;
      value = torch::randn(p.sizes(), gen) * std;
    }
    p.set_data(value.to(p.options()));
  }
}

void GPT2::set_parameter(const std::string& name, const torch::Tensor& value) {
  auto params = torch::nn::Module::named_parameters(/*recurse=*/true);
  auto* p = params.find(name);
  if (p == nullptr) fail("unknown GPT-2 parameter \"{}\"", name);
  if (p->sizes() != value.sizes()) {
    fail("parameter \"{}\": expected shape {}, found {}", name, fmt::join(p->sizes(), "x"),
         fmt::join(value.sizes(), "x"));
  }
  p->set_data(value);
}

torch::Tensor GPT2::mlp_out_weight(int64_t layer) {
  if (layer < 0 || layer >= config_.n_layer) {
    fail("layer {} is out of range (the model has layers 0..{})", layer, config_.n_layer - 1);
  }
  return blocks_[layer]->mlp->c_proj->weight;  // [M, C]
}

std::string GPT2::mlp_out_weight_name(int64_t layer) const { return fmt::format("h.{}.mlp.c_proj.weight", layer); }

torch::Tensor GPT2::embed_tokens(const torch::Tensor& ids) { return wte(ids); }

std::vector<std::pair<std::string, torch::Tensor>> GPT2::parameters_by_name() {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : torch::nn::Module::named_parameters(true)) {
    out.emplace_back(item.key(), item.value());
  }
  return out;
}

torch::Device GPT2::device() const { return wte->weight.device(); }
torch::ScalarType GPT2::dtype() const { return wte->weight.scalar_type(); }

torch::Tensor GPT2::run_block(int64_t layer, torch::Tensor x, const torch::Tensor& allowed,
                              const ForwardRequest& request, ForwardResult& result) {
  auto& block = blocks_[layer];
  torch::Tensor* past_k = nullptr;
  torch::Tensor* past_v = nullptr;
  if (request.cache != nullptr) {
    past_k = &request.cache->keys[layer];
    past_v = &request.cache->values[layer];
  }
  auto attn = apply_site_patches(Site::kAttention, layer, block->attn->forward(block->ln_1(x), allowed, past_k, past_v),
                         request);  // [B, T, C]
  auto hidden = x + attn;
  auto key = block->mlp->activation(block->mlp->c_fc(block->ln_2(hidden)));  // [B, T, M]
  auto value = block->mlp->c_proj(key);                                      // [B, T, C]
  value = apply_mlp_interventions(layer, key, value, request, result);
  value = apply_site_patches(Site::kMlp, layer, value, request);
  auto out = apply_site_patches(Site::kBlock, layer, hidden + value, request);
  if (request.capture_sites) record_sites(result, layer, x, attn, value, out);
  return out;
}

torch::Tensor apply_site_patches(Site site, int64_t layer, torch::Tensor x, const ForwardRequest& request) {
  for (const auto& p : request.patches) {
    if (p.site != site || p.layer != layer) continue;
    if (p.add) {
      // In x's dtype, as an MLP intervention's add_value (its gradient reaches a float32 delta).
      auto add = p.value.to(x.scalar_type()).expand({p.batch.size(0), x.size(-1)});
      x = x.index_put({p.batch, p.position}, add, /*accumulate=*/true);
    } else {
      x = x.index_put({p.batch, p.position}, p.value);
    }
  }
  return x;
}

void record_sites(ForwardResult& result, int64_t layer, const torch::Tensor& block_in, const torch::Tensor& attention,
                  const torch::Tensor& mlp, const torch::Tensor& block) {
  result.sites.block_in[layer] = block_in;
  result.sites.attention[layer] = attention;
  result.sites.mlp[layer] = mlp;
  result.sites.block[layer] = block;
}

torch::Tensor float_logits(const torch::Tensor& logits) {
  return is_half_precision(logits.scalar_type()) ? logits.to(torch::kFloat) : logits;
}

ForwardFrame begin_forward(const ForwardRequest& request, int64_t n_layer, int64_t n_positions,
                           const char* positions_key, std::optional<int64_t> sliding_window) {
  const auto& ids = request.input_ids;
  if (!ids.defined() || ids.dim() != 2) fail("forward: input_ids must be a [batch, tokens] tensor");
  const int64_t L = n_layer;
  const int64_t B = ids.size(0), T = ids.size(1);
  const int64_t P = request.cache != nullptr ? request.cache->length() : 0;
  const int64_t last = request.last_layer.value_or(L - 1);
  if (request.first_layer < 0 || request.first_layer > last || last >= L) {
    fail("forward: layer range {}..{} is outside the model's 0..{}", request.first_layer, last, L - 1);
  }
  if (P + T > n_positions) {
    fail("sequence of {} tokens is longer than the model's {} ({})", P + T, positions_key, n_positions);
  }
  for (const auto& iv : request.interventions) {
    if (iv.layer < 0 || iv.layer >= L) fail("intervention at layer {} is outside the model's 0..{}", iv.layer, L - 1);
  }
  for (const auto& p : request.patches) {
    if (p.layer < 0 || p.layer >= L) fail("patch at layer {} is outside the model's 0..{}", p.layer, L - 1);
  }
  if (request.cache != nullptr && request.cache->keys.empty()) {
    request.cache->keys.resize(L);
    request.cache->values.resize(L);
  }
  auto options = torch::TensorOptions().device(ids.device());
  torch::Tensor mask = request.attention_mask.defined() ? request.attention_mask.to(options.dtype(torch::kBool))
                                                        : torch::ones({B, P + T}, options.dtype(torch::kBool));
  if (mask.dim() != 2 || mask.size(0) != B || mask.size(1) != P + T) {
    fail("forward: attention_mask must be [{}, {}]", B, P + T);
  }
  auto query_pos = torch::arange(P, P + T, options.dtype(torch::kLong)).unsqueeze(1);  // [T, 1]
  auto key_pos = torch::arange(P + T, options.dtype(torch::kLong)).unsqueeze(0);       // [1, P+T]
  auto causal = key_pos <= query_pos;
  if (sliding_window) causal = causal & (key_pos > query_pos - *sliding_window);  // key j hidden when j <= i - W
  auto allowed = (causal.view({1, 1, T, P + T}) & mask.view({B, 1, 1, P + T})) |
                 (key_pos == query_pos).view({1, 1, T, P + T});
  return {B, T, P, last, std::move(mask), std::move(allowed)};
}

ForwardResult empty_forward_result(const ForwardRequest& request, int64_t n_layer) {
  ForwardResult result;
  result.captures.resize(request.interventions.size());
  if (request.capture_sites) {
    for (auto* v : {&result.sites.attention, &result.sites.mlp, &result.sites.block, &result.sites.block_in}) {
      v->resize(n_layer);
    }
  }
  return result;
}

torch::Tensor apply_mlp_interventions(int64_t layer, const torch::Tensor& key, torch::Tensor value,
                                      const ForwardRequest& request, ForwardResult& result) {
  for (size_t i = 0; i < request.interventions.size(); ++i) {
    const auto& iv = request.interventions[i];
    if (iv.layer != layer) continue;
    const bool everywhere = !iv.batch.defined();
    auto& capture = result.captures[i];
    if (iv.capture_key) capture.key = everywhere ? key : key.index({iv.batch, iv.position});
    if (iv.capture_value) {
      capture.value = everywhere ? value : value.index({iv.batch, iv.position});
    }
    if (iv.add_value.defined()) {
      // In the value's dtype: a float32 delta on a bfloat16 model is rounded where it is added
      // (its gradient reaches the float32 delta, as in the reference's hook on a float16 model).
      const auto add_value = iv.add_value.to(value.scalar_type());
      if (everywhere) {
        value = value + add_value;
      } else {
        auto add = add_value.expand({iv.batch.size(0), value.size(-1)});
        value = value.index_put({iv.batch, iv.position}, add, /*accumulate=*/true);
      }
    }
    if (iv.replace_value.defined()) {
      const auto replace_value = iv.replace_value.to(value.scalar_type());
      value = everywhere ? replace_value.expand_as(value).clone()
                         : value.index_put({iv.batch, iv.position}, replace_value);
    }
    if (iv.low_rank_u.defined()) {
      if (!everywhere) fail("a low-rank MLP update applies to every position: leave batch and position undefined");
      const auto u = iv.low_rank_u.to(key.scalar_type());    // [B, R, M]
      const auto v = iv.low_rank_v.to(value.scalar_type());  // [B, R, C]
      const auto coefficients = torch::matmul(key, u.transpose(1, 2));  // [B, T, R]
      value = value + torch::matmul(coefficients.to(value.scalar_type()), v);
    }
  }
  return value;
}

std::vector<MlpIntervention> RowEdits::interventions(std::span<const size_t> items, torch::Device device) const {
  // Per layer: every row's updates at that layer, zero-padded to the most any row has.
  std::map<int64_t, int64_t> rank;  // layer -> R
  for (size_t item : items) {
    const int64_t g = group.at(item);
    if (g < 0) continue;
    std::map<int64_t, int64_t> count;
    for (const auto& update : groups.at(static_cast<size_t>(g))) rank[update.layer] = std::max(rank[update.layer], ++count[update.layer]);
  }
  std::vector<MlpIntervention> out;
  for (const auto& [layer, r] : rank) {
    torch::Tensor u, v;
    const int64_t B = static_cast<int64_t>(items.size());
    for (size_t b = 0; b < items.size(); ++b) {
      const int64_t g = group[items[b]];
      if (g < 0) continue;
      int64_t k = 0;
      for (const auto& update : groups[static_cast<size_t>(g)]) {
        if (update.layer != layer) continue;
        if (!u.defined()) {
          u = torch::zeros({B, r, update.u.size(0)}, update.u.options());
          v = torch::zeros({B, r, update.v.size(0)}, update.v.options());
        }
        u[static_cast<int64_t>(b)][k].copy_(update.u);
        v[static_cast<int64_t>(b)][k].copy_(update.v);
        ++k;
      }
    }
    MlpIntervention iv;
    iv.layer = layer;
    iv.low_rank_u = u.to(device);
    iv.low_rank_v = v.to(device);
    out.push_back(std::move(iv));
  }
  return out;
}

ForwardResult GPT2::forward(const ForwardRequest& request) {
  ModelClock::Scope clock;
  const auto& ids = request.input_ids;
  const auto frame = begin_forward(request, config_.n_layer, config_.n_positions, "n_positions");
  const int64_t P = frame.past, last = frame.last_layer;
  const auto& mask = frame.mask;
  const auto& allowed = frame.allowed;

  torch::Tensor x;
  if (request.first_layer == 0) {
    auto positions = positions_from_mask(mask).slice(1, P);  // [B, T]
    auto tokens = wte(ids);                                  // [B, T, C]
    if (request.token_embedding_add.defined()) tokens = tokens + request.token_embedding_add;
    x = tokens + wpe(positions);
  } else {
    if (!request.residual.defined()) fail("forward: first_layer > 0 needs the residual stream");
    if (request.token_embedding_add.defined()) fail("forward: token_embedding_add needs first_layer 0");
    x = request.residual;
  }
  ForwardResult result = empty_forward_result(request, config_.n_layer);
  for (int64_t layer = request.first_layer; layer <= last; ++layer) {
    if (request.capture_residual_before == layer) result.residual_in = x;
    x = run_block(layer, x, allowed, request, result);
  }
  result.hidden = x;
  if (request.last_layer.has_value()) return result;

  x = ln_f(x);
  if (request.logit_batch.defined()) {
    x = x.index({request.logit_batch, request.logit_position});  // [N, C]
  }
  result.logits = float_logits(torch::matmul(x, wte->weight.t()));  // [..., V]
  return result;
}

}  // namespace editlab
