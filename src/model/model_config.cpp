#include "editlab/model/model_config.h"

#include <cmath>
#include <set>
#include <type_traits>

#include "editlab/util/error.h"
#include "editlab/util/json_file.h"
#include "config_keys.h"

namespace editlab {
namespace {

using detail::read_key;


// The first of several spellings that is present.
template <typename T>
void read_any(const nlohmann::json& j, std::initializer_list<const char*> keys, T& out, const std::string& source) {
  for (const char* k : keys) {
    if (read_key(j, k, out, source)) return;
  }
}

// bos/eos_token_id as every id it lists: an integer, a list of integers, or null (none).
std::vector<int64_t> read_token_ids(const nlohmann::json& j, const char* key, const std::string& source) {
  std::vector<int64_t> ids;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return ids;
  const nlohmann::json items = it->is_array() ? *it : nlohmann::json::array({*it});
  for (const auto& item : items) {
    nlohmann::json one = {{key, item}};
    int64_t v = -1;
    read_key(one, key, v, source);
    ids.push_back(v);
  }
  return ids;
}

// The first of them (-1: none); `fallback` when the key is absent.
int64_t read_token_id(const nlohmann::json& j, const char* key, int64_t fallback, const std::string& source) {
  if (!j.contains(key)) return fallback;
  const auto ids = read_token_ids(j, key, source);
  return ids.empty() ? -1 : ids[0];
}

void require_positive(int64_t value, const char* key, const std::string& source) {
  if (value <= 0) fail("{}: \"{}\" must be positive, found {}", source, key, value);
}

const char* kSupportedTypes = "gpt2, gptj, gpt_neox, llama, mistral, qwen2";

// rope_scaling (or rope_parameters) as HF reads it: "rope_type", or the older "type".
void read_rope_scaling(const nlohmann::json& rs, RopeConfig& rope, const std::string& source, const char* key) {
  if (rs.is_null()) return;
  if (!rs.is_object()) fail("{}: \"{}\" must be an object or null, found {}", source, key, rs.dump());
  std::string type = "default";
  if (!read_key(rs, "rope_type", type, source)) read_key(rs, "type", type, source);
  static const std::set<std::string> supported = {"default", "linear", "dynamic", "llama3"};
  if (!supported.count(type)) {
    fail("{}: {} type \"{}\" is not supported (supported: default, linear, dynamic, llama3)", source, key, type);
  }
  rope.type = type;
  if (type == "default") return;
  if (!read_key(rs, "factor", rope.factor, source)) fail("{}: {} \"{}\" needs \"factor\"", source, key, type);
  if (!(rope.factor >= 1.0) && type != "linear") {
    fail("{}: {} factor must be >= 1, found {}", source, key, rope.factor);
  }
  if (!(rope.factor > 0)) fail("{}: {} factor must be positive, found {}", source, key, rope.factor);
  if (type == "llama3") {
    if (!read_key(rs, "low_freq_factor", rope.low_freq_factor, source) ||
        !read_key(rs, "high_freq_factor", rope.high_freq_factor, source) ||
        !read_key(rs, "original_max_position_embeddings", rope.original_max_position_embeddings, source)) {
      fail("{}: {} \"llama3\" needs low_freq_factor, high_freq_factor and original_max_position_embeddings", source,
           key);
    }
    if (!(rope.high_freq_factor > rope.low_freq_factor)) {
      fail("{}: {} high_freq_factor ({}) must exceed low_freq_factor ({})", source, key, rope.high_freq_factor,
           rope.low_freq_factor);
    }
    require_positive(rope.original_max_position_embeddings, "original_max_position_embeddings", source);
  }
}

void check_activation(const std::string& act, const std::string& source) {
  static const std::set<std::string> activations = {"gelu_new", "gelu_pytorch_tanh", "gelu", "relu", "silu", "swish"};
  if (!activations.count(act)) {
    fail("{}: activation \"{}\" is not supported (supported: gelu_new, gelu_pytorch_tanh, gelu, relu, silu)", source,
         act);
  }
}

}  // namespace

std::string ModelConfig::family_name() const {
  if (model_type == "gpt2") return "GPT-2";
  if (model_type == "gptj") return "GPT-J";
  if (model_type == "gpt_neox") return "GPT-NeoX";
  if (model_type == "mistral") return "Mistral";
  if (model_type == "qwen2") return "Qwen2";
  return "Llama";
}

ModelConfig ModelConfig::from_gpt2(const GPT2Config& c) {
  ModelConfig m;
  m.model_type = "gpt2";
  m.family = ModelFamily::kGPT2;
  m.vocab_size = c.vocab_size;
  m.n_positions = c.n_positions;
  m.n_embd = c.n_embd;
  m.n_layer = c.n_layer;
  m.n_head = c.n_head;
  m.n_kv_head = c.n_head;
  m.head_dim = c.head_dim();
  m.n_inner = c.d_mlp();
  m.activation_function = c.activation_function;
  m.layer_norm_epsilon = c.layer_norm_epsilon;
  m.bos_token_id = c.bos_token_id;
  m.eos_token_id = c.eos_token_id;
  if (c.eos_token_id >= 0) m.eos_token_ids = {c.eos_token_id};
  m.tie_word_embeddings = true;
  m.attention_bias = m.attention_out_bias = m.mlp_bias = true;
  m.gpt2 = c;
  m.raw = c.to_json();
  return m;
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) fail("{}: expected a JSON object", source);
  std::string model_type = "gpt2";
  read_key(j, "model_type", model_type, source);
  if (model_type == "gpt2") return from_gpt2(GPT2Config::from_json(j, source));

