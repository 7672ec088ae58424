#include "editlab/edit/rome_setup.h"

#include <chrono>

#include "editlab/edit/context_templates.h"
#include "editlab/model/safetensors.h"
#include "editlab/util/error.h"
#include "editlab/util/progress.h"
#include "editlab/util/steady_clock.h"
#include "editlab/model/device.h"

namespace editlab {
namespace fs = std::filesystem;
namespace {

torch::ScalarType accumulation_dtype(const std::string& dtype) {
  return dtype == "float64" ? torch::kFloat64 : torch::kFloat32;
}

std::string short_fingerprint(const std::string& fingerprint) {
  auto pos = fingerprint.find(':');
  return (pos == std::string::npos ? fingerprint : fingerprint.substr(pos + 1)).substr(0, 16);
}

std::vector<std::string> context_templates_for(LanguageModel& model, const Tokenizer& tok,
                                               const std::string& fingerprint, const RomeHparams& hp,
                                               const RomeSetupOptions& o) {
  if (!o.context_templates_file.empty()) return load_context_templates(o.context_templates_file);
  std::string params;
  for (auto [length, count] : hp.context_template_length_params) params += fmt::format("-{}x{}", length, count);
  const fs::path file = o.cache_dir / "context_templates" /
                        fmt::format("model_{}{}-seed{}.json", short_fingerprint(fingerprint), params, o.template_seed);
  if (o.use_cache && fs::exists(file)) {
    try {
      return load_context_templates(file);
    } catch (const Error& e) {
      o.log(fmt::format("cached context templates unreadable, regenerating ({})", e.what()));
    }
  }
  auto templates = generate_context_templates(model, tok, hp.context_template_length_params, o.template_seed);
  if (o.use_cache) {
    try {
      save_context_templates(file, templates);
    } catch (const Error& e) {  // a cache: the run goes on without it
      o.log(fmt::format("warning: context templates not cached ({})", e.what()));
    }
  }
  return templates;
}

// mom2_dataset as a corpus file: an absolute path, or relative to the hyperparameter file's
// directory, then to the working directory. Empty when it names no readable file.
fs::path mom2_dataset_file(const std::string& mom2_dataset, const fs::path& hparams_dir) {
  if (mom2_dataset.empty()) return {};
  const fs::path p(mom2_dataset);
  std::vector<fs::path> candidates;
  if (p.is_absolute()) {
    candidates = {p};
  } else {
    if (!hparams_dir.empty()) candidates.push_back(hparams_dir / p);
    candidates.push_back(p);
  }
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(c, ec)) return c;
  }
  return {};
}

}  // namespace

SecondMoment cached_layer_stats(LanguageModel& model, const Tokenizer& tok, const std::string& fingerprint,
                                const StatsRequest& r, const RomeSetupOptions& o, fs::path* cache_file) {
  if (r.layer < 0 || r.layer >= model.shape().n_layer) {
    fail("layer {} is out of range (the model has layers 0..{})", r.layer, model.shape().n_layer - 1);
  }
  const std::string dtype = r.dtype == "float64" ? "float64" : "float32";
  if (r.dtype == "float16") o.log("mom2_dtype float16: editlab accumulates in float32 instead (more precise)");
  // Keys computed by a bfloat16 / float16 model differ from float32's: their own cache entry.
  const std::string keys_dtype = is_half_precision(model.dtype()) ? "-keys_" + compute_dtype_name(model.dtype()) : "";
  const std::string key = stats_cache_key(fingerprint, r.layer, hash_file(r.corpus), r.samples, dtype + keys_dtype);
  const fs::path file = o.cache_dir / "stats" / (key + ".safetensors");
  if (cache_file != nullptr) *cache_file = file;
  SecondMoment stats;
  std::string why;
  if (o.use_cache && load_cached_stats(file, key, stats, why)) {
    o.log(fmt::format("statistics for layer {}: cache hit ({})", r.layer, file.string()));
    return stats;
  }
  o.log(fmt::format("statistics for layer {}: computing ({}{})", r.layer, o.use_cache ? "cache: " : "",
                    o.use_cache ? why : "cache disabled"));
  auto texts = read_corpus_texts(r.corpus, r.samples);
  stats = compute_second_moment(model, tok, texts, r.layer, accumulation_dtype(dtype), 4096, o.stats_progress);
  if (o.use_cache) {
    try {
      save_cached_stats(file, key, stats);
    } catch (const Error& e) {  // a cache: the run goes on without it (the writer left no partial file)
      o.log(fmt::format("warning: statistics for layer {} not cached ({})", r.layer, e.what()));
    }
  }
  return stats;
}

