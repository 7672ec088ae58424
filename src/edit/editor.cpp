#include "editlab/edit/editor.h"

#include "editlab/edit/ft.h"
#include "editlab/edit/hparams.h"
#include "editlab/edit/inference_edit.h"
#include "editlab/edit/memit.h"

#include <chrono>
#include "editlab/edit/rome.h"
#include "editlab/util/error.h"
#include "editlab/util/text.h"

namespace editlab {
namespace {

class RomeEditor final : public Editor {
 public:
  RomeEditor(RomeHparams hparams, LanguageModel& model, const Tokenizer& tokenizer, RomeResources resources)
      : hparams_(std::move(hparams)), model_(model), tokenizer_(tokenizer), resources_(std::move(resources)) {}
  std::vector<EditResult> apply(const std::vector<EditRequest>& requests) override {
    std::vector<EditResult> out;
    for (const auto& r : requests) out.push_back(apply_rome(model_, tokenizer_, r, hparams_, resources_));
    return out;
  }
  EditMethod method() const override { return hparams_.random_prefix_keys ? EditMethod::r_rome : EditMethod::rome; }
  nlohmann::json hparams() const override { return hparams_.to_json(); }
  nlohmann::json setup_seconds() const override { return resources_.setup_seconds; }
  const std::vector<std::string>* context_templates() const override { return &resources_.context_templates; }
  std::optional<std::vector<EditResult>> updates_independent(std::span<const EditRequest> requests) override {
    if (hparams_.layers.size() != 1) return std::nullopt;
    return rome_updates_independent(model_, tokenizer_, requests, hparams_, resources_);
  }

 private:
  RomeHparams hparams_;
  LanguageModel& model_;
  const Tokenizer& tokenizer_;
  RomeResources resources_;
};

// MEMIT, EMMET and AlphaEdit: every request of one apply() is one batch (one solve per layer).
class MemitEditor final : public Editor {
 public:
  MemitEditor(EditMethod method, MemitHparams hparams, LanguageModel& model, const Tokenizer& tokenizer,
              MemitResources resources)
      : method_(method),
        hparams_(std::move(hparams)),
        model_(model),
        tokenizer_(tokenizer),
        resources_(std::move(resources)),
        memory_(std::make_shared<AlphaEditMemory>()) {}
  std::vector<EditResult> apply(const std::vector<EditRequest>& requests) override {
    return {apply_memit(model_, tokenizer_, requests, hparams_, method_, resources_, memory_)};
  }
  EditMethod method() const override { return method_; }
  nlohmann::json hparams() const override { return hparams_.to_json(std::string(method_name(method_))); }
  nlohmann::json setup_seconds() const override { return resources_.setup_seconds; }
  const std::vector<std::string>* context_templates() const override { return &resources_.context_templates; }

 private:
  EditMethod method_;
  MemitHparams hparams_;
  LanguageModel& model_;
  const Tokenizer& tokenizer_;
  MemitResources resources_;
  std::shared_ptr<AlphaEditMemory> memory_;
};

// rome-patch: ROME's MLP-output delta per layer, computed on the unedited model and applied at
// inference at the subject's tokens (PatchedModel); undo removes the patches.
class RomePatchEditor final : public Editor {
 public:
  RomePatchEditor(RomeHparams hparams, LanguageModel& model, const Tokenizer& tokenizer, RomeResources resources,
                  std::shared_ptr<InferenceEditing> inference)
      : hparams_(std::move(hparams)),
        model_(model),
        tokenizer_(tokenizer),
        resources_(std::move(resources)),
        inference_(std::move(inference)) {}
  std::vector<EditResult> apply(const std::vector<EditRequest>& requests) override {
    std::vector<EditResult> out;
    auto& patched = *inference_->model;
    for (const auto& r : requests) {
      validate_edit_request(r, "edit " + r.case_id);
      const auto start = std::chrono::steady_clock::now();
      EditResult edit;
      edit.method = EditMethod::rome_patch;
      nlohmann::json per_layer = nlohmann::json::array();
      const size_t first = patched.patches().size();
      for (int64_t layer : hparams_.layers) {
        // Computed on the model as the earlier requests left it (their patches active), as ROME
        // computes each request on the weights the earlier ones wrote.
        auto t = optimize_target(patched, tokenizer_, r, hparams_, layer, Site::kMlp, resources_.context_templates,
                                 resources_.v_pass);
        SubjectPatch p;
        p.layer = layer;
        p.delta = (t.target - t.target_init).to(model_.dtype());
        for (const std::string& text : {" " + r.subject, r.subject}) {
          auto ids = tokenizer_.encode_continuation(text);
          if (!ids.empty() && std::find(p.subject_ids.begin(), p.subject_ids.end(), ids) == p.subject_ids.end()) {
            p.subject_ids.push_back(std::move(ids));
          }
        }
        t.diagnostics["layer"] = layer;
        t.diagnostics["subject_token_sequences"] = p.subject_ids.size();
        per_layer.push_back(std::move(t.diagnostics));
        patched.patches().push_back(std::move(p));
      }
      const size_t count = patched.patches().size() - first;
      std::weak_ptr<InferenceEditing> weak = inference_;
      edit.on_undo = [weak, first, count] {
        if (auto s = weak.lock()) {
          auto& list = s->model->patches();
          if (list.size() >= first + count) list.erase(list.begin() + first, list.begin() + first + count);
        }
      };
      edit.diagnostics = {{"layers", per_layer}, {"weights_changed", false}};
      edit.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      out.push_back(std::move(edit));
    }
    return out;
  }
  EditMethod method() const override { return EditMethod::rome_patch; }
  nlohmann::json hparams() const override { return hparams_.to_json(); }
  nlohmann::json setup_seconds() const override { return resources_.setup_seconds; }
  const std::vector<std::string>* context_templates() const override { return &resources_.context_templates; }

