// Hyperparameters in ROME's own JSON files (kmeng01/rome hparams/ROME/*.json, hparams/FT/*.json),
// read as strictly as ROME's dataclasses read them: every key of the method must be present
// (ROME: layers, fact_token, v_num_grad_steps, v_lr, v_loss_layer, v_weight_decay,
// clamp_norm_factor, kl_factor, mom2_adjustment, mom2_dataset, mom2_n_samples, mom2_dtype, with
// context_template_length_params optional; FT: layers, num_steps, lr, weight_decay, kl_factor,
// norm_constraint, with editlab's batch_size and objective optional), and a key that is none of
// these is an error naming it, unless ROME's or EasyEdit's files carry it for another purpose
// (rewrite_module_tmp and the other module names, which make_editor checks against the model
// (editor.cpp); alg_name, model_name, device, stats_dir,
// model_parallel, fp16: accepted and ignored). Values are type- and range-checked with errors
// naming file and key. The defaults below are what from_json starts from before reading.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "editlab/util/json_file.h"  // read_json_file, for callers reading hparams files

namespace editlab {

// A hyperparameter file as JSON: ROME's / MEMIT's .json, or EasyEdit's .yaml / .yml (read with
// yaml-cpp; an unquoted scalar that reads whole as an integer, a float such as 5e-1, true/false
// or null becomes that, as EasyEdit means it, anything else a string). Errors name the file and,
// for YAML, the line and column.
nlohmann::json read_hparams_file(const std::filesystem::path& path);

struct RomeHparams {
  std::vector<int64_t> layers = {17};
  std::string fact_token = "subject_last";  // or "last"
  int64_t v_num_grad_steps = 20;
  double v_lr = 0.5;
  int64_t v_loss_layer = 47;  // read and kept; it has no effect in the reference (final logits)
  double v_weight_decay = 0.5;
  double clamp_norm_factor = 4;
  double kl_factor = 0.0625;
  bool mom2_adjustment = true;
  std::vector<std::pair<int64_t, int64_t>> context_template_length_params = {{5, 10}, {10, 10}};
  std::string mom2_dataset = "wikipedia";  // a corpus file is the default statistics corpus (rome_setup.h)
  int64_t mom2_n_samples = 100000;
  std::string mom2_dtype = "float32";  // float32 | float64 (float16 is accumulated in float32)
  // r-ROME (rebuilding-rome's enable_random_prefix_keys): v's key and MLP output are the means over
  // the context templates, as u's key is. Set by the method (r-rome), not read from the file; a
  // file's enable_random_prefix_keys must agree with the method (make_editor).
  bool random_prefix_keys = false;

  static RomeHparams from_json(const nlohmann::json& j, const std::string& source);
  nlohmann::json to_json() const;
};

// MEMIT, EMMET and AlphaEdit (kmeng01/memit hparams/MEMIT, unified-model-editing hparams/EMMET,
// AlphaEdit hparams/AlphaEdit): ROME's keys for the target optimisation (layers, fact_token, v_*,
// clamp_norm_factor, kl_factor, mom2_*; context_template_length_params is not theirs: MEMIT's
// templates are fixed, context_templates.h), plus layer_selection ("all") and the solve's weights.
// mom2_adjustment is required and read, but MEMIT always uses C, as the reference does.
struct MemitHparams : RomeHparams {
  double mom2_update_weight = 20000;  // lambda in Delta = R K^T (lambda C + K K^T)^-1 (MEMIT, EMMET)
  // EMMET: C' = mom2_update_weight C + update_norm_lambda I; D = K^T C'^-1 K + emmet_lambda I
  // (the lambda only for more than one edit).
  double update_norm_lambda = 0;
  double emmet_lambda = 0.1;
  // AlphaEdit: P projects on the span of C's singular vectors with singular value below
  // nullspace_threshold; L2 is alpha in (P (K_p K_p^T + K K^T) + alpha I).
  double nullspace_threshold = 2e-2;
  double L2 = 10;

  MemitHparams() {
    layers = {13, 14, 15, 16, 17};
    clamp_norm_factor = 0.75;
  }
  // method: memit, emmet or alphaedit (each has its own required keys).
  static MemitHparams from_json(const nlohmann::json& j, const std::string& source, const std::string& method);
  nlohmann::json to_json(const std::string& method) const;
};

// IKE (inference_edit.h): how many demonstrations of each kind precede every prompt, and the seed
// of their draw. Every key optional (IKE's 4, 12, 16); alg_name, model_name, device accepted.
struct IkeHparams {
  int64_t copy = 4, update = 12, retain = 16;
  uint64_t seed = 0;
  static IkeHparams from_json(const nlohmann::json& j, const std::string& source);
  nlohmann::json to_json() const;
};

struct FtHparams {
  std::vector<int64_t> layers = {0};
  int64_t num_steps = 25;
  double lr = 5e-4;
  double weight_decay = 0;
  double kl_factor = 0;         // read; the reference FT never uses it
  double norm_constraint = -1;  // FT-L's L-infinity radius; < 0 = none (JSON false)
  int64_t batch_size = 64;
  // "nll" (default): teacher-forced NLL of the target sequence. "rome-compat": the reference
  // code's objective, the log-probs of every target token at the prompt's last position.
  std::string objective = "nll";

  bool constrained() const { return norm_constraint >= 0; }
  static FtHparams from_json(const nlohmann::json& j, const std::string& source);
  nlohmann::json to_json() const;
};

}  // namespace editlab
