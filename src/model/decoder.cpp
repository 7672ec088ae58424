#include "decoder.h"
#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)

#include <cmath>
#include <limits>

#include "editlab/model/device.h"
#include "editlab/util/error.h"
#include "editlab/util/model_clock.h"

namespace editlab::detail {

// ---- rotary ----

namespace {

// 1 / base^(arange(0, R, 2) / R) in float32, as modeling_rope_utils (and GPT-J's
// create_sinusoidal_positions) compute it: Python's `1.0 / t` is t.reciprocal() * 1.0.
torch::Tensor default_inv_freq(const torch::Tensor& base, int64_t dim) {
  auto exponent = torch::arange(0, dim, 2, torch::kLong).to(torch::kFloat) / static_cast<double>(dim);
  return torch::pow(base, exponent).reciprocal();
}

}  // namespace

Rotary::Rotary(const RopeConfig& rope) : rope_(rope) {
  const int64_t dim = rope.rotary_dim;
  auto base = torch::scalar_tensor(rope.theta, torch::kFloat);
  auto inv = default_inv_freq(base, dim);
  if (rope.type == "linear") {
    inv = inv / rope.factor;
  } else if (rope.type == "llama3") {
    const double old_len = static_cast<double>(rope.original_max_position_embeddings);
    const double low_wavelen = old_len / rope.low_freq_factor;
    const double high_wavelen = old_len / rope.high_freq_factor;
    auto wavelen = inv.reciprocal() * (2 * M_PI);
    auto scaled = torch::where(wavelen > low_wavelen, inv / rope.factor, inv);
    auto smooth = (wavelen.reciprocal() * old_len - rope.low_freq_factor) /
                  (rope.high_freq_factor - rope.low_freq_factor);
    auto smoothed = (1 - smooth) * scaled / rope.factor + smooth * scaled;
    auto medium = (wavelen < high_wavelen).logical_not() & (wavelen > low_wavelen).logical_not();
    inv = torch::where(medium, smoothed, scaled);
  }
  base_inv_freq_ = inv.contiguous();
}

torch::Tensor Rotary::inv_freq(int64_t seq_len) const {
  if (rope_.type != "dynamic" || seq_len <= rope_.max_position_embeddings) return base_inv_freq_;
  // _compute_dynamic_ntk_parameters with seq_len = max(position_ids) + 1, a 0-dim int64 tensor,
  // so the new base is computed in float32.
  const int64_t dim = rope_.rotary_dim;
  auto len = torch::scalar_tensor(seq_len, torch::kLong);
  auto ratio = (len * rope_.factor) / static_cast<double>(rope_.max_position_embeddings) - (rope_.factor - 1);
  auto base = ratio.pow(static_cast<double>(dim) / static_cast<double>(dim - 2)) * rope_.theta;
  return default_inv_freq(base, dim);
}

void Rotary::to(torch::Device device) { base_inv_freq_ = base_inv_freq_.to(device); }

std::pair<torch::Tensor, torch::Tensor> Rotary::cos_sin(const torch::Tensor& positions,
                                                        torch::ScalarType dtype) const {
  // Only dynamic NTK scaling reads the largest position: reading it waits for the device.
  const bool dynamic = rope_.type == "dynamic";
  const int64_t seq_len = dynamic && positions.numel() > 0 ? positions.max().item<int64_t>() + 1 : 1;
  auto inv = inv_freq(seq_len).to(positions.device());  // a no-op once to() has moved them
  auto freqs = positions.to(torch::kFloat).unsqueeze(-1) * inv;  // [B, T, R/2]
  torch::Tensor cos, sin;
  if (rope_.every_two) {
    cos = freqs.cos().repeat_interleave(2, -1);
    sin = freqs.sin().repeat_interleave(2, -1);
  } else {
    auto emb = torch::cat({freqs, freqs}, -1);  // [B, T, R]
    cos = emb.cos();
    sin = emb.sin();
  }
  return {cos.unsqueeze(1).to(dtype), sin.unsqueeze(1).to(dtype)};
}

torch::Tensor Rotary::apply(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) const {
  const int64_t R = rope_.rotary_dim, D = x.size(-1);
  auto x_rot = R == D ? x : x.slice(-1, 0, R);
  torch::Tensor rotated;
  if (rope_.every_two) {
    auto even = x_rot.slice(-1, 0, R, 2), odd = x_rot.slice(-1, 1, R, 2);
    rotated = torch::stack({-odd, even}, -1).flatten(-2);
  } else {
    auto x1 = x_rot.slice(-1, 0, R / 2), x2 = x_rot.slice(-1, R / 2, R);
    rotated = torch::cat({-x2, x1}, -1);
  }
  auto out = x_rot * cos + rotated * sin;
  if (R == D) return out;
  return torch::cat({out, x.slice(-1, R, D)}, -1);
}

// ---- shared pieces ----

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  // HF: in float32, then cast back and times the weight. float64 stays float64.
  const auto dtype = x.scalar_type();
  auto h = dtype == torch::kDouble ? x : x.to(torch::kFloat);
  h = h * torch::rsqrt(h.pow(2).mean(-1, true) + eps);
  return weight * h.to(dtype);
}

