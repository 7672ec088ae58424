#include "editlab/report/report.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "editlab/probe/suite.h"
#include "editlab/util/error.h"
#include "editlab/util/json_file.h"
#include "editlab/util/rng.h"

namespace editlab::report {
namespace {

const std::vector<double>* values_of(const nlohmann::json& record, const std::string& metric,
                                     std::vector<double>& storage) {
  if (record.value("status", "") != "ok") return nullptr;
  const auto& metrics = record.find("metrics");
  if (metrics == record.end()) return nullptr;
  const auto it = metrics->find(metric);
  if (it == metrics->end() || it->empty()) return nullptr;
  storage.clear();
  // A NaN value (a diverged edit) is written to JSON as null: read it back as NaN, so that a
  // resumed or merged report aggregates exactly what the run had in memory.
  for (const auto& v : *it) storage.push_back(v.is_null() ? std::nan("") : v.get<double>());
  return &storage;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// Quantile with linear interpolation between order statistics (numpy's default).
double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

}  // namespace

std::optional<double> record_mean(const nlohmann::json& record, const std::string& metric) {
  std::vector<double> storage;
  const auto* v = values_of(record, metric, storage);
  if (!v) return std::nullopt;
  return mean(*v);
}

bool metric_less(const std::string& a, const std::string& b) {
  auto split = [](const std::string& m) {
    const auto slash = m.find('/');
    std::string suite = m.substr(0, slash);
    std::string rest = slash == std::string::npos ? "" : m.substr(slash + 1);
    if (suite == "implication") {  // implication/<kind>/<metric>: group by kind
      const auto s2 = rest.find('/');
      suite = "implication";
      return std::tuple(editlab::suite_rank(suite), rest.substr(0, s2),
                        rest.substr(s2 == std::string::npos ? rest.size() : s2 + 1));
    }
    if (suite == "benchmark") {  // benchmark/<benchmark>/<family>/<metric>: group by family
      const auto last = rest.rfind('/');
      return std::tuple(editlab::suite_rank(suite), rest.substr(0, last),
                        rest.substr(last == std::string::npos ? rest.size() : last + 1));
    }
    return std::tuple(editlab::suite_rank(suite), suite, rest);
  };
  // Within a suite, keep the run's natural order: success, magnitude, accuracy, then the rest.
  static const std::map<std::string, int> within = {{"success", 0},
                                                    {"NS", 0},
                                                    {"NS+", 0},
                                                    {"rate", 0},
                                                    {"magnitude", 1},
                                                    {"NM", 1},
                                                    {"NM+", 1},
                                                    {"NKL", 2},
                                                    {"NKL+", 2},
                                                    {"NKL_scaled", 3},
                                                    {"NKL+_scaled", 3},
                                                    {"accuracy", 4},
                                                    {"success_before", 1},
                                                    {"success_known", 1},
                                                    {"known", 2},
                                                    {"rate_before", 1},
                                                    {"prob_gain", 2},
                                                    {"logprob_gain", 2},
                                                    {"generation", 3},
                                                    {"generation_before", 4},
                                                    {"entropy_before", 0},
                                                    {"pass", 0},
                                                    {"pass_before", 1},
                                                    {"executed", 2},
                                                    {"entropy_after", 1}};
  auto [ra, ga, ma] = split(a);
  auto [rb, gb, mb] = split(b);
  if (ra != rb) return ra < rb;
  if (ga != gb) return ga < gb;
  auto rank = [&](const std::string& m) {
    const auto it = within.find(m);
    return it == within.end() ? 10 : it->second;
  };
  if (rank(ma) != rank(mb)) return rank(ma) < rank(mb);
  return ma < mb;
}

std::vector<std::string> metric_names(const std::vector<nlohmann::json>& records) {
  std::set<std::string> names;
  for (const auto& r : records) {
    if (r.value("status", "") != "ok" || !r.contains("metrics")) continue;
    for (const auto& [k, v] : r["metrics"].items()) {
      if (!v.empty()) names.insert(k);
    }
  }
  std::vector<std::string> out(names.begin(), names.end());
  std::sort(out.begin(), out.end(), metric_less);
  return out;
}

Estimate estimate(const std::vector<nlohmann::json>& records, const std::string& metric,
                  const BootstrapOptions& options) {
  std::vector<std::vector<double>> per_record;
  std::vector<double> storage;
  for (const auto& r : records) {
    if (const auto* v = values_of(r, metric, storage)) per_record.push_back(*v);
  }
  Estimate e;
  e.records = static_cast<int64_t>(per_record.size());
  if (per_record.empty()) return e;
  std::vector<double> record_means;
  for (const auto& v : per_record) {
    record_means.push_back(mean(v));
    e.values += static_cast<int64_t>(v.size());
  }
  e.mean = mean(record_means);
  // One stream per metric, so adding a metric never changes another's interval.
  Rng rng(options.seed, "bootstrap:" + metric);
  std::vector<double> draws;
  draws.reserve(static_cast<size_t>(options.resamples));
  for (int64_t b = 0; b < options.resamples; ++b) {
    double total = 0;
    for (size_t i = 0; i < per_record.size(); ++i) {
      const auto& v = per_record[rng.below(per_record.size())];
      double s = 0;
      for (size_t j = 0; j < v.size(); ++j) s += v[rng.below(v.size())];
      total += s / static_cast<double>(v.size());
    }
    draws.push_back(total / static_cast<double>(per_record.size()));
  }
  const double tail = (1 - options.level) / 2;
  e.ci_low = quantile(draws, tail);
  e.ci_high = quantile(draws, 1 - tail);
  return e;
}

nlohmann::ordered_json aggregate(const std::vector<nlohmann::json>& records, const BootstrapOptions& options) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& m : metric_names(records)) {
    const auto e = estimate(records, m, options);
    out[m] = {{"mean", e.mean}, {"ci", {e.ci_low, e.ci_high}}, {"records", e.records}, {"values", e.values}};
  }
  return out;
}

