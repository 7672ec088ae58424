// Uses editlab as a library: loads a GPT-2 directory, scores a target, applies one FT edit through
// the editor interface, scores again, undoes the edit and scores a third time.
//   example MODEL_DIR   (e.g. editlab's tests/fixtures/tiny-gpt2)
// Prints the three nll values; exits 1 unless the edit lowered the target's nll and undo restored
// it exactly.
#include <cstdio>
#include <vector>

#include <torch/torch.h>

#include "editlab/edit/editor.h"
#include "editlab/model/model_dir.h"
#include "editlab/probe/scoring.h"
#include "editlab/util/error.h"

namespace {

double target_nll(editlab::LoadedModel& m, const editlab::EditRequest& request) {
  const std::vector<editlab::ScoreRequest> score = {{request.sentence(), request.target_new}};
  return editlab::score_targets(*m.model, *m.tokenizer, score).at(0).nll;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MODEL_DIR\n", argv[0]);
    return 2;
  }
  try {
    torch::set_num_threads(1);
    auto m = editlab::load_model(argv[1]);

    editlab::EditRequest request;
    request.case_id = "example";
    request.prompt = "{} is located in";
    request.subject = "The Eiffel Tower";
    request.target_new = "Berlin";
    request.target_true = "Paris";

    const nlohmann::json ft = {{"layers", {1}},     {"num_steps", 5}, {"lr", 1e-2},
                               {"weight_decay", 0}, {"kl_factor", 0}, {"norm_constraint", false}};
    auto editor = editlab::make_editor(editlab::EditMethod::ft, ft, "example FT hparams", *m.model, *m.tokenizer, m.fingerprint(), {});

    const double before = target_nll(m, request);
    auto edits = editor->apply({request});
    const double edited = target_nll(m, request);
    for (auto& e : edits) editlab::undo(e);
    const double undone = target_nll(m, request);

    std::printf("nll before %.17g\nnll edited %.17g\nnll undone %.17g\n", before, edited, undone);
    if (!(edited < before)) {
      std::fprintf(stderr, "example: the edit did not lower the target's nll\n");
      return 1;
    }
    if (undone != before) {
      std::fprintf(stderr, "example: undo did not restore the nll exactly\n");
      return 1;
    }
    std::printf("ok\n");
    return 0;
  } catch (const editlab::Error& e) {
    std::fprintf(stderr, "example: %s\n", e.what());
    return 1;
  }
}
