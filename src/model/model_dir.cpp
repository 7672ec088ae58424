#include "editlab/model/model_dir.h"

#include <cstring>
#include <fstream>
#include <future>
#include <set>

#include "editlab/model/safetensors_torch.h"
#include "decoder.h"
#include "editlab/util/atomic_file.h"
#include "editlab/util/error.h"

namespace editlab {
namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void require_file(const fs::path& path, const char* what) {
  if (!fs::exists(path)) fail("{}: missing {} (expected a Hugging Face model directory)", path.string(), what);
}

void require_tokenizer(const fs::path& dir) {
  if (fs::exists(dir / "tokenizer.json")) return;
  if (!fs::exists(dir / "vocab.json") || !fs::exists(dir / "merges.txt")) {
    fail("{}: missing a tokenizer: tokenizer.json, or vocab.json and merges.txt (expected a Hugging Face model "
         "directory)",
         dir.string());
  }
}

// Checkpoint names a rotary family's loader accepts and ignores: buffers of old checkpoints.
bool ignored_buffer(const std::string& name) {
  return ends_with(name, ".rotary_emb.inv_freq") || ends_with(name, ".attn.bias") ||
         ends_with(name, ".attn.masked_bias") || ends_with(name, ".attention.bias") ||
         ends_with(name, ".attention.masked_bias");
}

// The module is built (its tensors allocated, its n_layer blocks made) from config.json's sizes
// before the weights are matched to it: a config declaring a far larger model than the checkpoint
// holds must fail here, not allocate by what it declares. Every parameter must be in the
// checkpoint, so a model of more values than the checkpoint holds fails in load_parameters
// anyway; up to twice as many, it fails there, naming the first missing or misshapen tensor.
void check_checkpoint_size(const LoadedModel& loaded) {
  int64_t checkpoint_values = 0;
  for (const TensorView* view : loaded.checkpoint.tensors()) checkpoint_values += view->numel();
  if (*loaded.config.parameter_count() / 2 > checkpoint_values) {
    fail("{}: config.json describes a model of {} parameters, but the checkpoint holds only {} values",
         loaded.dir.string(), *loaded.config.parameter_count(), checkpoint_values);
  }
}

// Sets every parameter of `model` (GPT2 or a rotary family) from the checkpoint: parameter_of gives
// the parameter a tensor fills, or "" for a tensor accepted and ignored; each is converted to the
// compute dtype. A tensor the model has no place for, or a parameter no tensor fills, is an error.
template <typename Model, typename ParameterOf>
void load_parameters(Model& model, const LoadedModel& loaded, const LoadOptions& options, ParameterOf&& parameter_of) {
  const auto& dir = loaded.dir;
  std::set<std::string> expected;
  for (const auto& [name, _] : model.parameters_by_name()) expected.insert(name);
  for (const TensorView* view : loaded.checkpoint.tensors()) {
    const std::string name = parameter_of(*view);
    if (name.empty()) continue;
    if (!expected.count(name)) {
      fail("{}: unexpected tensor \"{}\" for a {} with {} layers", dir.string(), view->name,
           loaded.config.family_name(), loaded.config.n_layer);
    }
    auto tensor = to_tensor(loaded.checkpoint.file_of(view->name), *view, options.dtype);
    try {
      model.set_parameter(name, tensor);
    } catch (const Error& e) {
      fail("{}: {}", dir.string(), e.what());
    }
    expected.erase(name);
  }
  if (!expected.empty()) {
    fail("{}: the checkpoint lacks {} parameter(s), e.g. \"{}\"", dir.string(), expected.size(), *expected.begin());
  }
  if (options.device != torch::kCPU) model.to(options.device);
}

// lm_head.weight, when a checkpoint carries it, must be the tied wte.weight.
void check_tied_head(const Checkpoint& ckpt, const TensorView* head, const fs::path& dir) {
  const TensorView* wte = ckpt.find("transformer.wte.weight");
  if (wte == nullptr) wte = ckpt.find("wte.weight");
  if (wte == nullptr) return;  // reported as a missing parameter
  if (head->dtype != wte->dtype || head->shape != wte->shape || head->nbytes != wte->nbytes ||
      std::memcmp(head->data, wte->data, head->nbytes) != 0) {
    fail("{}: lm_head.weight differs from wte.weight; editlab supports GPT-2 with a tied LM head", dir.string());
  }
}

}  // namespace

