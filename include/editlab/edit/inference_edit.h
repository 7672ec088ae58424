// Edits made at inference instead of in the weights, for the seed's hypothesis that editing facts
// during inference handles logical implications better (docs/algorithms.md "Editing at inference"):
//
// - `rome-patch`: ROME's delta for the edit (the MLP-output delta that compute_v optimises, at each
//   layer of the hyperparameters), not written into the weights but added at inference to the MLP
//   output of that layer at the last token of every occurrence of the subject's tokens in the input,
//   and nowhere else (PatchedModel).
// - `ike`: in-context knowledge editing (Zheng et al. 2023): no weight changes; every prompt the
//   probes tokenize is preceded by demonstrations drawn from other records of the dataset and by
//   "New Fact: {prompt} {target_new}\nPrompt: " (Tokenizer::with_prompt_context).
//
// Both go through every probe suite unchanged: the suites see a model and a tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "editlab/edit/hparams.h"  // IkeHparams
#include "editlab/edit/method.h"
#include "editlab/edit/request.h"
#include "editlab/model/language_model.h"
#include "editlab/model/model_dir.h"
#include "editlab/model/tokenizer.h"

namespace editlab {

// One edit's inference-time patch: delta [C] added to the MLP output of `layer` at the last token of
// each occurrence of any of `subject_ids` (the subject's tokens after a space and at a text's start).
struct SubjectPatch {
  int64_t layer = 0;
  std::vector<std::vector<int64_t>> subject_ids;
  torch::Tensor delta;
};

// A LanguageModel that adds the active patches to every forward pass and is otherwise the model it
// wraps. Occurrences are found in the tokens of each call (with a KV cache: among the new tokens;
// a subject split between the cached and the new tokens is not patched). Padding is never patched.
class PatchedModel final : public LanguageModel {
 public:
  explicit PatchedModel(std::shared_ptr<LanguageModel> base);
  std::vector<SubjectPatch>& patches() { return patches_; }
  LanguageModel& base() { return *base_; }

  const ModelShape& shape() const override { return base_->shape(); }
  ForwardResult forward(const ForwardRequest& request) override;
  torch::Tensor mlp_out_weight(int64_t layer) override { return base_->mlp_out_weight(layer); }
  std::string mlp_out_weight_name(int64_t layer) const override { return base_->mlp_out_weight_name(layer); }
  torch::Tensor embed_tokens(const torch::Tensor& ids) override { return base_->embed_tokens(ids); }
  std::vector<std::pair<std::string, torch::Tensor>> parameters_by_name() override {
    return base_->parameters_by_name();
  }
  bool has_module(const std::string& name) override { return base_->has_module(name); }
  torch::Device device() const override { return base_->device(); }
  torch::ScalarType dtype() const override { return base_->dtype(); }

 private:
  std::shared_ptr<LanguageModel> base_;
  std::vector<SubjectPatch> patches_;
};

// Where each occurrence of any of `sequences` ends in ids [B, T] (real tokens only: mask [B, T] or
// undefined): the (batch, position) pairs of their last tokens, in row order.
std::pair<std::vector<int64_t>, std::vector<int64_t>> find_occurrences(
    const torch::Tensor& ids, const torch::Tensor& mask, const std::vector<std::vector<int64_t>>& sequences);

// An IKE demonstration source: one record of the dataset.
struct IkeFact {
  std::string case_id;
  std::string sentence;  // the prompt with its subject
  std::string target_new, target_true;
  std::vector<std::string> paraphrases, neighbourhood;
};

// The facts of a dataset's records (first request of each; records that do not parse are left out).
std::vector<IkeFact> ike_facts(const std::vector<nlohmann::json>& records);

// IKE's context for `request`: `copy` copy, `update` update and `retain` retain demonstrations, each
// from a different other fact drawn with a generator seeded by hparams.seed and the request's
// case_id (IKE takes the nearest neighbours by a sentence encoder; editlab draws at random), shuffled,
// then the copy demonstration of the request itself, then "New Fact: {sentence} {target_new}\nPrompt: ".
std::string ike_context(const EditRequest& request, const std::vector<IkeFact>& facts, const IkeHparams& hparams);

// What the inference-time editors act through; made by prepare_inference_editing.
struct InferenceEditing {
  std::shared_ptr<PatchedModel> model;    // rome-patch
  std::shared_ptr<PromptContext> prompt;  // ike
  std::vector<IkeFact> facts;             // ike's demonstration pool
};

constexpr bool is_inference_method(EditMethod m) { return m == EditMethod::rome_patch || m == EditMethod::ike; }

// For rome-patch, replaces loaded.model by a PatchedModel around it; for ike, loaded.tokenizer by a
// copy with a prompt context. Returns the state the method's editor needs (null for weight editors).
std::shared_ptr<InferenceEditing> prepare_inference_editing(EditMethod method, LoadedModel& loaded);

}  // namespace editlab
