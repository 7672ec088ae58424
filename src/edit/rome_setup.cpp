#include "editlab/edit/rome_setup.h"

#include "editlab/edit/context_templates.h"
#include "editlab/model/safetensors.h"
#include "editlab/util/error.h"
#include "editlab/util/progress.h"

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
  if (o.use_cache) save_context_templates(file, templates);
  return templates;
}

}  // namespace

SecondMoment cached_layer_stats(LanguageModel& model, const Tokenizer& tok, const std::string& fingerprint,
                                const StatsRequest& r, const RomeSetupOptions& o, fs::path* cache_file) {
  if (r.layer < 0 || r.layer >= model.shape().n_layer) {
    fail("layer {} is out of range (the model has layers 0..{})", r.layer, model.shape().n_layer - 1);
  }
  const std::string dtype = r.dtype == "float64" ? "float64" : "float32";
  if (r.dtype == "float16") o.log("mom2_dtype float16: editlab accumulates in float32 instead (more precise)");
  const std::string key = stats_cache_key(fingerprint, r.layer, hash_file(r.corpus), r.samples, dtype);
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
  if (o.use_cache) save_cached_stats(file, key, stats);
  return stats;
}

RomeResources prepare_rome(LanguageModel& model, const Tokenizer& tok, const std::string& fingerprint,
                           const RomeHparams& hp, const RomeSetupOptions& o) {
  RomeResources resources;
  resources.context_templates = context_templates_for(model, tok, fingerprint, hp, o);
  if (!hp.mom2_adjustment) return resources;
  if (!o.stats_file.empty() && hp.layers.size() != 1) {
    fail("--stats gives one layer's statistics, but the hyperparameters edit {} layers; use --stats-corpus",
         hp.layers.size());
  }
  for (int64_t layer : hp.layers) {
    SecondMoment stats;
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
    } else if (!o.stats_corpus.empty()) {
      stats = cached_layer_stats(model, tok, fingerprint,
                                 {layer, o.stats_corpus, o.samples.value_or(hp.mom2_n_samples), hp.mom2_dtype}, o);
    } else {
      fail(
          "ROME with mom2_adjustment needs second-moment statistics for layer {}: give --stats FILE "
          "(ROME's .npz or editlab's) or --stats-corpus FILE (or set mom2_adjustment false)",
          layer);
    }
    if (stats.mom2.size(0) != model.shape().d_mlp) {
      fail("statistics for layer {} are {}x{}, but the model's d_mlp is {}", layer, stats.mom2.size(0),
           stats.mom2.size(1), model.shape().d_mlp);
    }
    // As the reference: the inverse of the moment in its own dtype (float32 for ROME's files).
    resources.inverse_moment[layer] = torch::inverse(stats.moment()).to(model.device(), model.dtype());
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
