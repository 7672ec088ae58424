#include "editlab/report/merge.h"
#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <set>

#include <fmt/format.h>

#include "editlab/report/report.h"
#include "editlab/util/atomic_file.h"
#include "editlab/util/error.h"

namespace editlab::report {
namespace {

using ojson = nlohmann::ordered_json;

const ojson& field(const ShardReport& s, const char* name) {
  const auto it = s.report.find(name);
  if (it == s.report.end()) fail("{}: report has no \"{}\" field", s.source, name);
  return *it;
}

// A nested value for comparisons between shards; null when absent.
ojson nested(const ShardReport& s, const char* outer, const char* inner) {
  const ojson& o = field(s, outer);
  if (!o.is_object()) fail("{}: \"{}\" must be an object, found {}", s.source, outer, o.dump());
  const auto it = o.find(inner);
  return it == o.end() ? ojson() : *it;
}

// Every shard must agree with the first one on `what`.
template <typename Get>
void require_same(const std::vector<ShardReport>& shards, const std::string& what, Get get) {
  const ojson first = get(shards[0]);
  for (size_t i = 1; i < shards.size(); ++i) {
    const ojson other = get(shards[i]);
    if (other != first) {
      fail("{} and {}: not shards of one run: {} differs ({} vs {})", shards[0].source, shards[i].source, what,
           first.dump(), other.dump());
    }
  }
}

Shard shard_of(const ShardReport& s) {
  const auto shard = shard_from_json(field(s, "shard"), s.source);
  if (!shard) fail("{}: not a shard report (\"shard\" is null: the run was not sharded)", s.source);
  return *shard;
}

std::vector<int64_t> index_list(const ShardReport& s, const ojson& list, const char* what) {
  if (!list.is_array()) fail("{}: {} must be an array of dataset indices", s.source, what);
  std::vector<int64_t> out;
  out.reserve(list.size());
  for (const auto& v : list) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0) {
      fail("{}: {} must hold non-negative integers, found {}", s.source, what, v.dump());
    }
    out.push_back(v.get<int64_t>());
  }
  return out;
}

int64_t record_index(const ShardReport& s, const ojson& record) {
  if (!record.is_object() || !record.contains("index") || !record["index"].is_number_integer()) {
    fail("{}: a record without an integer \"index\": {}", s.source, record.dump().substr(0, 200));
  }
  return record["index"].get<int64_t>();
}

// The shard's records must be exactly its selection: one record per selected index.
void check_complete(const ShardReport& s, const std::vector<int64_t>& selected) {
  std::set<int64_t> want(selected.begin(), selected.end());
  if (want.size() != selected.size()) fail("{}: selection.indices lists an index twice", s.source);
  std::set<int64_t> have;
  for (const auto& record : field(s, "records")) {
    const int64_t i = record_index(s, record);
    if (!want.count(i)) fail("{}: record {} is not in the shard's selection.indices", s.source, i);
    if (!have.insert(i).second) fail("{}: record {} appears twice", s.source, i);
  }
  if (have.size() != want.size()) {
    std::vector<int64_t> missing;
    std::set_difference(want.begin(), want.end(), have.begin(), have.end(), std::back_inserter(missing));
    const size_t shown = std::min<size_t>(missing.size(), 10);
    fail(
        "{}: incomplete shard: {} of its {} selected records have no result (first: {}){}; finish it by resuming "
        "its run before merging",
        s.source, missing.size(), want.size(),
        fmt::join(missing.begin(), missing.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
        missing.size() > shown ? ", ..." : "");
  }
}

BootstrapOptions bootstrap_of(const ShardReport& s) {
  const ojson& b = field(s, "bootstrap");
  if (!b.is_object() || !b.contains("seed") || !b.contains("resamples") || !b.contains("level") ||
      !b["seed"].is_number_integer() || (!b["seed"].is_number_unsigned() && b["seed"].get<int64_t>() < 0) ||
      !b["resamples"].is_number_integer() || !b["level"].is_number()) {
    fail("{}: \"bootstrap\" must be {{\"seed\", \"resamples\", \"level\"}}, found {}", s.source, b.dump());
  }
  return {b["seed"].get<uint64_t>(), b["resamples"].get<int64_t>(), b["level"].get<double>()};
}

// Durations and counts add up; the wall clock of shards that ran side by side is the longest
// one's. The rates are recomputed from the sums, as a run computes them (add_rates).
ojson merge_timings(const std::vector<const ShardReport*>& shards, int64_t records) {
  ojson sums = ojson::object();
  double wall_max = 0, wall_sum = 0;
  for (const ShardReport* s : shards) {
    const auto it = s->report.find("timings");
    if (it == s->report.end() || !it->is_object()) continue;
    for (const auto& [key, value] : it->items()) {
      if (value.is_object()) {  // a split (setup_split, rome_split): summed part by part
        auto& split = sums[key];
        if (!split.is_object()) split = ojson::object();
        for (const auto& [part, seconds] : value.items()) {
          if (seconds.is_number()) split[part] = split.value(part, 0.0) + seconds.get<double>();
        }
        continue;
      }
      if (!value.is_number() || key == "model_share" || key == "records_per_second" || key == "wall_sum") continue;
      if (key == "wall") {
        wall_max = std::max(wall_max, value.get<double>());
        wall_sum += value.get<double>();
      } else if (value.is_number_integer()) {
        sums[key] = sums.value(key, int64_t{0}) + value.get<int64_t>();
      } else {
        sums[key] = sums.value(key, 0.0) + value.get<double>();
      }
    }
  }
  ojson timings = ojson::object();
  timings["wall"] = wall_max;
  timings["wall_sum"] = wall_sum;
  for (const auto& [key, value] : sums.items()) timings[key] = value;
  add_rates(timings, records);
  return timings;
}

}  // namespace

