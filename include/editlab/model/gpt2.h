// GPT-2 as Hugging Face's GPT2LMHeadModel computes it, with HF parameter names
// (h.{i}.ln_1, h.{i}.attn.c_attn, h.{i}.attn.c_proj, h.{i}.ln_2, h.{i}.mlp.c_fc, h.{i}.mlp.c_proj,
// wte, wpe, ln_f; lm_head tied to wte). Conv1D weights are stored as HF stores them, [in, out].
//
// Block i:  h = x + attn(ln_1(x));  y = h + mlp(ln_2(h));  mlp(z) = c_proj(act(c_fc(z))).
// Legend: B batch, T tokens, P past tokens, C n_embd, H n_head, D head dim, M n_inner, V vocab.
#pragma once

#include <torch/torch.h>

#include "editlab/model/config.h"
#include "editlab/model/language_model.h"

namespace editlab {

// HF's Conv1D: y = x @ weight + bias with weight [in, out].
struct Conv1DImpl : torch::nn::Module {
  Conv1DImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);  // [..., in] -> [..., out]
  torch::Tensor weight;                           // [in, out]
  torch::Tensor bias;                             // [out]
};
TORCH_MODULE(Conv1D);

struct LayerNormImpl : torch::nn::Module {
  LayerNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias;  // [C]
  double eps;
};
TORCH_MODULE(LayerNorm);

struct AttentionImpl : torch::nn::Module {
  AttentionImpl(const GPT2Config& config, int64_t layer_index);
  // x [B, T, C]; allowed [B, 1, T, P+T] bool (causal and padding); cache entries updated in place.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& allowed, torch::Tensor* past_k,
                        torch::Tensor* past_v);
  Conv1D c_attn{nullptr};  // C -> 3C (q, k, v)
  Conv1D c_proj{nullptr};  // C -> C
  int64_t n_head, head_dim;
  double scale;
};
TORCH_MODULE(Attention);

struct MLPImpl : torch::nn::Module {
  MLPImpl(const GPT2Config& config);
  torch::Tensor activation(const torch::Tensor& x) const;
  Conv1D c_fc{nullptr};    // C -> M
  Conv1D c_proj{nullptr};  // M -> C  (the ROME edit target; its input is the ROME key)
  std::string activation_function;
};
TORCH_MODULE(MLP);

struct BlockImpl : torch::nn::Module {
  BlockImpl(const GPT2Config& config, int64_t layer_index);
  LayerNorm ln_1{nullptr}, ln_2{nullptr};
  Attention attn{nullptr};
  MLP mlp{nullptr};
};
TORCH_MODULE(Block);

class GPT2 : public torch::nn::Module, public LanguageModel {
 public:
  explicit GPT2(const GPT2Config& config);

  const GPT2Config& config() const { return config_; }
  const ModelShape& shape() const override { return shape_; }
  ForwardResult forward(const ForwardRequest& request) override;
  torch::Tensor mlp_out_weight(int64_t layer) override;
  std::string mlp_out_weight_name(int64_t layer) const override;
  torch::Tensor embed_tokens(const torch::Tensor& ids) override;
  std::vector<std::pair<std::string, torch::Tensor>> parameters_by_name() override;
  torch::Device device() const override;
  torch::ScalarType dtype() const override;

  // Hugging Face's initialisation (GPT2PreTrainedModel._init_weights): weights ~ N(0, 0.02),
  // the residual projections (attn.c_proj, mlp.c_proj) ~ N(0, 0.02 / sqrt(2 n_layer)), biases 0,
  // layer norms 1 / 0. Seeded, so a random model is reproducible.
  void init_random(uint64_t seed);

  // Replace a parameter's data by HF name (loading); the shape must match exactly.
  void set_parameter(const std::string& name, const torch::Tensor& value);

 private:
  torch::Tensor run_block(int64_t layer, torch::Tensor x, const torch::Tensor& allowed, const ForwardRequest& request,
                          ForwardResult& result);

  GPT2Config config_;
  ModelShape shape_;
  torch::nn::Embedding wte{nullptr}, wpe{nullptr};  // [V, C], [n_positions, C]
  torch::nn::ModuleList h{nullptr};
  std::vector<Block> blocks_;
  LayerNorm ln_f{nullptr};
};

}  // namespace editlab
