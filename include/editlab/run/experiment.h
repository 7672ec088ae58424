// The experiment config of `editlab run` (JSON; docs/formats.md). Every field but
// "model" and "dataset" has a default; unknown fields are errors (a typo must not silently run
// the wrong experiment); errors name the file and the field. Relative paths are taken relative
// to the config file's directory, so a config and its data can move together.
//
//   {"model": "../data/toy-world/model",           Hugging Face GPT-2 directory
//    "method": "rome",                             rome | ft | ft-l | none (probe the unedited model)
//    "hparams": "../configs/rome/toy-world.json",  required unless method is none
//    "dataset": "../data/toy-world/counterfact.json",
//    "select": {"range": [0, 1000], "case_ids": [...], "limit": 200},
//                                                  dataset indices [start, end), then case_ids,
//                                                  then the first `limit` of what remains
//    "suites": ["efficacy", "paraphrase", "specificity", "specificity_plus", "loud",
//               "implication", "fluency"],        default: all but fluency
//    "loud_templates": ["{} is cool."],           for records without mention_prompts
//    "generation": {"beams": 5, "max_length": 20},
//    "fluency": {"max_length": 100, "top_k": 5},
//    "rome": {"stats": "file.npz", "stats_corpus": "corpus.txt", "samples": 100000,
//             "context_templates": "t.json", "template_seed": 0, "cache_dir": "...", "cache": true},
//    "seed": 0,                                    bootstrap and sampling seed
//    "threads": 0,                                 0 = all cores (--threads overrides)
//    "dtype": "float32", "device": "cpu",
//    "bootstrap": {"resamples": 1000, "level": 0.95},
//    "sequential": {"every": 10, "first": 10},    edits accumulate (no undo); every `every` edits
//                                                  the records edited so far are probed against
//                                                  the unedited model's baseline (true = every 1)
//    "edit_batch": 1,                              records edited together (the reference code's
//                                                  num_edits): MEMIT, EMMET and AlphaEdit solve
//                                                  for the batch at once; ROME, r-ROME and FT apply
//                                                  the batch's records one after another; then every
//                                                  record of the batch is probed (changes results)
//    "record_batch": 32,                           records probed together (see record_batch below)
//    "details": false,                             keep every probe's p(target_new), p(target_true)
//                                                  before and after in the records (--details)
//    "out": "out/run"}                             output directory (--out overrides)
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "editlab/edit/method.h"
#include "editlab/model/device.h"
#include "editlab/probe/suite_options.h"
#include "editlab/report/report.h"

namespace editlab {

struct SequentialOptions {
  int64_t every = 1;   // probe all records edited so far after every `every` edits (and at the end)
  int64_t first = 10;  // also report the means over the first `first` edited records
};

struct ExperimentConfig {
  nlohmann::ordered_json raw;  // the config as given, with overrides applied (for the report)
  std::filesystem::path base;  // directory relative paths are resolved against

  std::filesystem::path model, hparams, dataset, out;
  std::optional<EditMethod> method = EditMethod::rome;  // none: probe the unedited model
  // "rome", "r-rome", "memit", ..., or "none", as reports and tables name the run's method.
  std::string method_label() const { return method ? std::string(method_name(*method)) : "none"; }
  std::optional<std::pair<int64_t, int64_t>> range;
  std::vector<std::string> case_ids;
  std::optional<int64_t> limit;
  SuiteOptions suites;
  uint64_t seed = 0;
  int threads = 0;
  c10::ScalarType dtype = c10::kFloat;
  c10::Device device = c10::kCPU;
  report::BootstrapOptions bootstrap;
  std::optional<SequentialOptions> sequential;
  int64_t edit_batch = 1;  // records per edit batch
  // Records probed together (independent runs with edit_batch 1; sequential runs' probes): their
  // prompts share forward batches, each ROME / r-ROME record's edit applied to its own rows as a
  // rank-one update (RecordProbes::observe_many); the other methods' edits are probed one record
  // at a time. Results equal the one-at-a-time run's within float rounding.
  int64_t record_batch = kDefaultRecordBatch;
  static constexpr int64_t kDefaultRecordBatch = 32;  // measured: docs/performance.md
  // ROME's resources.
  std::filesystem::path stats, stats_corpus, context_templates, cache_dir;
  std::optional<int64_t> samples;
  uint64_t template_seed = 0;
  bool cache = true;
  // Paths given on the command line (out, hparams): relative to the working directory.
  std::map<std::string, std::filesystem::path> command_line_paths;

  // Parses (and validates) a config; `source` names it in errors, `base` resolves paths.
  static ExperimentConfig from_json(const nlohmann::ordered_json& j, const std::string& source,
                                    const std::filesystem::path& base);
  static ExperimentConfig load(const std::filesystem::path& path);

  // Applies a command-line override of a top-level field (e.g. "out", "limit") and re-parses.
  ExperimentConfig with(const std::string& field, const nlohmann::ordered_json& value) const;

  // The fields that change results, as canonical JSON (all but out, threads and device).
  nlohmann::ordered_json result_fields() const;
};

// Dataset indices the config selects, ascending. Throws Error for case_ids not in the dataset.
std::vector<int64_t> select_records(const ExperimentConfig& config, const std::vector<nlohmann::json>& dataset);

}  // namespace editlab