torch::Tensor activate(const torch::Tensor& x, const std::string& activation) {
  if (activation == "gelu_new" || activation == "gelu_pytorch_tanh") return torch::gelu(x, "tanh");
  if (activation == "gelu") return torch::gelu(x);
  if (activation == "relu") return torch::relu(x);
  return torch::silu(x);  // silu / swish; the config reader rejects the rest
}

torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     const torch::Tensor& allowed) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t K = k.size(1), S = k.size(2);
  auto kk = k, vv = v;
  if (K != H) {  // repeat_kv: [B, K, S, D] -> [B, K * n_rep, S, D]
    const int64_t rep = H / K;
    kk = k.unsqueeze(2).expand({B, K, rep, S, D}).reshape({B, H, S, D});
    vv = v.unsqueeze(2).expand({B, K, rep, S, D}).reshape({B, H, S, D});
  }
  const bool upcast = is_half_precision(q.scalar_type());
  auto qs = upcast ? q.to(torch::kFloat) : q;
  auto ks = upcast ? kk.to(torch::kFloat) : kk;
  auto scores = torch::matmul(qs, ks.transpose(-1, -2)) / std::sqrt(static_cast<double>(D));  // [B, H, T, S]
  const double lowest = scores.scalar_type() == torch::kDouble ? std::numeric_limits<double>::lowest()
                                                               : std::numeric_limits<float>::lowest();
  scores = scores.masked_fill(allowed.logical_not(), lowest);
  auto probs = torch::softmax(scores, -1).to(vv.scalar_type());
  return torch::matmul(probs, vv).transpose(1, 2).reshape({B, T, H * D});
}

std::pair<torch::Tensor, torch::Tensor> update_cache(torch::Tensor k, torch::Tensor v, torch::Tensor* past_k,
                                                     torch::Tensor* past_v) {
  if (past_k != nullptr) {
    if (past_k->defined()) {
      k = torch::cat({*past_k, k}, 2);
      v = torch::cat({*past_v, v}, 2);
    }
    *past_k = k;
    *past_v = v;
  }
  return {k, v};
}

// ---- the model ----

DecoderModel::DecoderModel(const ModelConfig& config) : config_(config), rotary_(config.rope) {
  int64_t n_positions = config.n_positions;
  // Dynamic NTK scaling exists to run past max_position_embeddings: accept factor x that.
  if (config.rope.type == "dynamic") {
    n_positions = static_cast<int64_t>(std::min(std::floor(n_positions * config.rope.factor), 0x1p62));
  }
  shape_ = ModelShape{config.n_layer, config.n_embd, config.n_inner, config.vocab_size, n_positions};
}

torch::Tensor DecoderModel::add_parameter(const std::string& name, std::vector<int64_t> shape) {
  // Not touched until loading replaces it, so the model costs no memory beyond its weights.
  auto t = torch::empty(shape);
  params_.emplace_back(name, t);
  return t;
}

void DecoderModel::set_parameter(const std::string& name, const torch::Tensor& value) {
  for (auto& [n, p] : params_) {
    if (n != name) continue;
    if (p.sizes() != value.sizes()) {
      fail("parameter \"{}\": expected shape {}, found {}", name, fmt::join(p.sizes(), "x"),
           fmt::join(value.sizes(), "x"));
    }
    p.set_data(value);
    return;
  }
  fail("unknown {} parameter \"{}\"", config_.family_name(), name);
}

bool DecoderModel::has_module(const std::string& name) {
  return name == lm_head_module() || LanguageModel::has_module(name);
}

void DecoderModel::to(torch::Device device) {
  for (auto& [n, p] : params_) p.set_data(p.to(device));
  rotary_.to(device);
}

torch::Tensor DecoderModel::mlp_out_weight(int64_t layer) {
  if (layer < 0 || layer >= config_.n_layer) {
    fail("layer {} is out of range (the model has layers 0..{})", layer, config_.n_layer - 1);
  }
  return mlp_out_param(layer).t();  // [M, C] view of the [C, M] nn.Linear weight
}

