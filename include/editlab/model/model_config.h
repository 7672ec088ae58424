// The family-neutral model config: config.json of any supported family (GPT-2, GPT-J, GPT-NeoX,
// Llama, Mistral, Qwen2) read as Hugging Face transformers 4.47 reads it, alternative spellings
// included. GPT-2 keeps its own GPT2Config (config.h), carried in `gpt2`.
//
// Legend: C d_model (n_embd), H query heads, K key/value heads, D head dim, M d_mlp, V vocab.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "editlab/model/config.h"

namespace editlab {

enum class ModelFamily { kGPT2, kGPTJ, kGPTNeoX, kLlama };

// Rotary position embedding settings (HF's rope_theta / rope_scaling, modeling_rope_utils.py).
struct RopeConfig {
  double theta = 10000.0;
  int64_t rotary_dim = 0;       // dims of each head that rotate (even; <= D)
  bool every_two = false;       // GPT-J's rotate-every-two (pairs 2i, 2i+1); else rotate-half
  std::string type = "default";  // default, linear, dynamic, llama3
  double factor = 1.0;
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  int64_t original_max_position_embeddings = 0;          // llama3
  int64_t max_position_embeddings = 0;                   // dynamic: the length before scaling
};

struct ModelConfig {
  std::string model_type = "gpt2";  // as written in config.json (gpt2, gptj, gpt_neox, llama, mistral, qwen2)
  ModelFamily family = ModelFamily::kGPT2;

  // The fields callers outside the model code read (GPT-2 names kept: n_embd is d_model).
  int64_t vocab_size = 0;
  int64_t n_positions = 0;  // max_position_embeddings (the longest sequence the model accepts)
  int64_t n_embd = 0;       // C
  int64_t n_layer = 0;
  int64_t n_head = 0;       // H
  int64_t n_kv_head = 0;    // K (GQA; == H without it)
  int64_t head_dim = 0;     // D (Llama may set it; otherwise C / H)
  int64_t n_inner = 0;      // M
  std::string activation_function;
  double layer_norm_epsilon = 1e-5;  // LayerNorm or RMSNorm epsilon
  int64_t bos_token_id = -1;         // -1: none
  int64_t eos_token_id = -1;         // -1: none (the first of a list)
  // Every id that ends generation: config.json's eos_token_id (an int or a list), replaced by
  // generation_config.json's when that file is beside it, as transformers' generate reads them
  // (Llama 3 Instruct: 128001 and 128009).
  std::vector<int64_t> eos_token_ids;

  RopeConfig rope;                       // not GPT-2
  bool tie_word_embeddings = false;
  bool attention_bias = false;           // q/k/v (and o for Llama's attention_bias; NeoX qkv and dense)
  bool attention_out_bias = false;       // o_proj / dense bias
  bool mlp_bias = false;                 // the MLP's projections
  bool lm_head_bias = false;             // GPT-J
  bool use_parallel_residual = false;    // GPT-J (always) and NeoX
  std::optional<int64_t> sliding_window;  // Mistral; Qwen2 with use_sliding_window

  std::optional<GPT2Config> gpt2;  // set for GPT-2
  nlohmann::json raw;              // config.json as read

  int64_t d_mlp() const { return n_inner; }
  // A short human name: "GPT-2", "GPT-J", "GPT-NeoX", "Llama", "Mistral", "Qwen2".
  std::string family_name() const;
  // Parameters of the model it describes (tied head counted once), nullopt past 2^63.
  std::optional<int64_t> parameter_count() const;
  // GPT-2: GPT2Config::to_json(); otherwise config.json as read.
  nlohmann::json to_json() const;

  static ModelConfig from_gpt2(const GPT2Config& c);
  // Parses config.json content of any supported family. An unknown model_type or an unsupported
  // setting (e.g. yarn rope scaling) is an Error naming it and what is supported.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source);
  static ModelConfig from_file(const std::filesystem::path& path);
};

}  // namespace editlab
