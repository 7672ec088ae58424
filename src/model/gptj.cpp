// GPT-J (transformers' GPTJForCausalLM, eager): one LayerNorm per block feeding attention and MLP
// in parallel, out = attn(ln_1 x) + mlp(ln_1 x) + x; rotate-every-two on the first rotary_dim
// dims of each head; q/k/v/out without biases; fc_in / fc_out with; untied lm_head with a bias.
#include "decoder.h"

namespace editlab::detail {
namespace {

class GPTJ : public DecoderModel {
 public:
  explicit GPTJ(const ModelConfig& c) : DecoderModel(c) {
    parallel_ = shared_norm_ = true;
    const int64_t C = c.n_embd, M = c.n_inner, HD = c.n_head * c.head_dim;
    wte_ = add_parameter("transformer.wte.weight", {c.vocab_size, C});
    for (int64_t i = 0; i < c.n_layer; ++i) {
      const auto p = fmt::format("transformer.h.{}.", i);
      Layer l;
      l.ln_w = add_parameter(p + "ln_1.weight", {C});
      l.ln_b = add_parameter(p + "ln_1.bias", {C});
      l.q = add_parameter(p + "attn.q_proj.weight", {HD, C});
      l.k = add_parameter(p + "attn.k_proj.weight", {HD, C});
      l.v = add_parameter(p + "attn.v_proj.weight", {HD, C});
      l.o = add_parameter(p + "attn.out_proj.weight", {C, HD});
      l.fc_in_w = add_parameter(p + "mlp.fc_in.weight", {M, C});
      l.fc_in_b = add_parameter(p + "mlp.fc_in.bias", {M});
      l.fc_out_w = add_parameter(p + "mlp.fc_out.weight", {C, M});
      l.fc_out_b = add_parameter(p + "mlp.fc_out.bias", {C});
      layers_.push_back(l);
    }
    ln_f_w_ = add_parameter("transformer.ln_f.weight", {C});
    ln_f_b_ = add_parameter("transformer.ln_f.bias", {C});
    if (!c.tie_word_embeddings) head_w_ = add_parameter("lm_head.weight", {c.vocab_size, C});
    head_b_ = add_parameter("lm_head.bias", {c.vocab_size});
  }

  std::string rewrite_module_template() const override { return "transformer.h.{}.mlp.fc_out"; }
  std::string lm_head_module() const override { return "lm_head"; }

 protected:
  struct Layer {
    torch::Tensor ln_w, ln_b, q, k, v, o, fc_in_w, fc_in_b, fc_out_w, fc_out_b;
  };

  torch::Tensor input_norm(int64_t l, const torch::Tensor& x) override {
    return torch::layer_norm(x, {config_.n_embd}, layers_[l].ln_w, layers_[l].ln_b, config_.layer_norm_epsilon);
  }
  torch::Tensor post_norm(int64_t l, const torch::Tensor& x) override { return input_norm(l, x); }
  torch::Tensor attention(int64_t l, const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                          const torch::Tensor& allowed, torch::Tensor* past_k, torch::Tensor* past_v) override {
    const auto& w = layers_[l];
    const int64_t B = x.size(0), T = x.size(1), H = config_.n_head, D = config_.head_dim;
    auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, D}).transpose(1, 2); };
    auto q = rotary_.apply(heads(torch::linear(x, w.q)), cos, sin);
    auto k = rotary_.apply(heads(torch::linear(x, w.k)), cos, sin);
    auto v = heads(torch::linear(x, w.v));
    auto [kk, vv] = update_cache(k, v, past_k, past_v);
    return torch::linear(attend(q, kk, vv, allowed), w.o);
  }
  torch::Tensor mlp_key(int64_t l, const torch::Tensor& x) override {
    return activate(torch::linear(x, layers_[l].fc_in_w, layers_[l].fc_in_b), config_.activation_function);
  }
  torch::Tensor mlp_value(int64_t l, const torch::Tensor& key) override {
    return torch::linear(key, layers_[l].fc_out_w, layers_[l].fc_out_b);
  }
  torch::Tensor mlp_out_param(int64_t l) override { return layers_[l].fc_out_w; }
  torch::Tensor embedding_param() override { return wte_; }
  torch::Tensor final_norm(const torch::Tensor& x) override {
    return torch::layer_norm(x, {config_.n_embd}, ln_f_w_, ln_f_b_, config_.layer_norm_epsilon);
  }
  torch::Tensor lm_head(const torch::Tensor& x) override {
    return torch::linear(x, head_w_.defined() ? head_w_ : wte_, head_b_);
  }

 private:
  torch::Tensor wte_, ln_f_w_, ln_f_b_, head_w_, head_b_;
  std::vector<Layer> layers_;
};

}  // namespace

std::shared_ptr<DecoderModel> make_gptj(const ModelConfig& config) { return std::make_shared<GPTJ>(config); }

}  // namespace editlab::detail
