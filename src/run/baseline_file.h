// Private to src/run: the sequential loop's baseline on disk, out/baseline.bin
// (docs/benchmarks-and-sequential.md "Sequential editing"). The loop keeps in memory only what
// RecordProbes::metrics reads of a baseline besides the next-token distributions (each score's
// nll and greedy flag, the generations, samples and benchmark texts); the distributions, [K, V]
// float64 per record, are appended here as they are observed and read back with pread when the
// record's metrics are computed. Once the baseline is complete, an index follows them (every
// record's kept observation, so that a resumed run needs no model pass for its baseline) and a
// trailer that marks the file complete.
//
// Layout (native byte order; the header's marker rejects a file from another order):
//   header   "editlab-baseline" (16 bytes), uint64 version (1), uint64 byte-order marker
//   data     each record's distributions, row-major float64, at the offset its index entry names
//   index    uint64 count, then count + 1 documents, each uint64 size + CBOR (doubles exact):
//            {"format", "key"}, then one per record in the run's order
//   trailer  uint64 index offset, uint64 index size, xxh3-128 (16 bytes) of everything before
//            the trailer, "editlab-complete" (16 bytes)
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "editlab/probe/suites.h"

namespace editlab::run_detail {

// Where one record's distributions lie in the file (rows 0: the record has no next-token prompts).
struct SpilledRows {
  uint64_t offset = 0;
  int64_t rows = 0, cols = 0;
};

class BaselineFile {
 public:
  // A new file at `path` (replacing any there) for the run `key` names.
  static BaselineFile create(const std::filesystem::path& path, const std::string& key);
  // The file at `path` if it is complete (trailer, sizes and hash) and was written for `key`, its
  // records loaded; otherwise nullopt and `why` says what did not match.
  static std::optional<BaselineFile> open(const std::filesystem::path& path, const std::string& key, std::string& why);

  BaselineFile(BaselineFile&& other) noexcept;
  BaselineFile& operator=(BaselineFile&&) = delete;
  BaselineFile(const BaselineFile&) = delete;
  ~BaselineFile();

  // Appends a record's distributions (a [K, V] float64 CPU tensor, or undefined: none).
  SpilledRows append(const torch::Tensor& logprobs);
  // Writes the index, `count` records given by `record(i)`, and the trailer; the file is
  // complete (and fsync'ed) when this returns.
  void finish(size_t count, const std::function<nlohmann::json(size_t)>& record);
  // The distributions at `where` (undefined when it has no rows).
  torch::Tensor read(const SpilledRows& where) const;

  // The records of a file opened complete (in the run's order; empty for a created one).
  const std::vector<nlohmann::json>& records() const { return records_; }
  const std::filesystem::path& path() const { return path_; }

  // What a record's index entry says about its distributions, and back.
  static nlohmann::json rows_json(const SpilledRows& where);
  static SpilledRows rows_of(const nlohmann::json& entry);

 private:
  BaselineFile(std::filesystem::path path, int fd);
  void write_all(const void* data, size_t size);

  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t end_ = 0;      // bytes written so far
  void* hash_ = nullptr;  // XXH3 state over everything written (until the trailer)
  std::string key_;
  std::vector<nlohmann::json> records_;
};

// A baseline observation as the loop keeps it: without its distributions (spilled), each score
// reduced to nll and greedy_correct (all that metrics() reads of a baseline's scores).
void trim_baseline(Observation& o);
// The kept observation as JSON for the index (CBOR keeps its doubles, infinities included), and back.
nlohmann::json baseline_json(const Observation& o);
Observation baseline_of(const nlohmann::json& j);

}  // namespace editlab::run_detail