  ModelConfig c;
  c.model_type = model_type;
  c.raw = j;
  double partial_rotary = 1.0;
  if (model_type == "gptj") {
    c.family = ModelFamily::kGPTJ;
    c.vocab_size = 50400, c.n_positions = 2048, c.n_embd = 4096, c.n_layer = 28, c.n_head = 16;
    c.activation_function = "gelu_new";
    c.layer_norm_epsilon = 1e-5;
    c.bos_token_id = c.eos_token_id = 50256;
    int64_t rotary_dim = 64;
    bool rotary_dim_null = j.contains("rotary_dim") && j["rotary_dim"].is_null();
    read_any(j, {"n_positions", "max_position_embeddings"}, c.n_positions, source);
    read_any(j, {"n_embd", "hidden_size"}, c.n_embd, source);
    read_any(j, {"n_layer", "num_hidden_layers"}, c.n_layer, source);
    read_any(j, {"n_head", "num_attention_heads"}, c.n_head, source);
    read_key(j, "n_inner", c.n_inner, source);
    read_key(j, "rotary_dim", rotary_dim, source);
    read_key(j, "activation_function", c.activation_function, source);
    read_key(j, "layer_norm_epsilon", c.layer_norm_epsilon, source);
    require_positive(c.n_embd, "n_embd", source);
    require_positive(c.n_head, "n_head", source);
    if (c.n_embd % c.n_head != 0) fail("{}: n_embd ({}) must be divisible by n_head ({})", source, c.n_embd, c.n_head);
    c.head_dim = c.n_embd / c.n_head;
    if (c.n_inner == 0) c.n_inner = 4 * c.n_embd;
    c.rope.rotary_dim = rotary_dim_null ? c.head_dim : rotary_dim;
    c.rope.every_two = true;
    c.use_parallel_residual = true;
    c.mlp_bias = true;
    c.lm_head_bias = true;
  } else if (model_type == "gpt_neox") {
    c.family = ModelFamily::kGPTNeoX;
    c.vocab_size = 50432, c.n_positions = 2048, c.n_embd = 6144, c.n_layer = 44, c.n_head = 64, c.n_inner = 24576;
    c.activation_function = "gelu";
    c.bos_token_id = 0, c.eos_token_id = 2;
    c.use_parallel_residual = true;
    c.attention_bias = true;
    partial_rotary = 0.25;
    read_key(j, "max_position_embeddings", c.n_positions, source);
    read_key(j, "hidden_size", c.n_embd, source);
    read_key(j, "num_hidden_layers", c.n_layer, source);
    read_key(j, "num_attention_heads", c.n_head, source);
    read_key(j, "intermediate_size", c.n_inner, source);
    read_key(j, "hidden_act", c.activation_function, source);
    read_key(j, "layer_norm_eps", c.layer_norm_epsilon, source);
    read_key(j, "use_parallel_residual", c.use_parallel_residual, source);
    read_key(j, "attention_bias", c.attention_bias, source);
    read_any(j, {"rotary_pct", "partial_rotary_factor"}, partial_rotary, source);
    read_any(j, {"rotary_emb_base", "rope_theta"}, c.rope.theta, source);
    if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
      // newer files: rope_parameters {rope_theta, partial_rotary_factor, rope_type, ...}
      const auto& rp = j["rope_parameters"];
      read_key(rp, "rope_theta", c.rope.theta, source);
      read_key(rp, "partial_rotary_factor", partial_rotary, source);
      read_rope_scaling(rp, c.rope, source, "rope_parameters");
    }
    if (j.contains("rope_scaling")) read_rope_scaling(j["rope_scaling"], c.rope, source, "rope_scaling");
    c.attention_out_bias = c.attention_bias;
    c.mlp_bias = true;
  } else if (model_type == "llama" || model_type == "mistral" || model_type == "qwen2") {
    c.family = ModelFamily::kLlama;
    c.vocab_size = 32000, c.n_embd = 4096, c.n_layer = 32, c.n_head = 32, c.n_inner = 11008, c.n_positions = 2048;
    c.bos_token_id = 1, c.eos_token_id = 2;
    c.layer_norm_epsilon = 1e-6;
    c.activation_function = "silu";
    if (model_type == "mistral") c.n_inner = 14336, c.n_positions = 4096 * 32, c.n_kv_head = 8;
    if (model_type == "qwen2") {
      c.vocab_size = 151936, c.n_inner = 22016, c.n_positions = 32768;
      c.bos_token_id = c.eos_token_id = -1;
    }
    read_key(j, "vocab_size", c.vocab_size, source);
    read_key(j, "max_position_embeddings", c.n_positions, source);
    read_key(j, "hidden_size", c.n_embd, source);
    read_key(j, "num_hidden_layers", c.n_layer, source);
    read_key(j, "num_attention_heads", c.n_head, source);
    read_key(j, "num_key_value_heads", c.n_kv_head, source);
    read_key(j, "intermediate_size", c.n_inner, source);
    read_key(j, "hidden_act", c.activation_function, source);
    read_key(j, "rms_norm_eps", c.layer_norm_epsilon, source);
    read_key(j, "rope_theta", c.rope.theta, source);
    read_key(j, "partial_rotary_factor", partial_rotary, source);
    if (model_type != "qwen2") read_key(j, "head_dim", c.head_dim, source);
    if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {  // newer files' spelling
      const auto& rp = j["rope_parameters"];
      read_key(rp, "rope_theta", c.rope.theta, source);
      read_key(rp, "partial_rotary_factor", partial_rotary, source);
      read_rope_scaling(rp, c.rope, source, "rope_parameters");
    }
    if (j.contains("rope_scaling")) read_rope_scaling(j["rope_scaling"], c.rope, source, "rope_scaling");
    if (model_type == "llama") {
      read_key(j, "attention_bias", c.attention_bias, source);
      c.attention_out_bias = c.attention_bias;
      read_key(j, "mlp_bias", c.mlp_bias, source);
    } else if (model_type == "qwen2") {
      c.attention_bias = true;  // q/k/v; o_proj has none
      bool use_window = false;
      read_key(j, "use_sliding_window", use_window, source);
      int64_t window = 4096;
      read_key(j, "sliding_window", window, source);
      // Qwen2Config drops sliding_window unless use_sliding_window; transformers 4.47's eager
      // mask then applies it to every layer (max_window_layers only reaches flash attention).
      if (use_window) c.sliding_window = window;
    } else {  // mistral
      int64_t window = 4096;
      auto it = j.find("sliding_window");
      if (it == j.end()) {
        c.sliding_window = window;
      } else if (!it->is_null()) {
        read_key(j, "sliding_window", window, source);
        c.sliding_window = window;
      }
    }
    if (c.sliding_window && *c.sliding_window <= 0) {
      fail("{}: \"sliding_window\" must be positive, found {}", source, *c.sliding_window);
    }
  } else {
    fail("{}: model_type \"{}\" is not supported (supported: {})", source, model_type, kSupportedTypes);
  }
  if (c.family != ModelFamily::kLlama) read_key(j, "vocab_size", c.vocab_size, source);
  read_key(j, "tie_word_embeddings", c.tie_word_embeddings, source);
  if (c.family == ModelFamily::kLlama && !j.contains("tie_word_embeddings")) c.tie_word_embeddings = false;
  c.bos_token_id = read_token_id(j, "bos_token_id", c.bos_token_id, source);
  c.eos_token_id = read_token_id(j, "eos_token_id", c.eos_token_id, source);
  if (j.contains("eos_token_id")) {
    c.eos_token_ids = read_token_ids(j, "eos_token_id", source);
  } else if (c.eos_token_id >= 0) {
    c.eos_token_ids = {c.eos_token_id};  // the family's default
  }

  require_positive(c.vocab_size, "vocab_size", source);
  require_positive(c.n_positions, "max_position_embeddings", source);
  require_positive(c.n_embd, "hidden_size", source);
  require_positive(c.n_layer, "num_hidden_layers", source);
  require_positive(c.n_head, "num_attention_heads", source);
  require_positive(c.n_inner, "intermediate_size", source);
  if (c.n_kv_head == 0) c.n_kv_head = c.n_head;
  require_positive(c.n_kv_head, "num_key_value_heads", source);
  if (c.n_head % c.n_kv_head != 0) {
    fail("{}: num_attention_heads ({}) must be a multiple of num_key_value_heads ({})", source, c.n_head, c.n_kv_head);
  }
  if (c.head_dim == 0) {
    if (c.n_embd % c.n_head != 0) {
      fail("{}: hidden_size ({}) must be divisible by num_attention_heads ({})", source, c.n_embd, c.n_head);
    }
    c.head_dim = c.n_embd / c.n_head;
  }
  require_positive(c.head_dim, "head_dim", source);
  if (c.family != ModelFamily::kGPTJ) {
    if (!(partial_rotary > 0 && partial_rotary <= 1)) {
      fail("{}: rotary_pct / partial_rotary_factor must be in (0, 1], found {}", source, partial_rotary);
    }
    c.rope.rotary_dim = static_cast<int64_t>(static_cast<double>(c.head_dim) * partial_rotary);  // int() as HF
  }
  if (c.rope.rotary_dim <= 0 || c.rope.rotary_dim > c.head_dim || c.rope.rotary_dim % 2 != 0) {
    fail("{}: the rotary dimension {} must be even and within the head dimension {}", source, c.rope.rotary_dim,
         c.head_dim);
  }
  if (!(c.rope.theta > 0)) fail("{}: rope theta must be positive, found {}", source, c.rope.theta);
  if (c.rope.type == "dynamic" && c.rope.rotary_dim <= 2) {
    fail("{}: dynamic rope scaling needs a rotary dimension above 2", source);
  }
  c.rope.max_position_embeddings = c.n_positions;
  if (!(c.layer_norm_epsilon > 0)) fail("{}: the norm epsilon must be positive, found {}", source, c.layer_norm_epsilon);
  check_activation(c.activation_function, source);
  if (!c.parameter_count()) fail("{}: the model it describes has more than 2^63 parameters", source);
  return c;
}

