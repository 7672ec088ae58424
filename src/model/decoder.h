// The rotary decoder-only families (GPT-J, GPT-NeoX, Llama/Mistral/Qwen2) as Hugging Face
// transformers 4.47 computes them (eager attention), behind LanguageModel. What the families
// share lives here: rotary embeddings (rotate-half and rotate-every-two, partial, with the
// default / linear / dynamic / llama3 frequencies), attention with GQA and sliding windows,
// RMSNorm, and the forward loop with its caches, interventions and patches. Each family
// (gptj.cpp, gpt_neox.cpp, llama.cpp) supplies its weights by HF name and its block's pieces.
//
// Legend: B batch, T tokens in this call, P past tokens, S = P + T, C d_model, H query heads,
// K key/value heads, D head dim, R rotary dims, M d_mlp, V vocab.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include "editlab/model/language_model.h"
#include "editlab/model/model_config.h"

namespace editlab::detail {

class Rotary {
 public:
  explicit Rotary(const RopeConfig& rope);
  // The inverse frequencies (float32 [R / 2]) used for a forward whose largest position is
  // seq_len - 1 (only dynamic NTK scaling depends on it), as modeling_rope_utils computes them.
  torch::Tensor inv_freq(int64_t seq_len) const;
  // cos and sin [B, 1, T, R] in `dtype` for positions [B, T] (computed in float32, as HF does).
  std::pair<torch::Tensor, torch::Tensor> cos_sin(const torch::Tensor& positions, torch::ScalarType dtype) const;
  // Rotates the first R dims of x [B, heads, T, D]; the others pass through.
  torch::Tensor apply(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) const;
  const RopeConfig& config() const { return rope_; }
  // Keeps the inverse frequencies on the model's device (else each forward copies them there).
  void to(torch::Device device);

 private:
  RopeConfig rope_;
  torch::Tensor base_inv_freq_;  // float32 [R / 2], scaling applied (but not the dynamic one)
};

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);
torch::Tensor activate(const torch::Tensor& x, const std::string& activation);

// Attention of q [B, H, T, D] over k, v [B, K, S, D] (GQA: query head h reads KV head
// h / (H / K)); allowed [B, 1, T, S] bool. Scores scaled by 1 / sqrt(D) and softmaxed in at least
// float32. Returns [B, T, H * D].
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                     const torch::Tensor& allowed);

// Appends k, v [B, K, T, D] to the cache entries (when given) and returns the full [B, K, S, D].
std::pair<torch::Tensor, torch::Tensor> update_cache(torch::Tensor k, torch::Tensor v, torch::Tensor* past_k,
                                                     torch::Tensor* past_v);

class DecoderModel : public LanguageModel {
 public:
  explicit DecoderModel(const ModelConfig& config);
  const ModelConfig& config() const { return config_; }
  const ModelShape& shape() const override { return shape_; }
  ForwardResult forward(const ForwardRequest& request) override;
  torch::Tensor mlp_out_weight(int64_t layer) override;  // weight.t(): [M, C], a view of [C, M]
  std::string mlp_out_weight_name(int64_t layer) const override;
  torch::Tensor embed_tokens(const torch::Tensor& ids) override;
  std::vector<std::pair<std::string, torch::Tensor>> parameters_by_name() override { return params_; }
  torch::Device device() const override;
  torch::ScalarType dtype() const override;

  // Loading: replaces a parameter's data by HF name; the shape must match exactly.
  bool has_module(const std::string& name) override;
  void set_parameter(const std::string& name, const torch::Tensor& value);
  void to(torch::Device device);
  // The HF module path of layer l's MLP output projection (ROME's rewrite module), e.g.
  // "model.layers.{}.mlp.down_proj" with {} for the layer.
  virtual std::string rewrite_module_template() const = 0;
  // The LM head's module name (lm_head / embed_out), a module even when tied.
  virtual std::string lm_head_module() const = 0;

 protected:
  // A parameter of the given shape (uninitialised until loading) under its HF name.
  torch::Tensor add_parameter(const std::string& name, std::vector<int64_t> shape);

  // The family's pieces of block `layer`.
  virtual torch::Tensor input_norm(int64_t layer, const torch::Tensor& x) = 0;
  virtual torch::Tensor post_norm(int64_t layer, const torch::Tensor& x) = 0;  // unused with shared_norm_
  // x_normed [B, T, C] -> attention output after the output projection [B, T, C].
  virtual torch::Tensor attention(int64_t layer, const torch::Tensor& x_normed, const torch::Tensor& cos,
                                  const torch::Tensor& sin, const torch::Tensor& allowed, torch::Tensor* past_k,
                                  torch::Tensor* past_v) = 0;
  virtual torch::Tensor mlp_key(int64_t layer, const torch::Tensor& x_normed) = 0;  // [B, T, M]
  virtual torch::Tensor mlp_value(int64_t layer, const torch::Tensor& key) = 0;     // [B, T, C]
  virtual torch::Tensor mlp_out_param(int64_t layer) = 0;                           // [C, M]
  virtual torch::Tensor embedding_param() = 0;                                      // [V, C]
  virtual torch::Tensor final_norm(const torch::Tensor& x) = 0;
  virtual torch::Tensor lm_head(const torch::Tensor& x) = 0;  // [..., C] -> [..., V]

  ModelConfig config_;
  ModelShape shape_;
  Rotary rotary_;
  bool parallel_ = false;     // out = x + attn + mlp (GPT-J, NeoX parallel residual)
  bool shared_norm_ = false;  // the MLP reads the attention's normed input (GPT-J)

 private:
  torch::Tensor run_block(int64_t layer, torch::Tensor x, const torch::Tensor& cos, const torch::Tensor& sin,
                          const torch::Tensor& allowed, const ForwardRequest& request, ForwardResult& result);
  std::vector<std::pair<std::string, torch::Tensor>> params_;
};

std::shared_ptr<DecoderModel> make_gptj(const ModelConfig& config);
std::shared_ptr<DecoderModel> make_gpt_neox(const ModelConfig& config);
std::shared_ptr<DecoderModel> make_llama(const ModelConfig& config);  // llama, mistral, qwen2

// The model for a non-GPT-2 config (dispatch on its family).
std::shared_ptr<DecoderModel> make_decoder(const ModelConfig& config);

}  // namespace editlab::detail
