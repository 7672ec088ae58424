// Fine-tuning baselines (ROME's baselines/ft): only mlp.c_proj.weight of hparams.layers is
// trainable; Adam(lr, weight_decay) for num_steps passes over the requests in batches; a step is
// skipped once the batch loss is below 1e-2 and training stops when a pass averages below it.
// FT-L clamps every trainable weight into [w0 - eps, w0 + eps] after each step
// (eps = norm_constraint). Objectives: "nll" (default) is the teacher-forced NLL of
// " " + target_new after the prompt; "rome-compat" is the reference code's: at the prompt's last
// position, the mean log-prob of every target token (a bag of tokens).
#pragma once

#include <vector>

#include "editlab/edit/edit_result.h"
#include "editlab/edit/hparams.h"
#include "editlab/edit/method.h"
#include "editlab/edit/request.h"
#include "editlab/model/language_model.h"
#include "editlab/model/tokenizer.h"

namespace editlab {

// method ft (no clamp; norm_constraint must be unset) or ft_l (norm_constraint required).
EditResult apply_ft(LanguageModel& model, const Tokenizer& tokenizer, const std::vector<EditRequest>& requests,
                    const FtHparams& hparams, EditMethod method);

}  // namespace editlab