 private:
  RomeHparams hparams_;
  LanguageModel& model_;
  const Tokenizer& tokenizer_;
  RomeResources resources_;
  std::shared_ptr<InferenceEditing> inference_;
};

// IKE: the record's demonstrations and new fact become the context of every prompt the probes
// tokenize; undo empties it. Several requests: one context after another, the last one's query.
class IkeEditor final : public Editor {
 public:
  IkeEditor(IkeHparams hparams, std::shared_ptr<InferenceEditing> inference)
      : hparams_(hparams), inference_(std::move(inference)) {}
  std::vector<EditResult> apply(const std::vector<EditRequest>& requests) override {
    EditResult edit;
    edit.method = EditMethod::ike;
    auto& context = *inference_->prompt;
    const std::string before = context.text;
    std::string text;
    for (size_t i = 0; i < requests.size(); ++i) {
      validate_edit_request(requests[i], "edit " + requests[i].case_id);
      std::string c = ike_context(requests[i], inference_->facts, hparams_);
      if (i + 1 < requests.size()) c = c.substr(0, c.rfind("New Fact: "));  // only the last one asks
      text += c;
    }
    context.text = before + text;
    std::weak_ptr<InferenceEditing> weak = inference_;
    edit.on_undo = [weak, before] {
      if (auto s = weak.lock()) s->prompt->text = before;
    };
    edit.diagnostics = {{"context", text},
                        {"context_characters", text.size()},
                        {"demonstration_pool", inference_->facts.size()},
                        {"weights_changed", false}};
    return {std::move(edit)};
  }
  EditMethod method() const override { return EditMethod::ike; }
  nlohmann::json hparams() const override { return hparams_.to_json(); }

 private:
  IkeHparams hparams_;
  std::shared_ptr<InferenceEditing> inference_;
};

class FtEditor final : public Editor {
 public:
  FtEditor(EditMethod method, FtHparams hparams, LanguageModel& model, const Tokenizer& tokenizer)
      : method_(method), hparams_(std::move(hparams)), model_(model), tokenizer_(tokenizer) {}
  std::vector<EditResult> apply(const std::vector<EditRequest>& requests) override {
    return {apply_ft(model_, tokenizer_, requests, hparams_, method_)};
  }
  EditMethod method() const override { return method_; }
  nlohmann::json hparams() const override { return hparams_.to_json(); }

 private:
  EditMethod method_;
  FtHparams hparams_;
  LanguageModel& model_;
  const Tokenizer& tokenizer_;
};

void check_layers(const std::vector<int64_t>& layers, const LanguageModel& model, const std::string& source) {
  for (auto layer : layers) {
    if (layer < 0 || layer >= model.shape().n_layer) {
      fail("{}: layer {} is out of range (the model has layers 0..{})", source, layer, model.shape().n_layer - 1);
    }
  }
}

// The module names that ROME's and EasyEdit's hparams files carry must exist in the model:
// rewrite_module_tmp must name the MLP output projection that the edit changes (its weight is
// mlp_out_weight_name), and layer/mlp/attn_module_tmp, ln_f_module, lm_head_module must be
// modules of the model. A GPT-2 name with or without "transformer." is accepted.
void check_module_names(const nlohmann::json& j, const std::vector<int64_t>& layers, LanguageModel& model,
                        const std::string& source) {
  auto string_key = [&](const char* key) -> std::optional<std::string> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) fail("{}: key \"{}\" must be a string, found {}", source, key, it->dump());
    return it->get<std::string>();
  };
  if (auto tmpl = string_key("rewrite_module_tmp")) {
    for (auto layer : layers) {
      const std::string name = fill_braces(*tmpl, std::to_string(layer)) + ".weight";
      const std::string expected = model.mlp_out_weight_name(layer);
      if (name != expected && name != "transformer." + expected) {
        fail("{}: rewrite_module_tmp \"{}\" names \"{}\", which is not this model's MLP output projection "
             "(layer {}: \"{}\")",
             source, *tmpl, name, layer, expected.substr(0, expected.size() - std::string(".weight").size()));
      }
    }
  }
  for (const char* key : {"layer_module_tmp", "mlp_module_tmp", "attn_module_tmp"}) {
    if (auto tmpl = string_key(key)) {
      for (auto layer : layers) {
        const std::string name = fill_braces(*tmpl, std::to_string(layer));
        if (!model.has_module(name)) fail("{}: {} \"{}\": the model has no module \"{}\"", source, key, *tmpl, name);
      }
    }
  }
  for (const char* key : {"ln_f_module", "lm_head_module"}) {
    if (auto name = string_key(key)) {
      if (!model.has_module(*name)) fail("{}: {}: the model has no module \"{}\"", source, key, *name);
    }
  }
}

}  // namespace

