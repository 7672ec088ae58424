// Private to src/run: what the two record loops of `editlab run` share. The independent loop
// (runner.cpp: probe, edit, probe, undo, per record, journaled) and the sequential loop
// (sequential.cpp: edits accumulate, probes against the unedited model's baseline).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "editlab/edit/editor.h"
#include "editlab/model/model_dir.h"
#include "editlab/probe/record.h"
#include "editlab/run/experiment.h"

namespace editlab::run_detail {

struct LoopContext {
  const ExperimentConfig& config;
  const std::vector<nlohmann::json>& dataset;
  LoadedModel& model;
  Editor* editor;                        // null for method "none"
  std::function<bool()> stop_requested;  // an interrupt arrived
  std::string run_id;                    // run_id(...) of the run
  bool resume = false;                   // --resume: the sequential loop reuses its baseline file
};

struct LoopResult {
  std::vector<nlohmann::json> records;  // results, any order
  int64_t processed = 0;                // records handled by this process
  bool interrupted = false;
  nlohmann::ordered_json sequential;  // the sequential loop's steps (null otherwise)
  std::filesystem::path spill_file;   // removed once the report is written (empty: none)
};

std::string case_id_of(const nlohmann::json& record, int64_t index);

// The seed of a record's sampled probes (fluency), the same before and after its edit.
uint64_t record_seed(const ExperimentConfig& config, int64_t index);

// The record at `index`, parsed; errors name the dataset file and the record.
ProbeRecord parse_record(const LoopContext& ctx, int64_t index);

// A failed record's result: status "failed" and the error (libtorch's without its backtrace).
void mark_failed(nlohmann::json& result, const std::exception& e);

// Running means of the headline metrics, for the progress line.
class RunningMeans {
 public:
  void add(const nlohmann::json& record);
  std::string text(int64_t failed) const;

 private:
  std::map<std::string, std::pair<double, int64_t>> sums_;
};

// One edit batch's edits (the experiment config's edit_batch): MEMIT, EMMET and AlphaEdit edit
// every request of the batch's records at once (one shared result); the other methods apply the
// records one after another. The model stays edited; undo `all` in reverse.
struct BatchEdits {
  std::vector<EditResult> all;
  std::vector<std::pair<size_t, size_t>> of_record;  // [begin, end) in `all`, per record
  bool shared = false;                                // one result for the whole batch
  // The diagnostics a record's result carries: its own edits', or the shared one's with only
  // its own requests' z (and the batch's size).
  nlohmann::json details_of(size_t record, const ProbeRecord& r) const;
};
BatchEdits apply_batch(Editor& editor, const std::vector<const ProbeRecord*>& records);

// The sequential loop over `order` (docs/benchmarks-and-sequential.md); writes out/sequential.jsonl.
LoopResult run_sequential(const LoopContext& ctx, const std::vector<int64_t>& order);

}  // namespace editlab::run_detail
