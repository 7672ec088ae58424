// Small hand-made reports in the schema of editlab/report/report.h, for the merge, compare and
// report tests (and, written to disk, for the CLI and plot tests).
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "editlab/report/report.h"

namespace editlab::test {

using ojson = nlohmann::ordered_json;

inline ojson ok_record(int64_t index, const std::map<std::string, std::vector<double>>& metrics) {
  ojson m = ojson::object();
  for (const auto& [k, v] : metrics) m[k] = v;
  return {{"index", index},
          {"case_id", std::to_string(index)},
          {"status", "ok"},
          {"metrics", m},
          {"details", ojson::object()},
          {"seconds", {{"edit", 1.0}, {"probe", 2.0}, {"other", 0.5}}}};
}

inline ojson failed_record(int64_t index) {
  return {{"index", index},
          {"case_id", std::to_string(index)},
          {"status", "failed"},
          {"error", "subject not found in the prompt"},
          {"seconds", {{"edit", 0.0}, {"probe", 0.0}, {"other", 0.1}}}};
}

// Four records of a dataset of 10: index 2 failed. Hand-computed aggregates:
//   efficacy/success  records 0, 1, 3 -> 1, 0, 1          mean 2/3
//   specificity/NS    [1, 0, 1, 1], [0.5, 0.5], [1]      record means 0.75, 0.5, 1 -> mean 0.75
//   specificity_plus/NS+   [0, 0], -, [1, 0]                 record means 0, 0.5 -> mean 0.25
inline std::vector<ojson> four_records() {
  return {ok_record(0, {{"efficacy/success", {1}}, {"specificity/NS", {1, 0, 1, 1}}, {"specificity_plus/NS+", {0, 0}}}),
          ok_record(1, {{"efficacy/success", {0}}, {"specificity/NS", {0.5, 0.5}}}), failed_record(2),
          ok_record(3, {{"efficacy/success", {1}}, {"specificity/NS", {1}}, {"specificity_plus/NS+", {1, 0}}})};
}

inline report::BootstrapOptions test_bootstrap() { return {7, 200, 0.95}; }

// A report over `records` (those whose index is in `indices`), as `editlab run` writes one.
inline ojson make_report(const std::vector<ojson>& all_records, const std::vector<int64_t>& indices,
                         std::optional<std::pair<int64_t, int64_t>> shard, const std::string& method = "rome",
                         double wall = 10.0) {
  std::vector<nlohmann::json> records;
  ojson records_json = ojson::array();
  int64_t ok = 0, failed = 0;
  for (const auto& r : all_records) {
    const int64_t i = r["index"].get<int64_t>();
    if (std::find(indices.begin(), indices.end(), i) == indices.end()) continue;
    records.emplace_back(r);
    records_json.push_back(r);
    (r["status"] == "ok" ? ok : failed) += 1;
  }
  const auto boot = test_bootstrap();
  ojson config = {{"model", "tests/fixtures/tiny-gpt2"}, {"method", method}, {"dataset", "data.json"}};
  ojson shard_json = nullptr;
  if (shard) {
    shard_json = {{"index", shard->first}, {"count", shard->second}};
    config["shard"] = fmt::format("{}/{}", shard->first, shard->second);
  }
  ojson r = ojson::object();
  r["schema"] = report::kSchema;
  r["editlab_version"] = "0.1.0";
  r["created"] = "2024-01-01T00:00:00Z";
  r["complete"] = true;
  r["run_id"] = "run-" + method;
  r["config"] = config;
  r["model"] = {{"dir", "m"}, {"fingerprint", "xxh3-128:abc"}, {"n_layer", 2}, {"n_embd", 8}, {"vocab_size", 50257}};
  r["hparams"] = ojson::object();
  r["dataset"] = {{"path", "data.json"}, {"hash", "xxh3-128:def"}, {"records", 10}};
  r["selection"] = {{"total", 4}, {"indices", indices}};
  r["shard"] = shard_json;
  r["bootstrap"] = {{"seed", boot.seed}, {"resamples", boot.resamples}, {"level", boot.level}};
  r["summary"] = {{"records", ok + failed}, {"ok", ok}, {"failed", failed}};
  r["aggregates"] = report::aggregate(records, boot);
  r["timings"] = {{"wall", wall},
                  {"edit", 1.0 * (ok + failed)},
                  {"probe", 2.0 * (ok + failed)},
                  {"other", 0.5},
                  {"model", 2.5 * (ok + failed)},
                  {"model_share", 0.5},
                  {"records_per_second", (ok + failed) / wall}};
  r["records"] = records_json;
  return r;
}

}  // namespace editlab::test
