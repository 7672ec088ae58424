// ROME (Meng et al. 2022), as kmeng01/rome computes it and docs/algorithms.md "ROME" pins down:
// compute_u (the key k* averaged over context templates at the subject's last token, times C^-1
// when mom2_adjustment, normalised), compute_v (delta added to the MLP output at the subject
// token of every prompt, optimised with Adam against the target's NLL + KL + weight decay, kept
// in an L2 ball; v = (target - o0) / (k0 . u)), and the update W += u v^T on mlp.c_proj.weight.
// Each step of the v optimisation re-runs only layers L..N and only the positions from the
// subject's last token on (RomeResources::VPass).
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "editlab/edit/edit_result.h"
#include "editlab/edit/hparams.h"
#include "editlab/edit/request.h"
#include "editlab/model/language_model.h"
#include "editlab/model/tokenizer.h"

namespace editlab {

// What ROME needs besides the model: no global caches, the caller owns and reuses this.
struct RomeResources {
  std::vector<std::string> context_templates;       // ["{}", "<sample>. {}", ...]
  std::map<int64_t, torch::Tensor> inverse_moment;  // layer -> C^-1 [M, M], when mom2_adjustment
  // What preparing these took (prepare_rome): {"context_templates", "statistics" (load or
  // compute), "inverse"}, seconds.
  nlohmann::json setup_seconds = nlohmann::json::object();
  // How each step of the v optimisation runs the network. delta is added in layer L at the
  // subject's last token, so under causal attention every layer below L, and every position before
  // that token, is the same in all steps. All three give the same v up to rounding (test
  // "[rome]"); `from_layer` and `full` are for `editlab bench` and that test.
  enum class VPass {
    suffix,      // layers L..N over each row's positions from the lookup on, the earlier positions'
                 // keys and values cached once (default)
    from_layer,  // layers L..N over every position, from the residual stream entering L
    full,        // the whole network over every position (as the reference code runs it)
  };
  VPass v_pass = VPass::suffix;
};

struct VResult {
  torch::Tensor v;             // [C]
  torch::Tensor target;        // [C]: target_init + delta, what the layer outputs for k0 after the edit
  torch::Tensor k0, o0;        // key and MLP output at the subject token of the bare prompt (r-ROME: their means over the context templates)
  nlohmann::json diagnostics;  // losses per step, norms
};

// The optimisation that ROME's compute_v and MEMIT's compute_z share: delta, added to `site`'s output
// in `layer` (Site::kMlp: the MLP output, ROME; Site::kBlock: the block output, MEMIT) at the
// subject's lookup in every rewriting prompt (each template filled with the prompt, the target's
// head appended) and in the KL prompt "{} is a", minimises the target's NLL + KL + weight decay,
// clamped to clamp_norm_factor times the initial value's norm. target = target_init + delta, where
// target_init is the site's output at the first prompt's lookup.
struct TargetResult {
  torch::Tensor target, target_init;  // [C], in ROME's arithmetic dtype
  nlohmann::json diagnostics;         // losses per step, norms, seconds
};
TargetResult optimize_target(LanguageModel& model, const Tokenizer& tokenizer, const EditRequest& request,
                             const RomeHparams& hparams, int64_t layer, Site site,
                             const std::vector<std::string>& templates,
                             RomeResources::VPass v_pass = RomeResources::VPass::suffix);
// The same for several requests at once, each as if alone (its own delta, Adam state, clamp, weight
// decay and early stop; its rows in shared forward passes): the model must be the same for all
// (an independent run's records, not a sequence of edits).
std::vector<TargetResult> optimize_targets(LanguageModel& model, const Tokenizer& tokenizer,
                                           std::span<const EditRequest> requests, const RomeHparams& hparams,
                                           int64_t layer, Site site, const std::vector<std::string>& templates,
                                           RomeResources::VPass v_pass = RomeResources::VPass::suffix);

torch::Tensor compute_u(LanguageModel& model, const Tokenizer& tokenizer, const EditRequest& request,
                        const RomeHparams& hparams, int64_t layer, const RomeResources& resources);

VResult compute_v(LanguageModel& model, const Tokenizer& tokenizer, const EditRequest& request,
                  const RomeHparams& hparams, int64_t layer, const torch::Tensor& u, const RomeResources& resources);

// Applies one request (every layer of hparams.layers, in order); the model stays edited.
EditResult apply_rome(LanguageModel& model, const Tokenizer& tokenizer, const EditRequest& request,
                      const RomeHparams& hparams, const RomeResources& resources);

// ROME's updates for several requests, each computed on the model as it is, as if it were the only
// edit (an independent run's records), in shared batches: u from one readout of every request's
// templates, v from optimize_targets. Nothing is written: each result holds its `rome` update
// (apply it as W += u v^T) and its diagnostics, and no weight change. One layer only.
std::vector<EditResult> rome_updates_independent(LanguageModel& model, const Tokenizer& tokenizer,
                                                 std::span<const EditRequest> requests, const RomeHparams& hparams,
                                                 const RomeResources& resources);

// "suffix", "from_layer" or "full" (reports and diagnostics).
const char* v_pass_name(RomeResources::VPass pass);

// " " + target unless it already starts with a space (ROME's rule for target_new).
std::string with_leading_space(const std::string& target);

}  // namespace editlab