ojson merge_shards(const std::vector<ShardReport>& shards) {
  if (shards.empty()) fail("merge: no shard reports given");
  for (const auto& s : shards) {
    const ojson& schema = field(s, "schema");
    if (!schema.is_string() || schema.get<std::string>() != kSchema) {
      fail("{}: report schema {} is not the supported \"{}\"", s.source, schema.dump(), kSchema);
    }
    if (!field(s, "records").is_array()) fail("{}: \"records\" must be an array", s.source);
  }
  require_same(shards, "run_id", [](const ShardReport& s) { return field(s, "run_id"); });
  require_same(shards, "dataset hash", [](const ShardReport& s) { return nested(s, "dataset", "hash"); });
  require_same(shards, "model fingerprint", [](const ShardReport& s) { return nested(s, "model", "fingerprint"); });
  require_same(shards, "bootstrap settings", [](const ShardReport& s) { return field(s, "bootstrap"); });
  require_same(shards, "selection.total", [](const ShardReport& s) { return nested(s, "selection", "total"); });
  require_same(shards, "shard count", [](const ShardReport& s) { return ojson(shard_of(s).count); });

  // Shards 1..N, each exactly once.
  const int64_t count = shard_of(shards[0]).count;
  std::map<int64_t, const ShardReport*> by_index;
  for (const auto& s : shards) {
    const auto [it, fresh] = by_index.emplace(shard_of(s).index, &s);
    if (!fresh) fail("{} and {}: both are shard {} of {}", it->second->source, s.source, it->first, count);
  }
  std::vector<int64_t> missing;
  for (int64_t k = 1; k <= count; ++k) {
    if (!by_index.count(k)) missing.push_back(k);
  }
  if (!missing.empty()) {
    std::vector<std::string> given;
    for (const auto& s : shards) given.push_back(s.source);
    fail("merge: shard{} {} of {} missing (given: {})", missing.size() > 1 ? "s" : "", fmt::join(missing, ", "), count,
         fmt::join(given, ", "));
  }

  // Complete shards, disjoint selections, covering the run's selection.
  std::map<int64_t, const ShardReport*> owner;  // dataset index -> shard
  std::vector<ojson> records;
  for (const auto& [k, s] : by_index) {
    const auto selected = index_list(*s, nested(*s, "selection", "indices"), "selection.indices");
    check_complete(*s, selected);
    for (int64_t i : selected) {
      const auto [it, fresh] = owner.emplace(i, s);
      if (!fresh) {
        fail("{} and {}: overlapping shards: both cover dataset index {}", it->second->source, s->source, i);
      }
    }
    for (const auto& r : field(*s, "records")) records.push_back(r);
  }
  const ojson total = nested(shards[0], "selection", "total");
  if (!total.is_number_integer() || total.get<int64_t>() != static_cast<int64_t>(owner.size())) {
    fail("merge: the shards cover {} records but the run selects {} (selection.total)", owner.size(), total.dump());
  }
  std::stable_sort(records.begin(), records.end(), [](const ojson& a, const ojson& b) {
    return a["index"].get<int64_t>() < b["index"].get<int64_t>();
  });

  // The merged report, in shard 1's key order.
  const ShardReport& first = *by_index.begin()->second;
  ojson merged = first.report;
  merged["created"] = utc_now_iso8601();
  bool complete = true;
  for (const auto& s : shards) complete = complete && s.report.value("complete", false);
  merged["complete"] = complete;
  if (merged["config"].is_object()) merged["config"].erase("shard");
  ojson indices = ojson::array();
  for (const auto& [i, s] : owner) indices.push_back(i);
  merged["selection"] = {{"total", total}, {"indices", std::move(indices)}};
  merged["shard"] = nullptr;

  merged["summary"] = summarize(records);
  const std::vector<nlohmann::json> plain(records.begin(), records.end());
  merged["aggregates"] = aggregate(plain, bootstrap_of(first));
  std::vector<const ShardReport*> ordered;
  for (const auto& [k, s] : by_index) ordered.push_back(s);
  merged["timings"] = merge_timings(ordered, static_cast<int64_t>(records.size()));
  merged["records"] = std::move(records);
  return merged;
}

ojson merge_shard_files(const std::vector<std::filesystem::path>& inputs, const std::filesystem::path& out) {
  std::vector<ShardReport> shards;
  for (const auto& path : inputs) shards.push_back({path.string(), load_report(path)});
  ojson merged = merge_shards(shards);
  // The merged report's own directory, as a run's config names its out directory.
  if (merged["config"].is_object() && merged["config"].contains("out")) {
    merged["config"]["out"] = out.has_parent_path() ? out.parent_path().string() : ".";
  }
  write_file_atomically(out, report_text(merged));
  return merged;
}

}  // namespace editlab::report
