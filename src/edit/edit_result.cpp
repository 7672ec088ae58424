#include "editlab/edit/edit_result.h"

namespace editlab {

void undo(EditResult& edit) {
  if (edit.undone) return;
  torch::NoGradGuard no_grad;
  // Reverse order, so that several changes of one weight end at the first original.
  for (auto it = edit.changes.rbegin(); it != edit.changes.rend(); ++it) it->weight.copy_(it->original);
  if (edit.on_undo) edit.on_undo();
  edit.undone = true;
}

}  // namespace editlab
