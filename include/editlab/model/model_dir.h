// A Hugging Face model directory: config.json, model.safetensors (or shards through
// model.safetensors.index.json), and a tokenizer (tokenizer.json, or vocab.json + merges.txt).
// config.json's model_type picks the family: gpt2, gptj, gpt_neox, llama, mistral, qwen2.
// Loading maps the weights (zero-copy for float32), checks every tensor's name and shape, and
// builds the tokenizer.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "editlab/model/config.h"
#include "editlab/model/device.h"  // parse_device, parse_compute_dtype
#include "editlab/model/gpt2.h"
#include "editlab/model/model_config.h"
#include "editlab/model/safetensors.h"
#include "editlab/model/tokenizer.h"

namespace editlab {

struct LoadOptions {
  torch::ScalarType dtype = torch::kFloat32;  // compute dtype: float32, float64, bfloat16, float16 (CUDA)
  torch::Device device = torch::kCPU;
};


struct LoadedModel {
  LoadedModel(std::filesystem::path dir_, ModelConfig config_, Checkpoint checkpoint_)
      : dir(std::move(dir_)), config(std::move(config_)), checkpoint(std::move(checkpoint_)) {}

  std::filesystem::path dir;
  ModelConfig config;                    // family-neutral; config.gpt2 for GPT-2
  std::shared_ptr<LanguageModel> model;  // any family
  std::shared_ptr<GPT2> gpt2;            // the same model when it is a GPT-2, else null
  // The HF module path of the MLP output projection with {} for the layer (ROME's
  // rewrite_module_tmp): "transformer.h.{}.mlp.c_proj" (GPT-2), "transformer.h.{}.mlp.fc_out"
  // (GPT-J), "gpt_neox.layers.{}.mlp.dense_4h_to_h", "model.layers.{}.mlp.down_proj".
  std::string rewrite_module_template;
  std::shared_ptr<const Tokenizer> tokenizer;
  Checkpoint checkpoint;  // keeps the mapped weights alive

  // "xxh3-128:..." over the checkpoint's header and data bytes; reads every byte (cached).
  const std::string& fingerprint();

 private:
  std::string fingerprint_;
};

// Maps a checkpoint tensor name to the module's name: drops a "transformer." prefix. Returns
// "" for names that are accepted and ignored (attn.bias / attn.masked_bias buffers of old
// checkpoints, and lm_head.weight, which GPT-2 ties to wte and is checked separately).
std::string module_parameter_name(const std::string& checkpoint_name);

LoadedModel load_model(const std::filesystem::path& dir, const LoadOptions& options = {});

// The GPT-2 model of `loaded`, or an Error naming `what` (the feature that needs GPT-2) and the
// model's family.
GPT2& require_gpt2(LoadedModel& loaded, const std::string& what);

// Writes a complete HF directory (config.json, model.safetensors with float32 weights and no
// lm_head, since it is tied; vocab.json and merges.txt copied from `tokenizer_dir`). Atomic per
// file; the directory is created if needed.
void save_model(GPT2& model, const GPT2Config& config, const std::filesystem::path& tokenizer_dir,
                const std::filesystem::path& out_dir);

// The loaded (possibly edited) model of any family as a Hugging Face directory that
// from_pretrained and load_model read: GPT-2 as save_model above; the other families with
// config.json as read (torch_dtype set to what is written), model.safetensors under the HF
// names (float32, or bfloat16 / float16 when the model computes in it; a tied head left out, as
// HF writes it), and the source directory's tokenizer and generation files copied.
void save_loaded_model(LoadedModel& loaded, const std::filesystem::path& out_dir);

}  // namespace editlab
