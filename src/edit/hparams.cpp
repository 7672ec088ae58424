#include "editlab/edit/hparams.h"

#include <fmt/ranges.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <span>
#include <string_view>

#include "../model/unicode_text.h"  // invalid_utf8_offset
#include "editlab/util/error.h"
#include "editlab/util/json_file.h"

namespace editlab {
namespace {

// An integer that fits in int64 (nlohmann would convert a float or a huge unsigned with a cast,
// undefined for 1e300).
bool is_int64(const nlohmann::json& v) {
  return v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX));
}

// Reads j[key] into out when present, checking its type (down to the elements of a list);
// errors name the file and the key.
template <typename T>
void read(const nlohmann::json& j, const char* key, T& out, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end()) return;
  bool ok = false;
  if constexpr (std::is_same_v<T, bool>) {
    ok = it->is_boolean();
  } else if constexpr (std::is_same_v<T, int64_t>) {
    ok = is_int64(*it);
  } else if constexpr (std::is_same_v<T, double>) {
    ok = it->is_number();
  } else if constexpr (std::is_same_v<T, std::string>) {
    ok = it->is_string();
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    ok = it->is_array() && std::all_of(it->begin(), it->end(), is_int64);
  } else {
    static_assert(std::is_same_v<T, std::vector<std::pair<int64_t, int64_t>>>);
    ok = it->is_array() && std::all_of(it->begin(), it->end(), [](const nlohmann::json& pair) {
           return pair.is_array() && pair.size() == 2 && is_int64(pair[0]) && is_int64(pair[1]);
         });
  }
  if (!ok) fail("{}: key \"{}\" has the wrong type: {}", source, key, it->dump());
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    fail("{}: key \"{}\" has the wrong type: {}", source, key, it->dump());
  }
}

// Keys that ROME's and EasyEdit's hyperparameter files carry for other purposes than the method's
// numbers (module names for other architectures, where to run, what to log): accepted, ignored.
constexpr std::string_view kAcceptedElsewhere[] = {
    "rewrite_module_tmp", "layer_module_tmp", "mlp_module_tmp", "attn_module_tmp", "ln_f_module",    "lm_head_module",
    "alg_name",           "model_name",       "device",         "stats_dir",       "model_parallel", "fp16"};

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// As strict as ROME's dataclasses: every required key present, no key that is neither required,
// optional nor in kAcceptedElsewhere (a typo such as "lyers" is an error naming the likely key).
void check_keys(const nlohmann::json& j, std::span<const std::string_view> required,
                std::span<const std::string_view> optional, const char* method, const std::string& source) {
  for (const auto key : required) {
    if (!j.contains(key)) {
      fail("{}: missing key \"{}\" ({} hyperparameters need every one of: {})", source, key, method,
           fmt::join(required, ", "));
    }
  }
  for (const auto& item : j.items()) {
    const std::string& key = item.key();  // not a structured binding: clang before 16 cannot capture one
    auto known = [&](std::span<const std::string_view> list) { return std::ranges::find(list, key) != list.end(); };
    if (known(required) || known(optional) || known(kAcceptedElsewhere)) continue;
    std::string_view closest;
    size_t best = 3;  // suggest only near misses
    for (const auto list : {required, optional}) {
      for (const auto candidate : list) {
        // The distance is at least the difference in length: skip the O(n m) table for a long key.
        if (key.size() >= candidate.size() + best) continue;
        if (const size_t d = edit_distance(key, candidate); d < best) best = d, closest = candidate;
      }
    }
    fail("{}: unknown key \"{}\"{} ({} hyperparameters: {}{}{})", source, key,
         closest.empty() ? std::string() : fmt::format("; did you mean \"{}\"?", closest), method,
         fmt::join(required, ", "), optional.empty() ? "" : ", optional ", fmt::join(optional, ", "));
  }
}

nlohmann::json yaml_to_json(const YAML::Node& node, const std::string& source) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      auto out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(yaml_to_json(item, source));
      return out;
    }
    case YAML::NodeType::Map: {
      auto out = nlohmann::json::object();
      for (const auto& item : node) out[item.first.as<std::string>()] = yaml_to_json(item.second, source);
      return out;
    }
    case YAML::NodeType::Scalar:
      break;
  }
  const std::string text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: a string whatever it reads like
  if (text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  int64_t integer = 0;
  const char* end = text.data() + text.size();
  if (auto [p, ec] = std::from_chars(text.data(), end, integer); ec == std::errc() && p == end) return integer;
  double real = 0;
  if (auto [p, ec] = std::from_chars(text.data(), end, real); ec == std::errc() && p == end && std::isfinite(real)) {
    return real;
  }
  return text;
}

}  // namespace

