// What an edit changed, as a value the caller can undo exactly. Every method records the
// original contents of each weight it touches (a [d_mlp, d_model] copy per edited layer for
// ROME; the trainable weights for FT), so undo restores them bit for bit; floating-point
// subtraction of u v^T would not.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "editlab/edit/method.h"

namespace editlab {

struct WeightChange {
  std::string name;        // e.g. "h.17.mlp.c_proj.weight"
  torch::Tensor weight;    // aliases the model's parameter
  torch::Tensor original;  // a copy taken before the edit
};

struct RomeLayerUpdate {
  int64_t layer = 0;
  torch::Tensor u;  // [M] left vector, unit norm (C^-1 k* normalised)
  torch::Tensor v;  // [C] right vector; the update is W += u v^T
};

struct EditResult {
  EditMethod method = EditMethod::rome;
  std::vector<WeightChange> changes;
  std::vector<RomeLayerUpdate> rome;  // ROME only
  nlohmann::json diagnostics = nlohmann::json::object();
  double seconds = 0;
  bool undone = false;
  // What else undo restores: an editor's state that the edit extended (AlphaEdit's record of
  // the earlier edits' keys). Undo in reverse order of the edits.
  std::function<void()> on_undo;
};

// Restores every changed weight to its original contents (bit-exact). Idempotent.
void undo(EditResult& edit);

}  // namespace editlab
