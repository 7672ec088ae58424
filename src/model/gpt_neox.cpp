// GPT-NeoX / Pythia (transformers' GPTNeoXForCausalLM, eager): two LayerNorms; parallel residual
// out = mlp(ln2 x) + attn(ln1 x) + x, or sequential h = x + attn(ln1 x), out = h + mlp(ln2 h);
// the fused query_key_value laid out per head ([q_h; k_h; v_h] rows); rotate-half on the first
// rotary_pct of each head; exact-erf GELU; untied embed_out without bias.
#include "decoder.h"

namespace editlab::detail {
namespace {

class GPTNeoX : public DecoderModel {
 public:
  explicit GPTNeoX(const ModelConfig& c) : DecoderModel(c) {
    parallel_ = c.use_parallel_residual;
    const int64_t C = c.n_embd, M = c.n_inner, HD = c.n_head * c.head_dim;
    embed_ = add_parameter("gpt_neox.embed_in.weight", {c.vocab_size, C});
    for (int64_t i = 0; i < c.n_layer; ++i) {
      const auto p = fmt::format("gpt_neox.layers.{}.", i);
      Layer l;
      l.ln1_w = add_parameter(p + "input_layernorm.weight", {C});
      l.ln1_b = add_parameter(p + "input_layernorm.bias", {C});
      l.ln2_w = add_parameter(p + "post_attention_layernorm.weight", {C});
      l.ln2_b = add_parameter(p + "post_attention_layernorm.bias", {C});
      l.qkv_w = add_parameter(p + "attention.query_key_value.weight", {3 * HD, C});
      if (c.attention_bias) l.qkv_b = add_parameter(p + "attention.query_key_value.bias", {3 * HD});
      l.dense_w = add_parameter(p + "attention.dense.weight", {C, HD});
      if (c.attention_bias) l.dense_b = add_parameter(p + "attention.dense.bias", {C});
      l.up_w = add_parameter(p + "mlp.dense_h_to_4h.weight", {M, C});
      l.up_b = add_parameter(p + "mlp.dense_h_to_4h.bias", {M});
      l.down_w = add_parameter(p + "mlp.dense_4h_to_h.weight", {C, M});
      l.down_b = add_parameter(p + "mlp.dense_4h_to_h.bias", {C});
      layers_.push_back(l);
    }
    ln_f_w_ = add_parameter("gpt_neox.final_layer_norm.weight", {C});
    ln_f_b_ = add_parameter("gpt_neox.final_layer_norm.bias", {C});
    if (!c.tie_word_embeddings) head_ = add_parameter("embed_out.weight", {c.vocab_size, C});
  }

  std::string rewrite_module_template() const override { return "gpt_neox.layers.{}.mlp.dense_4h_to_h"; }
  std::string lm_head_module() const override { return "embed_out"; }

 protected:
  struct Layer {
    torch::Tensor ln1_w, ln1_b, ln2_w, ln2_b, qkv_w, qkv_b, dense_w, dense_b, up_w, up_b, down_w, down_b;
  };

  torch::Tensor input_norm(int64_t l, const torch::Tensor& x) override {
    return torch::layer_norm(x, {config_.n_embd}, layers_[l].ln1_w, layers_[l].ln1_b, config_.layer_norm_epsilon);
  }
  torch::Tensor post_norm(int64_t l, const torch::Tensor& x) override {
    return torch::layer_norm(x, {config_.n_embd}, layers_[l].ln2_w, layers_[l].ln2_b, config_.layer_norm_epsilon);
  }
  torch::Tensor attention(int64_t l, const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                          const torch::Tensor& allowed, torch::Tensor* past_k, torch::Tensor* past_v) override {
    const auto& w = layers_[l];
    const int64_t B = x.size(0), T = x.size(1), H = config_.n_head, D = config_.head_dim;
    auto qkv = torch::linear(x, w.qkv_w, w.qkv_b).view({B, T, H, 3 * D});  // per head [q; k; v]
    auto q = qkv.slice(-1, 0, D).permute({0, 2, 1, 3});
    auto k = qkv.slice(-1, D, 2 * D).permute({0, 2, 1, 3});
    auto v = qkv.slice(-1, 2 * D, 3 * D).permute({0, 2, 1, 3});
    q = rotary_.apply(q, cos, sin);
    k = rotary_.apply(k, cos, sin);
    auto [kk, vv] = update_cache(k, v, past_k, past_v);
    return torch::linear(attend(q, kk, vv, allowed), w.dense_w, w.dense_b);
  }
  torch::Tensor mlp_key(int64_t l, const torch::Tensor& x) override {
    return activate(torch::linear(x, layers_[l].up_w, layers_[l].up_b), config_.activation_function);
  }
  torch::Tensor mlp_value(int64_t l, const torch::Tensor& key) override {
    return torch::linear(key, layers_[l].down_w, layers_[l].down_b);
  }
  torch::Tensor mlp_out_param(int64_t l) override { return layers_[l].down_w; }
  torch::Tensor embedding_param() override { return embed_; }
  torch::Tensor final_norm(const torch::Tensor& x) override {
    return torch::layer_norm(x, {config_.n_embd}, ln_f_w_, ln_f_b_, config_.layer_norm_epsilon);
  }
  torch::Tensor lm_head(const torch::Tensor& x) override { return torch::linear(x, head_.defined() ? head_ : embed_); }

 private:
  torch::Tensor embed_, ln_f_w_, ln_f_b_, head_;
  std::vector<Layer> layers_;
};

}  // namespace

std::shared_ptr<DecoderModel> make_gpt_neox(const ModelConfig& config) { return std::make_shared<GPTNeoX>(config); }

}  // namespace editlab::detail