nlohmann::json read_hparams_file(const std::filesystem::path& path) {
  const auto ext = path.extension().string();
  if (ext != ".yaml" && ext != ".yml") return read_json_file(path, "hyperparameter file");
  std::ifstream in(path);
  if (!in) fail("{}: cannot open the hyperparameter file ({})", path.string(), std::strerror(errno));
  std::error_code ec;
  // A hyperparameter file is a few hundred bytes; this bounds what yaml-cpp builds from a stranger's file.
  if (const auto bytes = std::filesystem::file_size(path, ec); !ec && bytes > (1u << 20)) {
    fail("{}: the hyperparameter file is {} bytes; YAML hyperparameter files are limited to 1 MiB", path.string(), bytes);
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // yaml-cpp passes bytes through; JSON (and every message that quotes a value) needs UTF-8.
  if (const auto bad = detail::invalid_utf8_offset(text)) {
    fail("{}: the hyperparameter file is not valid UTF-8 at byte offset {}", path.string(), *bad);
  }
  try {
    const auto root = YAML::Load(text);
    if (!root.IsMap()) fail("{}: the hyperparameter file is not a YAML mapping of keys to values", path.string());
    return yaml_to_json(root, path.string());
  } catch (const YAML::Exception& e) {
    fail("{}: not valid YAML (the hyperparameter file): line {}, column {}: {}", path.string(), e.mark.line + 1,
         e.mark.column + 1, e.msg);
  }
}

namespace {

constexpr std::string_view kRomeRequired[] = {"layers",          "fact_token",     "v_num_grad_steps",  "v_lr",
                                              "v_loss_layer",    "v_weight_decay", "clamp_norm_factor", "kl_factor",
                                              "mom2_adjustment", "mom2_dataset",   "mom2_n_samples",    "mom2_dtype"};
// rebuilding-rome's files carry enable_random_prefix_keys, bias_update, dynamic and
// dynamic_multiplier: read and checked (make_editor, from_json), the last three only off.
constexpr std::string_view kRomeOptional[] = {"context_template_length_params", "enable_random_prefix_keys",
                                              "bias_update", "dynamic", "dynamic_multiplier"};
constexpr std::string_view kFtRequired[] = {"layers",       "num_steps", "lr",
                                            "weight_decay", "kl_factor", "norm_constraint"};
constexpr std::string_view kFtOptional[] = {"batch_size", "objective"};

void check_layers(const std::vector<int64_t>& layers, const std::string& source) {
  if (layers.empty()) fail("{}: \"layers\" must list at least one layer", source);
  for (auto l : layers) {
    if (l < 0) fail("{}: \"layers\" holds a negative layer ({})", source, l);
  }
}

void check_positive(double value, const char* key, const std::string& source) {
  if (!(value > 0)) fail("{}: \"{}\" must be positive, found {}", source, key, value);
}

void check_non_negative(double value, const char* key, const std::string& source) {
  if (!(value >= 0)) fail("{}: \"{}\" must be >= 0, found {}", source, key, value);
}

}  // namespace

namespace {

// The keys ROME, MEMIT, EMMET and AlphaEdit share (the target optimisation and the statistics),
// read into h and range-checked.
void read_rome_fields(const nlohmann::json& j, RomeHparams& h, const std::string& source) {
  read(j, "layers", h.layers, source);
  read(j, "fact_token", h.fact_token, source);
  read(j, "v_num_grad_steps", h.v_num_grad_steps, source);
  read(j, "v_lr", h.v_lr, source);
  read(j, "v_loss_layer", h.v_loss_layer, source);
  read(j, "v_weight_decay", h.v_weight_decay, source);
  read(j, "clamp_norm_factor", h.clamp_norm_factor, source);
  read(j, "kl_factor", h.kl_factor, source);
  read(j, "mom2_adjustment", h.mom2_adjustment, source);
  read(j, "mom2_dataset", h.mom2_dataset, source);
  read(j, "mom2_n_samples", h.mom2_n_samples, source);
  read(j, "mom2_dtype", h.mom2_dtype, source);
  check_layers(h.layers, source);
  if (h.fact_token != "subject_last" && h.fact_token != "last") {
    fail("{}: \"fact_token\" must be \"subject_last\" or \"last\", found \"{}\"", source, h.fact_token);
  }
  if (h.v_num_grad_steps < 1) fail("{}: \"v_num_grad_steps\" must be >= 1, found {}", source, h.v_num_grad_steps);
  check_positive(h.v_lr, "v_lr", source);
  check_non_negative(h.v_weight_decay, "v_weight_decay", source);
  check_positive(h.clamp_norm_factor, "clamp_norm_factor", source);
  check_non_negative(h.kl_factor, "kl_factor", source);
  if (h.mom2_n_samples < 1) fail("{}: \"mom2_n_samples\" must be >= 1", source);
  if (h.mom2_dtype != "float32" && h.mom2_dtype != "float64" && h.mom2_dtype != "float16") {
    fail("{}: \"mom2_dtype\" must be float16, float32 or float64, found \"{}\"", source, h.mom2_dtype);
  }
}

nlohmann::json rome_fields_json(const RomeHparams& h) {
  return {{"layers", h.layers},
          {"fact_token", h.fact_token},
          {"v_num_grad_steps", h.v_num_grad_steps},
          {"v_lr", h.v_lr},
          {"v_loss_layer", h.v_loss_layer},
          {"v_weight_decay", h.v_weight_decay},
          {"clamp_norm_factor", h.clamp_norm_factor},
          {"kl_factor", h.kl_factor},
          {"mom2_adjustment", h.mom2_adjustment},
          {"mom2_dataset", h.mom2_dataset},
          {"mom2_n_samples", h.mom2_n_samples},
          {"mom2_dtype", h.mom2_dtype}};
}

}  // namespace

RomeHparams RomeHparams::from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) fail("{}: expected a JSON object of ROME hyperparameters", source);
  check_keys(j, kRomeRequired, kRomeOptional, "ROME", source);
  RomeHparams h;
  read_rome_fields(j, h, source);
  read(j, "context_template_length_params", h.context_template_length_params, source);
  for (const char* off : {"bias_update", "dynamic"}) {
    bool value = false;
    read(j, off, value, source);
    if (value) fail("{}: \"{}\": true is not implemented by editlab (rebuilding-rome's option; set it to false)", source, off);
  }
  if (j.contains("enable_random_prefix_keys")) {
    bool value = false;
    read(j, "enable_random_prefix_keys", value, source);
  }
  for (auto [length, count] : h.context_template_length_params) {
    if (length < 2 || count < 0) {
      fail("{}: \"context_template_length_params\" entries are [length >= 2, count >= 0], found [{}, {}]", source,
           length, count);
    }
  }
  return h;
}