Shard Shard::parse(const std::string& text) {
  Shard s;
  const auto slash = text.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    size_t used = 0;
    s.index = std::stoll(text.substr(0, slash), &used);
    if (used != slash) throw std::invalid_argument("index");
    const auto rest = text.substr(slash + 1);
    s.count = std::stoll(rest, &used);
    if (used != rest.size()) throw std::invalid_argument("count");
  } catch (const std::exception&) {
    fail("shard \"{}\": expected K/N, e.g. 2/8", text);
  }
  if (s.count < 1 || s.index < 1 || s.index > s.count) fail("shard \"{}\": need 1 <= K <= N", text);
  return s;
}

nlohmann::ordered_json shard_json(const std::optional<Shard>& shard) {
  if (!shard) return nullptr;
  return {{"index", shard->index}, {"count", shard->count}};
}

std::optional<Shard> shard_from_json(const nlohmann::ordered_json& shard, const std::string& source) {
  if (shard.is_null()) return std::nullopt;
  if (!shard.is_object() || !shard.contains("index") || !shard.contains("count") ||
      !shard["index"].is_number_integer() || !shard["count"].is_number_integer()) {
    fail("{}: \"shard\" must be {{\"index\": K, \"count\": N}}, found {}", source, shard.dump());
  }
  const Shard k{shard["index"].get<int64_t>(), shard["count"].get<int64_t>()};
  if (k.count < 1 || k.index < 1 || k.index > k.count) {
    fail("{}: \"shard\" index {} is not within 1..{}", source, k.index, k.count);
  }
  return k;
}

namespace {
template <typename Json>
nlohmann::ordered_json summarize_records(const std::vector<Json>& records) {
  int64_t ok = 0;
  for (const auto& r : records) ok += r.is_object() && r.value("status", "") == "ok";
  const auto n = static_cast<int64_t>(records.size());
  return {{"records", n}, {"ok", ok}, {"failed", n - ok}};
}
}  // namespace

nlohmann::ordered_json summarize(const std::vector<nlohmann::ordered_json>& records) {
  return summarize_records(records);
}
nlohmann::ordered_json summarize(const std::vector<nlohmann::json>& records) { return summarize_records(records); }