std::string DecoderModel::mlp_out_weight_name(int64_t layer) const {
  auto name = rewrite_module_template();
  name.replace(name.find("{}"), 2, std::to_string(layer));
  return name + ".weight";
}

torch::Tensor DecoderModel::embed_tokens(const torch::Tensor& ids) {
  return torch::embedding(embedding_param(), ids);
}

torch::Device DecoderModel::device() const {
  return const_cast<DecoderModel*>(this)->params_.front().second.device();
}
torch::ScalarType DecoderModel::dtype() const {
  return const_cast<DecoderModel*>(this)->params_.front().second.scalar_type();
}


torch::Tensor DecoderModel::run_block(int64_t layer, torch::Tensor x, const torch::Tensor& cos,
                                      const torch::Tensor& sin, const torch::Tensor& allowed,
                                      const ForwardRequest& request, ForwardResult& result) {
  torch::Tensor* past_k = nullptr;
  torch::Tensor* past_v = nullptr;
  if (request.cache != nullptr) {
    past_k = &request.cache->keys[layer];
    past_v = &request.cache->values[layer];
  }
  auto a_in = input_norm(layer, x);
  auto attn = apply_site_patches(Site::kAttention, layer, attention(layer, a_in, cos, sin, allowed, past_k, past_v), request);
  torch::Tensor hidden, m_in;
  if (parallel_) {
    m_in = shared_norm_ ? a_in : post_norm(layer, x);
  } else {
    hidden = x + attn;
    m_in = post_norm(layer, hidden);
  }
  auto key = mlp_key(layer, m_in);  // [B, T, M]
  auto value = mlp_value(layer, key);  // [B, T, C]
  value = apply_mlp_interventions(layer, key, value, request, result);
  value = apply_site_patches(Site::kMlp, layer, value, request);
  // HF's order of the sums: GPT-J attn + mlp + x; NeoX mlp + attn + x; sequential (x + attn) + mlp.
  torch::Tensor out;
  if (!parallel_) {
    out = hidden + value;
  } else if (shared_norm_) {
    out = attn + value + x;
  } else {
    out = value + attn + x;
  }
  out = apply_site_patches(Site::kBlock, layer, out, request);
  if (request.capture_sites) record_sites(result, layer, x, attn, value, out);
  return out;
}

ForwardResult DecoderModel::forward(const ForwardRequest& request) {
  ModelClock::Scope clock;
  const auto& ids = request.input_ids;
  const int64_t L = config_.n_layer;
  // Mistral's window counts the raw indices (HF's cache_position), not the position ids.
  const auto frame = begin_forward(request, L, shape_.n_positions, "max_position_embeddings", config_.sliding_window);
  const int64_t P = frame.past, last = frame.last_layer;
  const auto& mask = frame.mask;
  const auto& allowed = frame.allowed;

  const auto compute_dtype = dtype();
  auto positions = positions_from_mask(mask).slice(1, P);  // [B, T]
  auto [cos, sin] = rotary_.cos_sin(positions, compute_dtype);

  torch::Tensor x;
  if (request.first_layer == 0) {
    x = embed_tokens(ids);  // [B, T, C]
    if (request.token_embedding_add.defined()) x = x + request.token_embedding_add;
  } else {
    if (!request.residual.defined()) fail("forward: first_layer > 0 needs the residual stream");
    if (request.token_embedding_add.defined()) fail("forward: token_embedding_add needs first_layer 0");
    x = request.residual;
  }
  ForwardResult result = empty_forward_result(request, L);
  for (int64_t layer = request.first_layer; layer <= last; ++layer) {
    if (request.capture_residual_before == layer) result.residual_in = x;
    x = run_block(layer, x, cos, sin, allowed, request, result);
  }
  result.hidden = x;
  if (request.last_layer.has_value()) return result;

  x = final_norm(x);
  if (request.logit_batch.defined()) x = x.index({request.logit_batch, request.logit_position});  // [N, C]
  result.logits = float_logits(lm_head(x));
  return result;
}

std::shared_ptr<DecoderModel> make_decoder(const ModelConfig& config) {
  switch (config.family) {
    case ModelFamily::kGPTJ:
      return make_gptj(config);
    case ModelFamily::kGPTNeoX:
      return make_gpt_neox(config);
    case ModelFamily::kLlama:
      return make_llama(config);
    default:
      fail("make_decoder: GPT-2 is not a rotary decoder");
  }
}

}  // namespace editlab::detail