nlohmann::json RomeHparams::to_json() const {
  auto j = rome_fields_json(*this);
  j["context_template_length_params"] = context_template_length_params;
  return j;
}

namespace {

// MEMIT's MEMITHyperParams, EMMET's and AlphaEdit's dataclasses (module names: kAcceptedElsewhere).
constexpr std::string_view kMemitRequired[] = {
    "layers",         "fact_token",        "v_num_grad_steps", "v_lr",          "v_loss_layer",
    "v_weight_decay", "clamp_norm_factor", "kl_factor",        "mom2_adjustment", "mom2_update_weight",
    "mom2_dataset",   "mom2_n_samples",    "mom2_dtype"};
constexpr std::string_view kEmmetRequired[] = {
    "layers",         "fact_token",        "v_num_grad_steps", "v_lr",          "v_loss_layer",
    "v_weight_decay", "clamp_norm_factor", "kl_factor",        "mom2_adjustment", "mom2_update_weight",
    "mom2_dataset",   "mom2_n_samples",    "mom2_dtype",       "update_norm_lambda", "emmet_lambda"};
constexpr std::string_view kAlphaEditRequired[] = {
    "layers",         "fact_token",        "v_num_grad_steps", "v_lr",          "v_loss_layer",
    "v_weight_decay", "clamp_norm_factor", "kl_factor",        "mom2_adjustment", "mom2_update_weight",
    "mom2_dataset",   "mom2_n_samples",    "mom2_dtype",       "nullspace_threshold", "L2"};
// layer_selection: "all" as every published file has it; calculate_objective_value (EMMET's
// diagnostics of the objective, off in its files) only false.
constexpr std::string_view kMemitOptional[] = {"layer_selection", "calculate_objective_value"};

}  // namespace

MemitHparams MemitHparams::from_json(const nlohmann::json& j, const std::string& source, const std::string& method) {
  if (!j.is_object()) fail("{}: expected a JSON object of {} hyperparameters", source, method);
  if (method == "emmet") {
    check_keys(j, kEmmetRequired, kMemitOptional, "EMMET", source);
  } else if (method == "alphaedit") {
    check_keys(j, kAlphaEditRequired, kMemitOptional, "AlphaEdit", source);
  } else {
    check_keys(j, kMemitRequired, kMemitOptional, "MEMIT", source);
  }
  MemitHparams h;
  read_rome_fields(j, h, source);
  read(j, "mom2_update_weight", h.mom2_update_weight, source);
  read(j, "update_norm_lambda", h.update_norm_lambda, source);
  read(j, "emmet_lambda", h.emmet_lambda, source);
  read(j, "nullspace_threshold", h.nullspace_threshold, source);
  read(j, "L2", h.L2, source);
  std::string selection = "all";
  read(j, "layer_selection", selection, source);
  if (selection != "all") fail("{}: \"layer_selection\" must be \"all\" (as every published file), found \"{}\"", source, selection);
  bool objective = false;
  read(j, "calculate_objective_value", objective, source);
  if (objective) fail("{}: \"calculate_objective_value\": true is not implemented by editlab (EMMET's diagnostics; set it to false)", source);
  if (h.fact_token != "subject_last") fail("{}: \"fact_token\" must be \"subject_last\" for {} (the reference rejects \"last\")", source, method);
  check_non_negative(h.mom2_update_weight, "mom2_update_weight", source);
  check_non_negative(h.update_norm_lambda, "update_norm_lambda", source);
  check_non_negative(h.emmet_lambda, "emmet_lambda", source);
  check_positive(h.nullspace_threshold, "nullspace_threshold", source);
  check_non_negative(h.L2, "L2", source);
  std::vector<int64_t> sorted = h.layers;
  std::sort(sorted.begin(), sorted.end());
  if (sorted != h.layers || std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    fail("{}: \"layers\" must be ascending without repeats ({} writes them in order; the last is where z is optimised)",
         source, method);
  }
  return h;
}

