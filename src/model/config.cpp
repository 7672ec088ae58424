#include "editlab/model/config.h"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <set>
#include <type_traits>

#include "editlab/util/error.h"
#include "editlab/util/json_file.h"
#include "config_keys.h"

namespace editlab {
namespace {

template <typename T>
void read_key(const nlohmann::json& j, const char* key, T& out, const std::string& source) {
  detail::read_key(j, key, out, source);
}

void require_positive(int64_t value, const char* key, const std::string& source) {
  if (value <= 0) fail("{}: \"{}\" must be positive, found {}", source, key, value);
}

}  // namespace

GPT2Config GPT2Config::from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) fail("{}: expected a JSON object", source);
  std::string model_type = "gpt2";
  read_key(j, "model_type", model_type, source);
  if (model_type != "gpt2") {
    fail("{}: model_type \"{}\" is not supported (editlab loads GPT-2 models: model_type \"gpt2\")", source,
         model_type);
  }
  GPT2Config c;
  read_key(j, "vocab_size", c.vocab_size, source);
  read_key(j, "n_positions", c.n_positions, source);
  read_key(j, "n_embd", c.n_embd, source);
  read_key(j, "n_layer", c.n_layer, source);
  read_key(j, "n_head", c.n_head, source);
  read_key(j, "n_inner", c.n_inner, source);
  read_key(j, "activation_function", c.activation_function, source);
  read_key(j, "layer_norm_epsilon", c.layer_norm_epsilon, source);
  read_key(j, "scale_attn_weights", c.scale_attn_weights, source);
  read_key(j, "scale_attn_by_inverse_layer_idx", c.scale_attn_by_inverse_layer_idx, source);
  read_key(j, "reorder_and_upcast_attn", c.reorder_and_upcast_attn, source);
  read_key(j, "bos_token_id", c.bos_token_id, source);
  read_key(j, "eos_token_id", c.eos_token_id, source);

  require_positive(c.vocab_size, "vocab_size", source);
  require_positive(c.n_positions, "n_positions", source);
  require_positive(c.n_embd, "n_embd", source);
  require_positive(c.n_layer, "n_layer", source);
  require_positive(c.n_head, "n_head", source);
  if (c.n_inner < 0) fail("{}: \"n_inner\" must be positive or null, found {}", source, c.n_inner);
  if (c.n_embd % c.n_head != 0) {
    fail("{}: n_embd ({}) must be divisible by n_head ({})", source, c.n_embd, c.n_head);
  }
  if (!(c.layer_norm_epsilon > 0)) {
    fail("{}: layer_norm_epsilon must be positive, found {}", source, c.layer_norm_epsilon);
  }
  static const std::set<std::string> activations = {"gelu_new", "gelu_pytorch_tanh", "gelu", "relu", "silu", "swish"};
  if (!activations.count(c.activation_function)) {
    fail(
        "{}: activation_function \"{}\" is not supported (supported: gelu_new, "
        "gelu_pytorch_tanh, gelu, relu, silu)",
        source, c.activation_function);
  }
  if (!c.parameter_count()) {
    fail("{}: the model it describes (n_layer {}, n_embd {}, vocab_size {}, n_positions {}, n_inner {}) has more "
         "than 2^63 parameters",
         source, c.n_layer, c.n_embd, c.vocab_size, c.n_positions, c.n_inner);
  }
  // n_ctx is a legacy alias of n_positions in old checkpoints; a disagreement is suspicious.
  if (j.contains("n_ctx") && j["n_ctx"].is_number_integer() && j["n_ctx"].get<int64_t>() != c.n_positions) {
    fail("{}: n_ctx ({}) differs from n_positions ({}); editlab cannot tell which one holds", source,
         j["n_ctx"].get<int64_t>(), c.n_positions);
  }
  return c;
}

std::optional<int64_t> GPT2Config::parameter_count() const {
  // Every step overflow-checked: the sizes come from an untrusted config.json.
  bool overflow = false;
  auto mul = [&](int64_t a, int64_t b) {
    int64_t r = 0;
    overflow = overflow || __builtin_mul_overflow(a, b, &r);
    return r;
  };
  auto add = [&](int64_t a, int64_t b) {
    int64_t r = 0;
    overflow = overflow || __builtin_add_overflow(a, b, &r);
    return r;
  };
  if (vocab_size < 0 || n_positions < 0 || n_embd < 0 || n_layer < 0 || n_inner < 0) return std::nullopt;
  const int64_t C = n_embd;
  const int64_t M = n_inner > 0 ? n_inner : mul(4, C);
  const int64_t C3 = mul(3, C);
  // ln_1, ln_2: 2C each; c_attn: C x 3C + 3C; attn c_proj: C x C + C; c_fc: C x M + M; mlp c_proj: M x C + C.
  int64_t block = add(mul(4, C), add(mul(C, C3), C3));
  block = add(block, add(mul(C, C), C));
  block = add(block, add(mul(C, M), M));
  block = add(block, add(mul(M, C), C));
  int64_t total = add(mul(vocab_size, C), mul(n_positions, C));
  total = add(total, add(mul(n_layer, block), mul(2, C)));
  if (overflow) return std::nullopt;
  return total;
}

GPT2Config GPT2Config::from_file(const std::filesystem::path& path) {
  return from_json(read_json_file(path, "model's config.json"), path.string());
}

nlohmann::json GPT2Config::to_json() const {
  return {
      {"model_type", "gpt2"},
      {"architectures", {"GPT2LMHeadModel"}},
      {"vocab_size", vocab_size},
      {"n_positions", n_positions},
      {"n_ctx", n_positions},
      {"n_embd", n_embd},
      {"n_layer", n_layer},
      {"n_head", n_head},
      {"n_inner", n_inner > 0 ? nlohmann::json(n_inner) : nlohmann::json(nullptr)},
      {"activation_function", activation_function},
      {"layer_norm_epsilon", layer_norm_epsilon},
      {"scale_attn_weights", scale_attn_weights},
      {"scale_attn_by_inverse_layer_idx", scale_attn_by_inverse_layer_idx},
      {"reorder_and_upcast_attn", reorder_and_upcast_attn},
      {"bos_token_id", bos_token_id},
      {"eos_token_id", eos_token_id},
      {"resid_pdrop", 0.1},
      {"embd_pdrop", 0.1},
      {"attn_pdrop", 0.1},
      {"initializer_range", 0.02},
      {"use_cache", true},
  };
}

}  // namespace editlab
