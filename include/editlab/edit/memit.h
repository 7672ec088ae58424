// MEMIT (Meng et al. 2023), EMMET (Gupta et al. 2024) and AlphaEdit (Fang et al. 2025), as
// kmeng01/memit memit_main.execute_memit, unified-model-editing emmet_main.execute_emmet and
// AlphaEdit_main.apply_AlphaEdit_to_model compute them (docs/algorithms.md "MEMIT"):
//   z_i    = h_L + delta_i, delta optimised at the block output of the last edit layer L
//            (optimize_target with Site::kBlock, MEMIT's context templates);
//   then for each edit layer l, ascending, on the model as already updated below it:
//   K      = the MLP output projection's input at the subject, averaged within each template group
//            ("{}", the sampled ones) and then across groups, [M, N];
//   R      = (Z - h_L(current model, bare prompts)) / (layers still to write), [C, N];
//   MEMIT:     Delta = (lambda C + K K^T)^-1 K R^T
//   EMMET:     Delta = C'^-1 K D^-T R^T, C' = lambda C (+ mu I), D = K^T C'^-1 K (+ eta I when N > 1)
//   AlphaEdit: Delta = (P (K K^T + K_p K_p^T) + alpha I)^-1 P K R^T, P the projection on C's null
//              space, K_p the keys of the edits made before (kept until undone);
//   W_l += Delta ([M, C], the layout of LanguageModel::mlp_out_weight). The solves run in float64.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "editlab/edit/edit_result.h"
#include "editlab/edit/hparams.h"
#include "editlab/edit/method.h"
#include "editlab/edit/request.h"
#include "editlab/edit/rome.h"
#include "editlab/model/language_model.h"
#include "editlab/model/tokenizer.h"

namespace editlab {

struct MemitResources {
  // ["{}", "<sample>. {}", ...]: the keys average the "{}" group and the sampled group (every
  // other template) separately, then the two means, as compute_ks averages its context types.
  std::vector<std::string> context_templates;
  std::map<int64_t, torch::Tensor> moment;      // layer -> C [M, M] (MEMIT, EMMET), float64
  std::map<int64_t, torch::Tensor> projection;  // layer -> P [M, M] (AlphaEdit), float64
  RomeResources::VPass v_pass = RomeResources::VPass::suffix;
  nlohmann::json setup_seconds = nlohmann::json::object();
};

// AlphaEdit's memory of the edits made so far: each edit's keys per layer ([M, N] each, float64),
// in order; K_p K_p^T is their sum of K K^T. An edit's undo removes its keys.
struct AlphaEditMemory {
  std::map<int64_t, std::vector<torch::Tensor>> keys;
  torch::Tensor preserved(int64_t layer, int64_t d_mlp, torch::Device device) const;
};

// Edits the model with all `requests` at once (one batch); the model stays edited, the result
// undoes it. `memory` is read and extended for AlphaEdit (required then), ignored otherwise.
EditResult apply_memit(LanguageModel& model, const Tokenizer& tokenizer, const std::vector<EditRequest>& requests,
                       const MemitHparams& hparams, EditMethod method, const MemitResources& resources,
                       const std::shared_ptr<AlphaEditMemory>& memory = nullptr);

// The keys of `requests` at `layer` ([M, N], MEMIT's compute_ks) and the block output of `z_layer`
// at each bare prompt's subject ([C, N]), from one forward pass (rows in chunks).
std::pair<torch::Tensor, torch::Tensor> memit_keys_and_outputs(LanguageModel& model, const Tokenizer& tokenizer,
                                                               const std::vector<EditRequest>& requests,
                                                               const MemitHparams& hparams,
                                                               const std::vector<std::string>& templates,
                                                               int64_t layer, int64_t z_layer);

// AlphaEdit's P for one layer: U_s U_s^T over the eigenvectors of C whose eigenvalue's magnitude is
// below `threshold` (C is symmetric: its singular values, as the reference's svd takes them).
torch::Tensor null_space_projection(const torch::Tensor& moment, double threshold);

}  // namespace editlab