RomeResources prepare_rome(LanguageModel& model, const Tokenizer& tok, const std::string& fingerprint,
                           const RomeHparams& hp, const RomeSetupOptions& o) {
  RomeResources resources;
  auto t = std::chrono::steady_clock::now();
  resources.context_templates = context_templates_for(model, tok, fingerprint, hp, o);
  resources.setup_seconds = {{"context_templates", seconds_since(t)}, {"statistics", 0.0}, {"inverse", 0.0}};
  if (!hp.mom2_adjustment) return resources;
  if (!o.stats_file.empty() && hp.layers.size() != 1) {
    fail("{} holds one layer's statistics, but the hyperparameters edit {} layers; give {} instead",
         setting_name(o.setting_names, "stats_file"), hp.layers.size(), setting_name(o.setting_names, "stats_corpus"));
  }
  fs::path corpus = o.stats_corpus;
  if (o.stats_file.empty() && corpus.empty()) {
    corpus = mom2_dataset_file(hp.mom2_dataset, o.hparams_dir);
    if (!corpus.empty()) o.log(fmt::format("statistics corpus: {} (the hyperparameters' mom2_dataset)", corpus.string()));
  }
  for (int64_t layer : hp.layers) {
    SecondMoment stats;
    t = std::chrono::steady_clock::now();
    if (!o.stats_file.empty()) {
      if (o.stats_file.extension() == ".npz") {
        stats = import_npz_stats(o.stats_file);
      } else {
        std::string why;
        auto st = SafetensorsFile::open(o.stats_file);  // validates; names the file on error
        const auto& meta = st->metadata();
        const std::string key = meta.count("editlab.key") ? meta.at("editlab.key") : "";
        if (!load_cached_stats(o.stats_file, key, stats, why)) fail("{}: {}", o.stats_file.string(), why);
      }
    } else if (!corpus.empty()) {
      stats = cached_layer_stats(model, tok, fingerprint,
                                 {layer, corpus, o.samples.value_or(hp.mom2_n_samples), hp.mom2_dtype}, o);
    } else {
      fail(
          "ROME with mom2_adjustment needs second-moment statistics for layer {}, and mom2_dataset \"{}\" names no "
          "readable file (editlab downloads nothing): give {} (ROME's published .npz for this layer, or editlab's "
          ".safetensors from `editlab stats`) or {} (a text file), or set mom2_adjustment false",
          layer, hp.mom2_dataset, setting_name(o.setting_names, "stats_file"),
          setting_name(o.setting_names, "stats_corpus"));
    }
    if (stats.mom2.size(0) != model.shape().d_mlp) {
      fail("statistics for layer {} are {}x{}, but the model's d_mlp is {}", layer, stats.mom2.size(0),
           stats.mom2.size(1), model.shape().d_mlp);
    }
    resources.setup_seconds["statistics"] = resources.setup_seconds["statistics"].get<double>() + seconds_since(t);
    t = std::chrono::steady_clock::now();
    // As the reference: the inverse of the moment in its own dtype (float32 for ROME's files).
    resources.inverse_moment[layer] = torch::inverse(stats.moment()).to(model.device(), model.dtype());
    resources.setup_seconds["inverse"] = resources.setup_seconds["inverse"].get<double>() + seconds_since(t);
  }
  return resources;
}

std::function<void(const StatsProgress&)> stderr_stats_progress() {
  auto progress = std::make_shared<std::unique_ptr<Progress>>();
  return [progress](const StatsProgress& p) {
    if (!*progress) *progress = std::make_unique<Progress>("statistics", p.texts_total, "texts");
    const std::string extra = fmt::format("{} tokens", p.tokens);
    if (p.texts_done == p.texts_total) {
      (*progress)->finish(extra);
    } else {
      (*progress)->update(p.texts_done, extra);
    }
  };
}

}  // namespace editlab
