// Getting ROME's resources ready: context templates (loaded from a file, or generated, seeded,
// and cached per model) and C^-1 per edited layer (from a statistics file, or computed from a
// corpus and cached on disk). Keeps the caches explicit: files under a cache directory whose
// names carry every input that changes them.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "editlab/edit/hparams.h"
#include "editlab/edit/layer_stats.h"
#include "editlab/edit/memit.h"
#include "editlab/edit/rome.h"
#include "editlab/util/atomic_file.h"
#include "editlab/util/setting_name.h"

namespace editlab {

struct InferenceEditing;

struct RomeSetupOptions {
  std::filesystem::path cache_dir = default_cache_dir();
  bool use_cache = true;
  std::filesystem::path context_templates_file;  // use these templates (JSON list of strings)
  uint64_t template_seed = 0;
  // C per edited layer, the first that is given: a file of the one edited layer's statistics
  // (.npz as ROME publishes them, or editlab's .safetensors); a corpus to compute them from; or
  // the hyperparameters' mom2_dataset when it names a readable file, looked for relative to
  // `hparams_dir` and then to the working directory (ROME's own value, "wikipedia", names a
  // dataset editlab cannot download: an error then says what to give instead).
  std::filesystem::path stats_file;
  std::filesystem::path stats_corpus;
  std::filesystem::path hparams_dir;
  // How errors name the settings above ("stats_file", "stats_corpus"; util/setting_name.h).
  SettingName setting_names;
  std::optional<int64_t> samples;      // overrides hparams.mom2_n_samples
  // rome-patch and ike: what prepare_inference_editing made (inference_edit.h); null otherwise.
  std::shared_ptr<InferenceEditing> inference;
  std::function<void(const std::string&)> log = [](const std::string&) {};
  std::function<void(const StatsProgress&)> stats_progress;
};

// A progress bar on stderr for statistics computed from a corpus (texts, tokens, rate, ETA).
std::function<void(const StatsProgress&)> stderr_stats_progress();

struct StatsRequest {
  int64_t layer = 0;
  std::filesystem::path corpus;
  int64_t samples = 100000;
  std::string dtype = "float32";  // float32 | float64 (float16 accumulates in float32)
};

// The statistics for one layer from the cache, or computed (then cached). `cache_file` receives
// the file used.
SecondMoment cached_layer_stats(LanguageModel& model, const Tokenizer& tokenizer, const std::string& fingerprint,
                                const StatsRequest& request, const RomeSetupOptions& options,
                                std::filesystem::path* cache_file = nullptr);

// The statistics for several layers: each from the cache, the missing ones computed in one pass
// over the corpus (then cached). `r.layer` is ignored; `cache_files` receives the files, in order.
std::map<int64_t, SecondMoment> cached_layers_stats(LanguageModel& model, const Tokenizer& tokenizer,
                                                    const std::string& fingerprint, const std::vector<int64_t>& layers,
                                                    const StatsRequest& request, const RomeSetupOptions& options,
                                                    std::vector<std::filesystem::path>* cache_files = nullptr);

// C for every layer of hparams.layers as the options say (stats_file for one layer, a corpus, or
// mom2_dataset); `method` names the editor in the error when none is given.
std::map<int64_t, SecondMoment> edit_layer_stats(LanguageModel& model, const Tokenizer& tokenizer,
                                                 const std::string& fingerprint, const RomeHparams& hparams,
                                                 const RomeSetupOptions& options, const char* method);

RomeResources prepare_rome(LanguageModel& model, const Tokenizer& tokenizer, const std::string& fingerprint,
                           const RomeHparams& hparams, const RomeSetupOptions& options);

// MEMIT's, EMMET's or AlphaEdit's: the context templates (the file's, or "{}" and five samples,
// cached per model and seed), C per edit layer (MEMIT, EMMET) or its null-space projection P
// (AlphaEdit; cached beside the statistics).
MemitResources prepare_memit(LanguageModel& model, const Tokenizer& tokenizer, const std::string& fingerprint,
                             const MemitHparams& hparams, EditMethod method, const RomeSetupOptions& options);

}  // namespace editlab
