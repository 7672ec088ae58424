#include "editlab/edit/edit_result.h"

#include <fmt/format.h>

namespace editlab {

void undo(EditResult& edit) {
  if (edit.undone) return;
  torch::NoGradGuard no_grad;
  // Reverse order, so that several changes of one weight end at the first original.
  for (auto it = edit.changes.rbegin(); it != edit.changes.rend(); ++it) it->weight.copy_(it->original);
  edit.undone = true;
}

std::string mlp_out_weight_name(int64_t layer) { return fmt::format("h.{}.mlp.c_proj.weight", layer); }

}  // namespace editlab