std::string module_parameter_name(const std::string& checkpoint_name) {
  std::string name = checkpoint_name;
  if (name.rfind("transformer.", 0) == 0) name = name.substr(std::string("transformer.").size());
  if (ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias")) return "";
  if (name == "lm_head.weight") return "";
  return name;
}

const std::string& LoadedModel::fingerprint() {
  if (fingerprint_.empty()) fingerprint_ = checkpoint.fingerprint();
  return fingerprint_;
}

LoadedModel load_model(const fs::path& dir, const LoadOptions& options) {
  if (!fs::is_directory(dir)) fail("{}: not a directory (expected a Hugging Face model directory)", dir.string());
  compute_dtype_name(options.dtype);  // an Error for a dtype editlab does not compute in
  if (options.dtype == torch::kHalf && options.device.is_cpu()) {
    fail(
        "--dtype float16 needs a CUDA device: libtorch's CPU kernels have no float16 matrix product; use bfloat16 "
        "or float32 on a CPU");
  }
  require_file(dir / "config.json", "config.json");
  require_tokenizer(dir);

  // The tokenizer (parsing ~1.5 MB of vocab and merges) builds on another core meanwhile.
  auto tokenizer = std::async(std::launch::async, [dir] { return Tokenizer::from_dir(dir); });
  LoadedModel loaded(dir, ModelConfig::from_file(dir / "config.json"), Checkpoint::open_dir(dir));
  torch::NoGradGuard no_grad;
  check_checkpoint_size(loaded);
  if (loaded.config.gpt2) {
    loaded.gpt2 = std::make_shared<GPT2>(*loaded.config.gpt2);
    loaded.model = loaded.gpt2;
    loaded.rewrite_module_template = "transformer.h.{}.mlp.c_proj";
    load_parameters(*loaded.gpt2, loaded, options, [&](const TensorView& view) {
      std::string name = module_parameter_name(view.name);
      if (name.empty() && ends_with(view.name, "lm_head.weight")) check_tied_head(loaded.checkpoint, &view, dir);
      return name;
    });
  } else {
    auto model = detail::make_decoder(loaded.config);
    // A tied head is absent from HF's files; one that is there anyway is ignored, as HF ties it.
    const std::string tied_head =
        loaded.config.family == ModelFamily::kGPTNeoX ? "embed_out.weight" : "lm_head.weight";
    load_parameters(*model, loaded, options, [&](const TensorView& view) {
      const bool ignored = ignored_buffer(view.name) || (loaded.config.tie_word_embeddings && view.name == tied_head);
      return ignored ? std::string() : view.name;
    });
    loaded.rewrite_module_template = model->rewrite_module_template();
    loaded.model = std::move(model);
  }
  loaded.tokenizer = std::make_shared<const Tokenizer>(tokenizer.get());
  if (loaded.tokenizer->vocab_size() > loaded.config.vocab_size) {
    fail("{}: the tokenizer has {} tokens but config.json says vocab_size {}", dir.string(),
         loaded.tokenizer->vocab_size(), loaded.config.vocab_size);
  }
  return loaded;
}

GPT2& require_gpt2(LoadedModel& loaded, const std::string& what) {
  if (!loaded.gpt2) {
    fail("{}: {} supports GPT-2 models only; this is a {} (model_type \"{}\")", loaded.dir.string(), what,
         loaded.config.family_name(), loaded.config.model_type);
  }
  return *loaded.gpt2;
}

void save_model(GPT2& model, const GPT2Config& config, const fs::path& tokenizer_dir, const fs::path& out_dir) {
  fs::create_directories(out_dir);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (auto& [name, tensor] : model.parameters_by_name()) {
    tensors.emplace_back(name, tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous());
  }
  save_tensors(out_dir / "model.safetensors", tensors, {{"format", "pt"}});
  write_file_atomically(out_dir / "config.json", config.to_json().dump(2) + "\n");
  if (!fs::equivalent(tokenizer_dir, out_dir)) {
    for (const char* file : {"vocab.json", "merges.txt"}) {
      fs::copy_file(tokenizer_dir / file, out_dir / file, fs::copy_options::overwrite_existing);
    }
  }
}

void save_loaded_model(LoadedModel& loaded, const fs::path& out_dir) {
  if (loaded.gpt2) {
    save_model(*loaded.gpt2, *loaded.config.gpt2, loaded.dir, out_dir);
    return;
  }
  if (fs::exists(out_dir) && fs::equivalent(out_dir, loaded.dir)) {
    fail("--save {}: that is the directory the model was loaded from (its weights are memory-mapped); save elsewhere",
         out_dir.string());
  }
  fs::create_directories(out_dir);
  const auto dtype = loaded.model->dtype();
  const auto stored = is_half_precision(dtype) ? dtype : torch::kFloat32;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (auto& [name, tensor] : loaded.model->parameters_by_name()) {
    tensors.emplace_back(name, tensor.detach().to(torch::kCPU, stored).contiguous());
  }
  save_tensors(out_dir / "model.safetensors", tensors, {{"format", "pt"}});
  auto config = loaded.config.to_json();
  config["torch_dtype"] = compute_dtype_name(stored);
  write_file_atomically(out_dir / "config.json", config.dump(2) + "\n");
  for (const char* file : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                           "vocab.json", "merges.txt", "added_tokens.json", "generation_config.json"}) {
    if (fs::exists(loaded.dir / file)) {
      fs::copy_file(loaded.dir / file, out_dir / file, fs::copy_options::overwrite_existing);
    }
  }
}

}  // namespace editlab
