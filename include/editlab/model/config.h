// GPT-2's config.json (Hugging Face GPT2Config): the keys, their defaults, and what editlab supports.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace editlab {

// Dimension legend used across the model code:
//   B batch, T sequence length, C = n_embd (d_model), H = n_head, D = C / H (head dim),
//   M = n_inner (d_mlp), V = vocab_size, L = n_layer.
struct GPT2Config {
  int64_t vocab_size = 50257;  // V
  int64_t n_positions = 1024;  // longest sequence
  int64_t n_embd = 768;        // C
  int64_t n_layer = 12;        // L
  int64_t n_head = 12;         // H
  int64_t n_inner = 0;         // M; 0 (null / absent in config.json) means 4 * C
  std::string activation_function = "gelu_new";
  double layer_norm_epsilon = 1e-5;
  bool scale_attn_weights = true;                // divide scores by sqrt(D)
  bool scale_attn_by_inverse_layer_idx = false;  // and by (layer index + 1)
  bool reorder_and_upcast_attn = false;          // fp16 trick; identical maths in float32/float64
  int64_t bos_token_id = 50256;
  int64_t eos_token_id = 50256;

  int64_t head_dim() const { return n_embd / n_head; }
  int64_t d_mlp() const { return n_inner > 0 ? n_inner : 4 * n_embd; }
  // The number of values of the model's parameters (wte, wpe, the blocks, ln_f; the tied LM
  // head not counted), or nullopt if it passes 2^63. from_json rejects such a config, so for a
  // parsed config this is set and every product of its sizes (d_mlp(), 3 * n_embd, ...) fits.
  std::optional<int64_t> parameter_count() const;

  // Parses config.json content; `source` names the file in error messages. Unknown keys are
  // ignored (HF configs carry many training-only keys); unsupported values are errors, and so
  // is a size key that is not an integer (768.0 is accepted as 768) or a model of more than
  // 2^63 parameters. load_model checks the size against the checkpoint before building it.
  static GPT2Config from_json(const nlohmann::json& j, const std::string& source);
  static GPT2Config from_file(const std::filesystem::path& path);
  // The keys Hugging Face's GPT2Config writes, so that a saved directory loads in transformers.
  nlohmann::json to_json() const;
};

}  // namespace editlab