nlohmann::json MemitHparams::to_json(const std::string& method) const {
  auto j = rome_fields_json(*this);
  j["layer_selection"] = "all";
  if (method != "alphaedit") j["mom2_update_weight"] = mom2_update_weight;
  if (method == "emmet") {
    j["update_norm_lambda"] = update_norm_lambda;
    j["emmet_lambda"] = emmet_lambda;
  }
  if (method == "alphaedit") {
    j["mom2_update_weight"] = mom2_update_weight;  // in the file, unused by the update
    j["nullspace_threshold"] = nullspace_threshold;
    j["L2"] = L2;
  }
  return j;
}

FtHparams FtHparams::from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) fail("{}: expected a JSON object of FT hyperparameters", source);
  check_keys(j, kFtRequired, kFtOptional, "FT", source);
  FtHparams h;
  read(j, "layers", h.layers, source);
  read(j, "num_steps", h.num_steps, source);
  read(j, "lr", h.lr, source);
  read(j, "weight_decay", h.weight_decay, source);
  read(j, "kl_factor", h.kl_factor, source);
  read(j, "batch_size", h.batch_size, source);
  read(j, "objective", h.objective, source);
  if (auto it = j.find("norm_constraint"); it != j.end()) {
    if (it->is_boolean() && !it->get<bool>()) {
      h.norm_constraint = -1;
    } else if (it->is_number()) {
      h.norm_constraint = it->get<double>();
      check_non_negative(h.norm_constraint, "norm_constraint", source);
    } else {
      fail("{}: \"norm_constraint\" must be a number (FT-L's radius) or false, found {}", source, it->dump());
    }
  }
  check_layers(h.layers, source);
  if (h.num_steps < 1) fail("{}: \"num_steps\" must be >= 1, found {}", source, h.num_steps);
  check_positive(h.lr, "lr", source);
  check_non_negative(h.weight_decay, "weight_decay", source);
  if (h.batch_size < 1) fail("{}: \"batch_size\" must be >= 1", source);
  if (h.objective != "nll" && h.objective != "rome-compat") {
    fail("{}: \"objective\" must be \"nll\" or \"rome-compat\", found \"{}\"", source, h.objective);
  }
  return h;
}

nlohmann::json FtHparams::to_json() const {
  return {{"layers", layers},
          {"num_steps", num_steps},
          {"lr", lr},
          {"weight_decay", weight_decay},
          {"kl_factor", kl_factor},
          {"norm_constraint", constrained() ? nlohmann::json(norm_constraint) : nlohmann::json(false)},
          {"batch_size", batch_size},
          {"objective", objective}};
}

IkeHparams IkeHparams::from_json(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) fail("{}: expected a JSON object of IKE hyperparameters", source);
  IkeHparams h;
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    const auto& v = item.value();
    if (key == "alg_name" || key == "model_name" || key == "device") continue;
    int64_t* field = key == "copy" ? &h.copy : key == "update" ? &h.update : key == "retain" ? &h.retain : nullptr;
    if (field != nullptr) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 1000)
        fail("{}: \"{}\" must be an integer in 0..1000, found {}", source, key, v.dump());
      *field = v.get<int64_t>();
    } else if (key == "seed") {
      if (!v.is_number_unsigned()) fail("{}: \"seed\" must be a non-negative integer, found {}", source, v.dump());
      h.seed = v.get<uint64_t>();
    } else {
      fail("{}: unknown key \"{}\" (IKE hyperparameters: copy, update, retain, seed)", source, key);
    }
  }
  return h;
}

nlohmann::json IkeHparams::to_json() const {
  return {{"copy", copy}, {"update", update}, {"retain", retain}, {"seed", seed}};
}

}  // namespace editlab