void add_rates(nlohmann::ordered_json& timings, int64_t records) {
  auto number = [&](const char* key) { return timings.contains(key) ? timings[key].get<double>() : 0.0; };
  const double busy = timings.contains("loop") ? number("loop") : number("wall_sum");
  const double done = timings.contains("records_processed") ? number("records_processed") : static_cast<double>(records);
  if (timings.contains("model")) timings["model_share"] = busy > 0 ? number("model") / busy : 0.0;
  timings["records_per_second"] = busy > 0 ? done / busy : 0.0;
}

std::string utc_now_iso8601() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string report_text(const nlohmann::ordered_json& report) {
  return report.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

namespace {

using ojson = nlohmann::ordered_json;

bool is_count(const ojson& v) { return v.is_number_integer() && (v.is_number_unsigned() || v.get<int64_t>() >= 0); }

// The largest count or duration a report may hold: sums over shards stay far from int64's range.
constexpr double kMaxReportNumber = 1e15;

bool is_bounded_number(const ojson& v) {
  if (v.is_number_integer()) return is_count(v) && v.get<uint64_t>() <= static_cast<uint64_t>(kMaxReportNumber);
  return v.is_number_float() && v.get<double>() >= 0 && v.get<double>() <= kMaxReportNumber;
}

// Everything that `report`, `compare` and `merge` read, with the type they read it as: a hostile
// or damaged report is one error naming the file and the field, never a crash or a JSON library
// exception (issue 14).
void check_report_fields(const ojson& j, const std::string& source) {
  auto bad = [&](const std::string& where, const char* want, const ojson& found) {
    std::string text = found.dump();
    if (text.size() > 80) text = text.substr(0, 77) + "...";
    fail("{}: {} must be {}, found {}", source, where, want, text);
  };
  for (const char* object : {"config", "model", "dataset", "aggregates"}) {
    if (!j[object].is_object()) bad(fmt::format("\"{}\"", object), "an object", j[object]);
  }
  if (j.contains("complete") && !j["complete"].is_boolean()) bad("\"complete\"", "true or false", j["complete"]);
  const auto& summary = j["summary"];
  if (!summary.is_object()) bad("\"summary\"", "an object", summary);
  for (const char* count : {"records", "ok", "failed"}) {
    if (!summary.contains(count) || !is_count(summary[count])) {
      bad(fmt::format("summary.{}", count), "a non-negative integer", summary.value(count, ojson()));
    }
  }
  if (j.contains("bootstrap")) {
    const auto& b = j["bootstrap"];
    if (!b.is_object()) bad("\"bootstrap\"", "an object", b);
    if (!b.contains("seed") || !is_count(b["seed"])) bad("bootstrap.seed", "a non-negative integer", b.value("seed", ojson()));
    const ojson resamples = b.value("resamples", ojson());
    if (!is_count(resamples) || resamples.get<uint64_t>() < 1 || resamples.get<uint64_t>() > kMaxBootstrapResamples) {
      bad("bootstrap.resamples", "an integer in 1..1000000", resamples);
    }
    const ojson level = b.value("level", ojson());
    if (!level.is_number() || !(level.get<double>() > 0 && level.get<double>() < 1)) {
      bad("bootstrap.level", "a number in (0, 1)", level);
    }
  }
  for (const auto& [metric, e] : j["aggregates"].items()) {
    const std::string where = "aggregates[\"" + metric + "\"]";
    if (!e.is_object()) bad(where, "an object", e);
    if (!e.contains("mean")) bad(where + ".mean", "present", ojson());
    if (!e["mean"].is_number() && !e["mean"].is_null()) bad(where + ".mean", "a number or null", e["mean"]);
    const ojson ci = e.value("ci", ojson());
    if (!ci.is_array() || ci.size() != 2 || !(ci[0].is_number() || ci[0].is_null()) ||
        !(ci[1].is_number() || ci[1].is_null())) {
      bad(where + ".ci", "[low, high] (numbers or null)", ci);
    }
  }
  if (j.contains("timings")) {
    const auto& timings = j["timings"];
    if (!timings.is_object()) bad("\"timings\"", "an object", timings);
    for (const auto& [key, value] : timings.items()) {
      if (!value.is_object()) {
        if (!is_bounded_number(value)) bad("timings." + key, "a number in [0, 1e15]", value);
        continue;
      }
      for (const auto& [part, seconds] : value.items()) {  // a split: setup_split, rome_split
        if (!is_bounded_number(seconds)) bad("timings." + key + "." + part, "a number in [0, 1e15]", seconds);
      }
    }
  }
  if (!j["records"].is_array()) bad("\"records\"", "an array", j["records"]);
  for (const auto& r : j["records"]) {
    if (!r.is_object() || !r.contains("index") || !is_count(r["index"])) {
      bad("a record", "an object with a non-negative integer \"index\"", r);
    }
    const std::string where = fmt::format("record {}", r["index"].get<uint64_t>());
    const ojson status = r.value("status", ojson());
    if (status != "ok" && status != "failed") bad(where + ".status", "\"ok\" or \"failed\"", status);
    if (!r.contains("metrics")) continue;
    if (!r["metrics"].is_object()) bad(where + ".metrics", "an object", r["metrics"]);
    for (const auto& [metric, values] : r["metrics"].items()) {
      if (!values.is_array()) bad(fmt::format("{}.metrics[\"{}\"]", where, metric), "an array", values);
      for (const auto& v : values) {
        if (!v.is_number() && !v.is_null()) bad(fmt::format("{}.metrics[\"{}\"]", where, metric), "numbers or null", v);
      }
    }
  }
  if (j.contains("shard")) shard_from_json(j["shard"], source);
}

}  // namespace

nlohmann::ordered_json load_report(const std::filesystem::path& path) {
  const auto j = read_ordered_json_file(path, "report");
  if (!j.is_object() || !j.contains("schema")) fail("{}: not an editlab report (no \"schema\" field)", path.string());
  const auto schema = j["schema"].is_string() ? j["schema"].get<std::string>() : "";
  if (schema != kSchema) fail("{}: report schema \"{}\" is not the supported \"{}\"", path.string(), schema, kSchema);
  for (const char* field : {"config", "records", "aggregates", "dataset", "model", "summary"}) {
    if (!j.contains(field)) fail("{}: report has no \"{}\" field", path.string(), field);
  }
  check_report_fields(j, path.string());
  return j;
}

std::string markdown_table(const std::vector<nlohmann::ordered_json>& reports,
                           const std::vector<std::string>& column_names) {
  std::vector<std::string> metrics;
  for (const auto& r : reports) {
    for (const auto& [k, v] : r["aggregates"].items()) {
      if (std::find(metrics.begin(), metrics.end(), k) == metrics.end()) metrics.push_back(k);
    }
  }
  std::stable_sort(metrics.begin(), metrics.end(), metric_less);
  std::string out = "| metric |";
  std::string rule = "|---|";
  for (size_t i = 0; i < reports.size(); ++i) {
    const auto& s = reports[i]["summary"];
    out += fmt::format(" {} (n={}) |", column_names[i], s.value("ok", int64_t{0}));
    rule += "---|";
  }
  out += "\n" + rule + "\n";
  for (const auto& m : metrics) {
    out += "| " + m + " |";
    for (const auto& r : reports) {
      const auto& a = r["aggregates"];
      if (!a.contains(m)) {
        out += " – |";
        continue;
      }
      const auto& e = a[m];
      // Small values (NKL scaled by the vocabulary, ~1e-6) keep their significant digits.
      const bool tiny = std::abs(e["mean"].get<double>()) < 1e-3 && e["mean"].get<double>() != 0;
      const auto num = [&](const nlohmann::ordered_json& v) {
        if (!v.is_number()) return std::string("nan");
        return tiny ? fmt::format("{:.2e}", v.get<double>()) : fmt::format("{:.3f}", v.get<double>());
      };
      // A metric over a subset of the probes says how many it rests on.
      const bool subset = m.ends_with("/success_known") && e.contains("values");
      out += fmt::format(" {} [{}, {}]{} |", num(e["mean"]), num(e["ci"][0]), num(e["ci"][1]),
                         subset ? fmt::format(" ({} probes)", e["values"].get<int64_t>()) : "");
    }
    out += "\n";
  }
  return out;
}

}  // namespace editlab::report
