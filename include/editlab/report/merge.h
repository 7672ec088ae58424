// Merging the shard reports of one sharded run (`editlab run --shard K/N`) into the report an
// unsharded run would have written (apart from timings and "created").
//
// The inputs must be the N shards of one run, each exactly once:
//   - the same schema, run_id, dataset hash, model fingerprint, bootstrap settings,
//     selection.total and shard count N, and every "shard" non-null;
//   - shard indices 1..N each exactly once (a missing or a repeated shard is an error);
//   - every shard complete: its records are exactly its selection.indices (one record per index);
//   - no dataset index in two shards (in selection.indices or in records);
//   - the union of the shards' selection.indices has selection.total entries.
// Each violation is one error (editlab::Error) that names the input file(s) involved.
//
// The merged report: shard 1's fields in shard 1's key order, with
//   "created" now; "complete" true only when every shard is complete;
//   "config" shard 1's config without its "shard" field; "shard" null;
//   "selection" {"total", "indices": the union, ascending};
//   "records" all shards' records sorted by dataset index;
//   "summary" and "aggregates" recomputed from the merged records with report::aggregate and
//   the shards' common bootstrap settings, so they equal an unsharded run's exactly;
//   "timings" every duration and count summed over the shards ("edit", "probe", "other",
//   "model", "setup", "loop", "records_processed", ...), except "wall": the longest shard's
//   wall time (the elapsed time when the shards run side by side), with "wall_sum" the sum of
//   the shards' wall times (the machine time the run took); "model_share" and
//   "records_per_second" recomputed from the sums as a run computes them (model / loop and
//   records_processed / loop; without "loop", per wall_sum), i.e. per worker, comparable with
//   an unsharded run's.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace editlab::report {

struct ShardReport {
  std::string source;  // the file it came from, for error messages
  nlohmann::ordered_json report;
};

// Merges the shards (in any order); throws editlab::Error naming the offending input.
nlohmann::ordered_json merge_shards(const std::vector<ShardReport>& shards);

// Loads each file with load_report, merges them and writes the result atomically to `out`
// (as `editlab run` writes reports), with config.out (when the config has one) set to `out`'s
// directory. Returns the merged report.
nlohmann::ordered_json merge_shard_files(const std::vector<std::filesystem::path>& inputs,
                                         const std::filesystem::path& out);

}  // namespace editlab::report