std::optional<int64_t> ModelConfig::parameter_count() const {
  if (gpt2) return gpt2->parameter_count();
  using I = __int128;
  // Each size below 2^31 (real models are far below), so no product of them overflows 128 bits.
  for (int64_t v : {n_embd, vocab_size, n_inner, n_layer, n_head, n_kv_head, head_dim}) {
    if (v < 0 || v > INT32_MAX) return std::nullopt;
  }
  const I C = n_embd, V = vocab_size, M = n_inner, L = n_layer;
  const I q = static_cast<I>(n_head) * head_dim, kv = static_cast<I>(n_kv_head) * head_dim;
  I block = C * (q + 2 * kv) + q * C;  // attention
  if (family == ModelFamily::kLlama) {
    block += 3 * C * M + 2 * C;
  } else {
    block += 2 * C * M + 4 * C;
  }
  I total = V * C * (tie_word_embeddings ? 1 : 2) + L * block + 2 * C;
  if (total < 0 || total > static_cast<I>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(total);
}

nlohmann::json ModelConfig::to_json() const {
  if (gpt2) return gpt2->to_json();
  return raw;
}

ModelConfig ModelConfig::from_file(const std::filesystem::path& path) {
  auto c = from_json(read_json_file(path, "model's config.json"), path.string());
  const auto generation = path.parent_path() / "generation_config.json";
  if (std::filesystem::exists(generation)) {
    const auto g = read_json_file(generation, "generation_config.json");
    if (g.contains("eos_token_id")) {
      c.eos_token_ids = read_token_ids(g, "eos_token_id", generation.string());
      if (!c.eos_token_ids.empty()) c.eos_token_id = c.eos_token_ids[0];
    }
  }
  return c;
}

}  // namespace editlab
