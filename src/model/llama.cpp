// Llama 2/3, Mistral and Qwen2 (transformers' LlamaForCausalLM, MistralForCausalLM,
// Qwen2ForCausalLM, eager): pre-RMSNorm (float32), h = x + o_proj(attn(rms_in x)),
// out = h + down(act(gate(rms_post h)) * up(rms_post h)); rotate-half RoPE over the whole head
// (default, linear, dynamic or llama3 frequencies); GQA; Mistral's sliding window (in the mask);
// Qwen2's q/k/v biases; Llama's attention_bias / mlp_bias; lm_head absent when tied.
#include "decoder.h"

namespace editlab::detail {
namespace {

class Llama : public DecoderModel {
 public:
  explicit Llama(const ModelConfig& c) : DecoderModel(c) {
    const int64_t C = c.n_embd, M = c.n_inner, QD = c.n_head * c.head_dim, KD = c.n_kv_head * c.head_dim;
    embed_ = add_parameter("model.embed_tokens.weight", {c.vocab_size, C});
    for (int64_t i = 0; i < c.n_layer; ++i) {
      const auto p = fmt::format("model.layers.{}.", i);
      Layer l;
      l.ln1 = add_parameter(p + "input_layernorm.weight", {C});
      l.ln2 = add_parameter(p + "post_attention_layernorm.weight", {C});
      l.q_w = add_parameter(p + "self_attn.q_proj.weight", {QD, C});
      if (c.attention_bias) l.q_b = add_parameter(p + "self_attn.q_proj.bias", {QD});
      l.k_w = add_parameter(p + "self_attn.k_proj.weight", {KD, C});
      if (c.attention_bias) l.k_b = add_parameter(p + "self_attn.k_proj.bias", {KD});
      l.v_w = add_parameter(p + "self_attn.v_proj.weight", {KD, C});
      if (c.attention_bias) l.v_b = add_parameter(p + "self_attn.v_proj.bias", {KD});
      l.o_w = add_parameter(p + "self_attn.o_proj.weight", {C, QD});
      if (c.attention_out_bias) l.o_b = add_parameter(p + "self_attn.o_proj.bias", {C});
      l.gate_w = add_parameter(p + "mlp.gate_proj.weight", {M, C});
      if (c.mlp_bias) l.gate_b = add_parameter(p + "mlp.gate_proj.bias", {M});
      l.up_w = add_parameter(p + "mlp.up_proj.weight", {M, C});
      if (c.mlp_bias) l.up_b = add_parameter(p + "mlp.up_proj.bias", {M});
      l.down_w = add_parameter(p + "mlp.down_proj.weight", {C, M});
      if (c.mlp_bias) l.down_b = add_parameter(p + "mlp.down_proj.bias", {C});
      layers_.push_back(l);
    }
    norm_ = add_parameter("model.norm.weight", {C});
    if (!c.tie_word_embeddings) head_ = add_parameter("lm_head.weight", {c.vocab_size, C});
  }

  std::string rewrite_module_template() const override { return "model.layers.{}.mlp.down_proj"; }
  std::string lm_head_module() const override { return "lm_head"; }

 protected:
  struct Layer {
    torch::Tensor ln1, ln2, q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b, gate_w, gate_b, up_w, up_b, down_w, down_b;
  };

  torch::Tensor input_norm(int64_t l, const torch::Tensor& x) override {
    return rms_norm(x, layers_[l].ln1, config_.layer_norm_epsilon);
  }
  torch::Tensor post_norm(int64_t l, const torch::Tensor& x) override {
    return rms_norm(x, layers_[l].ln2, config_.layer_norm_epsilon);
  }
  torch::Tensor attention(int64_t l, const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                          const torch::Tensor& allowed, torch::Tensor* past_k, torch::Tensor* past_v) override {
    const auto& w = layers_[l];
    const int64_t B = x.size(0), T = x.size(1), H = config_.n_head, K = config_.n_kv_head, D = config_.head_dim;
    auto q = torch::linear(x, w.q_w, w.q_b).view({B, T, H, D}).transpose(1, 2);
    auto k = torch::linear(x, w.k_w, w.k_b).view({B, T, K, D}).transpose(1, 2);
    auto v = torch::linear(x, w.v_w, w.v_b).view({B, T, K, D}).transpose(1, 2);
    q = rotary_.apply(q, cos, sin);
    k = rotary_.apply(k, cos, sin);
    auto [kk, vv] = update_cache(k, v, past_k, past_v);
    return torch::linear(attend(q, kk, vv, allowed), w.o_w, w.o_b);
  }
  torch::Tensor mlp_key(int64_t l, const torch::Tensor& x) override {
    const auto& w = layers_[l];
    return activate(torch::linear(x, w.gate_w, w.gate_b), config_.activation_function) *
           torch::linear(x, w.up_w, w.up_b);
  }
  torch::Tensor mlp_value(int64_t l, const torch::Tensor& key) override {
    return torch::linear(key, layers_[l].down_w, layers_[l].down_b);
  }
  torch::Tensor mlp_out_param(int64_t l) override { return layers_[l].down_w; }
  torch::Tensor embedding_param() override { return embed_; }
  torch::Tensor final_norm(const torch::Tensor& x) override { return rms_norm(x, norm_, config_.layer_norm_epsilon); }
  torch::Tensor lm_head(const torch::Tensor& x) override { return torch::linear(x, head_.defined() ? head_ : embed_); }

 private:
  torch::Tensor embed_, norm_, head_;
  std::vector<Layer> layers_;
};

}  // namespace

std::shared_ptr<DecoderModel> make_llama(const ModelConfig& config) { return std::make_shared<Llama>(config); }

}  // namespace editlab::detail
