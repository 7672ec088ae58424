// One interface over the edit methods, so the run loop and `editlab edit` treat them alike:
// an Editor is made once per run (ROME's statistics and context templates are prepared then)
// and applies one request at a time; every edit can be undone exactly (edit_result.h).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "editlab/edit/edit_result.h"
#include "editlab/edit/method.h"
#include "editlab/edit/request.h"
#include "editlab/edit/rome_setup.h"
#include "editlab/model/language_model.h"
#include "editlab/model/tokenizer.h"

namespace editlab {

class Editor {
 public:
  virtual ~Editor() = default;
  // Applies the requests in order (ROME: one rank-one update each; FT: one fine-tuning run over
  // all of them). The model stays edited; the results undo it.
  virtual std::vector<EditResult> apply(const std::vector<EditRequest>& requests) = 0;
  virtual EditMethod method() const = 0;
  // The hyperparameters as used (defaults filled in).
  virtual nlohmann::json hparams() const = 0;
  // What making the editor took, seconds by part (ROME: {"context_templates", "statistics",
  // "inverse"}); others: {}.
  virtual nlohmann::json setup_seconds() const { return nlohmann::json::object(); }
  // ROME: the context templates in use (to save them for an exact rerun); others: none.
  virtual const std::vector<std::string>* context_templates() const { return nullptr; }
  // Each request's edit computed on the model as it is, as if it were the only one, and none
  // applied (an independent run's records, probed together): one result per request holding its
  // rank-one `rome` update and diagnostics, no weight change. nullopt where the method has no
  // such form (FT, MEMIT, ROME over several layers, editing at inference).
  virtual std::optional<std::vector<EditResult>> updates_independent(std::span<const EditRequest> requests) {
    (void)requests;
    return std::nullopt;
  }
};

// The hyperparameters as an editor of `method` would use them (Editor::hparams), without making one
// (which may compute statistics): for a report whose run had nothing left to edit.
nlohmann::json normalized_hparams(EditMethod method, const nlohmann::json& hparams_json, const std::string& source);

// hparams_json: the file's contents, `source` names it in errors.
// The model and tokenizer must outlive the editor.
std::unique_ptr<Editor> make_editor(EditMethod method, const nlohmann::json& hparams_json,
                                    const std::string& source, LanguageModel& model, const Tokenizer& tokenizer,
                                    const std::string& fingerprint, const RomeSetupOptions& rome_setup);

}  // namespace editlab
