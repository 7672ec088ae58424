// Reports of `editlab run`: schema-versioned JSON, the per-record results of the journal and
// their aggregates with hierarchical-bootstrap confidence intervals.
//
// The report (report.json, written atomically by `editlab run` and `editlab merge`):
//   {"schema": "editlab.report/1", "editlab_version": "0.1.0", "created": "<UTC ISO 8601>",
//    "complete": true,            false for a partial report (interrupted run)
//    "run_id": "<hex>",           hash of the config fields that change results (all but out,
//                                 shard, resume and threads); shards of one run share it
//    "config": {...},             the experiment config as run (after command-line overrides)
//    "model": {"dir", "fingerprint", "n_layer", "n_embd", "vocab_size"},
//    "hparams": {...},            the hyperparameter file's contents (null for method "none")
//    "dataset": {"path", "hash" (xxh3-128 of the file), "records" (in the file)},
//    "selection": {"total": n,    records the whole run selects (all shards)
//                  "indices": [...]},  dataset indices this report covers, ascending
//    "shard": {"index": k, "count": n} or null (1-based k),
//    "bootstrap": {"seed", "resamples", "level"},
//    "summary": {"records", "ok", "failed"},
//    "aggregates": {...},         see aggregate()
//    "timings": {"wall", "edit", "probe", "other", "model", "model_share", "records_per_second"},
//    "records": [...]}            one result per selected record, by dataset index
//
// A record's result (one line of the journal, one element of report["records"]):
//   {"index": 17,                 position of the record in the dataset file (0-based)
//    "case_id": "17",
//    "status": "ok" | "failed",   a failed record carries "error" and no metrics
//    "metrics": {"efficacy/success": [1], "specificity/NS": [1, 0, 1], ...},
//                                 one value per prompt; a record's score is their mean
//    "details": {...},            suite-specific extras (generations, ...)
//    "seconds": {"edit": s, "probe": s, "other": s}}
//
// Aggregates: for every metric, the mean over records of each record's mean (records without
// the metric are left out), and a 95% percentile interval from a hierarchical bootstrap as the
// CounterFact+ code does it: resample records with replacement, then each drawn record's prompt
// values with replacement, and take the mean of the drawn records' means. Seeded, so a report is
// reproducible; the order of the records is their dataset index, so a merged report's
// aggregates equal an unsharded run's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace editlab::report {

inline constexpr const char* kSchema = "editlab.report/1";

// The most resamples a report or an experiment config may ask for.
inline constexpr uint64_t kMaxBootstrapResamples = 1000000;

struct BootstrapOptions {
  uint64_t seed = 0;
  int64_t resamples = 1000;
  double level = 0.95;
};

struct Estimate {
  double mean = 0;
  double ci_low = 0, ci_high = 0;
  int64_t records = 0;  // records that have the metric
  int64_t values = 0;   // prompt values in all
};

// The metric names present in `records` (ok records only), sorted as `metric_order` says.
std::vector<std::string> metric_names(const std::vector<nlohmann::json>& records);

// A record's score for a metric: the mean of its prompt values (null read as NaN); nullopt when
// the record failed or lacks the metric.
std::optional<double> record_mean(const nlohmann::json& record, const std::string& metric);

// Mean and bootstrap interval of one metric over the ok records.
Estimate estimate(const std::vector<nlohmann::json>& records, const std::string& metric,
                  const BootstrapOptions& options);

// {"metric": {"mean", "ci": [low, high], "records", "values"}, ...} for every metric, in order.
nlohmann::ordered_json aggregate(const std::vector<nlohmann::json>& records, const BootstrapOptions& options);

// Metric order for tables: suites in the order of the run (efficacy, paraphrase, specificity,
// specificity_plus, loud, implication/*, fluency), then the metric within its suite.
bool metric_less(const std::string& a, const std::string& b);

// A shard of a run: shard K of N (1-based) takes the selected records p with p % N == K - 1.
struct Shard {
  int64_t index = 1, count = 1;
  // "K/N" with 1 <= K <= N, e.g. "2/8"; errors quote `text`.
  static Shard parse(const std::string& text);
};
// A report's and a journal's "shard": {"index": K, "count": N}, or null for an unsharded run.
nlohmann::ordered_json shard_json(const std::optional<Shard>& shard);
// Reads a report's "shard" back, checked; nullopt for null. `source` names the file in errors.
std::optional<Shard> shard_from_json(const nlohmann::ordered_json& shard, const std::string& source);

// "summary": {"records", "ok", "failed"} of a report's records.
nlohmann::ordered_json summarize(const std::vector<nlohmann::ordered_json>& records);
nlohmann::ordered_json summarize(const std::vector<nlohmann::json>& records);

// Adds the rates to a report's "timings": "model_share" = model / loop and "records_per_second"
// = records_processed / loop (a run's record loop; a merged report's timings are sums over its
// shards, so the rates stay per worker). Without "loop" the time is "wall_sum", without
// "records_processed" the count is `records`.
void add_rates(nlohmann::ordered_json& timings, int64_t records);

// The report as written to disk (1-space indent, invalid UTF-8 replaced, trailing newline).
std::string report_text(const nlohmann::ordered_json& report);

// The current time as UTC ISO 8601 ("2024-05-01T12:00:00Z"), as in a report's "created".
std::string utc_now_iso8601();

// Reads and checks a report: its schema, and every field that `report`, `compare` and `merge`
// read, with its type (counts non-negative integers, bootstrap resamples in 1..1000000 and level
// in (0, 1), timings in [0, 1e15], each record's index, status and metric values). Errors name
// the file and the field.
nlohmann::ordered_json load_report(const std::filesystem::path& path);

// The summary table of one or more reports (one column per report), in Markdown:
// | metric | rome (n=200) | ft (n=200) |, values "0.812 [0.771, 0.850]".
std::string markdown_table(const std::vector<nlohmann::ordered_json>& reports,
                           const std::vector<std::string>& column_names);

}  // namespace editlab::report
