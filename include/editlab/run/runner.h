// The main job of `editlab run`: for every selected record, probe the unedited model, apply the
// edit, probe again, undo, and append the record's result to a JSON Lines journal (flushed per
// record); then aggregate into the report (report.h), written atomically.
//
// Out directory: journal.jsonl (a header line {"journal": "editlab.journal/1", "run_id",
// "shard"}, then one result per line), report.json, summary.md. With `resume`, the records in
// the journal are kept and skipped; a line cut short by a crash is dropped. Without it, an out
// directory whose journal already holds records is an error (nothing is overwritten).
//
// A record that fails (bad prompt, subject not found, ...) is recorded with its error and the
// run goes on. An interrupt (SIGINT/SIGTERM) stops after the record in flight and still writes a
// report, marked "complete": false.
//
// A record with several requested rewrites (MQuAKE) has all of them applied before its probes.
// With "sequential" in the config the edits accumulate instead (src/run/sequential.cpp): no
// journal; out/baseline.bin holds the unedited model's next-token distributions until the run
// ends, and `resume` starts the edits over from that baseline when it matches the run;
// out/sequential.jsonl holds one line per measurement step, and the
// report adds "sequential": {"every", "first", "baseline", "edits", "steps": [{"edits",
// "records", "all": aggregates, "first": {"records", "aggregates"}}]}, its records holding their
// metrics at the last step, against the unedited model's probes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "editlab/report/report.h"
#include "editlab/run/experiment.h"
#include "editlab/util/setting_name.h"

namespace editlab {

using report::Shard;

struct RunOptions {
  bool resume = false;
  std::optional<Shard> shard;
  bool handle_signals = true;  // install SIGINT/SIGTERM handlers for the run
  // How errors name the settings "resume", "shard" and "out" (util/setting_name.h).
  SettingName setting_names;
};

struct RunOutcome {
  nlohmann::ordered_json report;
  bool interrupted = false;
};

RunOutcome run_experiment(const ExperimentConfig& config, const RunOptions& options);

// A string identifying what determines a run's results: the config's result fields, the model
// fingerprint, the dataset hash and the hyperparameters.
std::string run_id(const ExperimentConfig& config, const std::string& model_fingerprint,
                   const std::string& dataset_hash, const nlohmann::json& hparams);

}  // namespace editlab