nlohmann::json normalized_hparams(EditMethod method, const nlohmann::json& hparams_json, const std::string& source) {
  if (method == EditMethod::rome || method == EditMethod::r_rome || method == EditMethod::rome_patch) {
    auto hp = RomeHparams::from_json(hparams_json, source);
    hp.random_prefix_keys = method == EditMethod::r_rome;
    return hp.to_json();
  }
  if (method == EditMethod::ike) return IkeHparams::from_json(hparams_json, source).to_json();
  if (is_batch_method(method)) {
    return MemitHparams::from_json(hparams_json, source, std::string(method_name(method))).to_json(std::string(method_name(method)));
  }
  return FtHparams::from_json(hparams_json, source).to_json();
}

std::unique_ptr<Editor> make_editor(EditMethod method, const nlohmann::json& hparams_json,
                                    const std::string& source, LanguageModel& model, const Tokenizer& tokenizer,
                                    const std::string& fingerprint, const RomeSetupOptions& rome_setup) {
  if (method == EditMethod::rome || method == EditMethod::r_rome) {
    auto hp = RomeHparams::from_json(hparams_json, source);
    hp.random_prefix_keys = method == EditMethod::r_rome;
    if (auto it = hparams_json.find("enable_random_prefix_keys"); it != hparams_json.end() && it->is_boolean() &&
                                                                   it->get<bool>() != hp.random_prefix_keys) {
      fail("{}: \"enable_random_prefix_keys\" is {} but the method is {} (r-ROME is method r-rome, the original ROME "
           "method rome)",
           source, it->get<bool>(), method_name(method));
    }
    check_layers(hp.layers, model, source);
    check_module_names(hparams_json, hp.layers, model, source);
    auto resources = prepare_rome(model, tokenizer, fingerprint, hp, rome_setup);
    return std::make_unique<RomeEditor>(std::move(hp), model, tokenizer, std::move(resources));
  }
  if (is_inference_method(method)) {
    auto inference = rome_setup.inference;
    if (!inference || (method == EditMethod::rome_patch && !inference->model) ||
        (method == EditMethod::ike && !inference->prompt)) {
      fail("{} edits at inference: prepare the model with prepare_inference_editing first", method_name(method));
    }
    if (method == EditMethod::ike) return std::make_unique<IkeEditor>(IkeHparams::from_json(hparams_json, source), inference);
    auto hp = RomeHparams::from_json(hparams_json, source);
    check_layers(hp.layers, model, source);
    check_module_names(hparams_json, hp.layers, model, source);
    auto no_statistics = hp;
    no_statistics.mom2_adjustment = false;  // only v's delta is needed: no u, no C
    auto resources = prepare_rome(model, tokenizer, fingerprint, no_statistics, rome_setup);
    // Whole rows in every pass: the earlier requests' patches must see the whole subject.
    resources.v_pass = RomeResources::VPass::from_layer;
    return std::make_unique<RomePatchEditor>(std::move(hp), model, tokenizer, std::move(resources), inference);
  }
  if (is_batch_method(method)) {
    auto hp = MemitHparams::from_json(hparams_json, source, std::string(method_name(method)));
    check_layers(hp.layers, model, source);
    check_module_names(hparams_json, hp.layers, model, source);
    auto resources = prepare_memit(model, tokenizer, fingerprint, hp, method, rome_setup);
    return std::make_unique<MemitEditor>(method, std::move(hp), model, tokenizer, std::move(resources));
  }
  auto hp = FtHparams::from_json(hparams_json, source);
  check_layers(hp.layers, model, source);
  check_module_names(hparams_json, hp.layers, model, source);
  return std::make_unique<FtEditor>(method, std::move(hp), model, tokenizer);
}

}  // namespace editlab
