// Fuzz target: reports as `editlab merge`, `editlab compare` and `editlab report` read them
// (report/report.h, report/merge.h, report/compare.h), and run journals as `editlab run
// --resume` reads them (run/journal.h).
//
// The input is up to four files separated by lines "--8<--": report A, report B, a tolerance
// file and a journal (journal.jsonl, given to parse_journal as it is: its header line, record
// lines, a last line cut short). The reports go through load_report (it takes a path, so each is written to a scratch
// file), the tolerance file through parse_tolerance after util/json_file.h's ordered parse, as
// load_tolerance reads it. Then everything the commands do with them: markdown_table of both,
// compare_reports A vs B and B vs A (with comparison_table and comparison_json), merge_shards of
// {A, B} and of {A} with report_text of the result. Each step may reject its input with an
// editlab::Error; no other exception may escape. Checks: a comparison lists every metric once
// and its failures() counts its outside/missing verdicts; a merged report has "shard" null and
// as many records as the shards together; a parsed journal's complete_bytes ends a line of the
// input, and each record has an integer "index".
//
// KNOWN BUGS, guarded until src/report/ is fixed (found by this target; the README lists them):
//   1. markdown_table reads a loaded report with const operator[] and unchecked indexing: a
//      report without "summary", an aggregate without "mean" or "ci", or a "ci" with fewer than
//      two elements is undefined behaviour (ASan: heap-buffer-overflow; UBSan: reference
//      binding to null). Such reports are not passed to markdown_table.
//   2. merge/compare/report let nlohmann's type_error escape for a value of the wrong type
//      (e.g. "status": 1, "ci": "x", "summary": []), instead of an editlab::Error naming the
//      file; main() prints them as "editlab: error: [json.exception.type_error.302] ...".
//      They are caught here so that fuzzing goes on.
//   3. merge_shards takes a shard's "bootstrap" settings unchecked: "level" outside (0, 1) makes
//      report.cpp's quantile() cast a negative double to size_t and read outside the draws
//      (UBSan: float-cast-overflow at report.cpp:46), "resamples" 0 reads draws[-1], and a huge
//      "resamples" allocates and loops by it (8 bytes and one bootstrap pass each). Shards with
//      settings an experiment config could not give (resamples in [1, 1000000], level in (0, 1))
//      are not merged here.
//   4. parse_journal lets a header whose "journal" is not a string throw nlohmann's type_error
//      (as 2).
//   5. markdown_table reads "summary"."ok" with value<int64_t>: a float past int64's range
//      (1.8e20) is converted with a cast (UBSan: float-cast-overflow in nlohmann's from_json).
//   6. merge_shards sums "timings" with value<int64_t> over a sum that a float timing has made a
//      double: a float past int64's range in one shard and an integer for the same key in
//      another is the same undefined conversion. Reports with such floats in "summary" or
//      "timings" are not passed to markdown_table / merge_shards.
// EDITLAB_FUZZ_NO_GUARDS=1 turns the guards off, to reproduce them.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <string>

#include "editlab/report/compare.h"
#include "editlab/report/merge.h"
#include "editlab/report/report.h"
#include "editlab/run/journal.h"
#include "editlab/util/error.h"
#include "editlab/util/json_file.h"
#include "fuzz_support.h"

using namespace editlab;
using ojson = nlohmann::ordered_json;

namespace {

const bool kGuards = std::getenv("EDITLAB_FUZZ_NO_GUARDS") == nullptr;

// Known bugs 5 and 6: a float that value<int64_t> would convert out of int64's range.
bool has_huge_float(const ojson& r, const char* field) {
  const auto it = r.find(field);
  if (it == r.end() || !it->is_object()) return false;
  for (const auto& [key, value] : it->items()) {
    if (value.is_number_float() && !(std::abs(value.get<double>()) < 0x1p63)) return true;
  }
  return false;
}

// Known bug 1: what markdown_table reads without checking.
bool markdown_table_can_read(const ojson& r) {
  if (!r.contains("summary") || has_huge_float(r, "summary")) return false;
  if (!r["aggregates"].is_object()) return true;
  for (const auto& [metric, e] : r["aggregates"].items()) {
    if (!e.is_object()) continue;
    if (!e.contains("mean") || !e.contains("ci")) return false;
    if (e["ci"].is_array() && e["ci"].size() < 2) return false;
  }
  return true;
}

// Known bugs 3 and 6: what merge_shards uses without checking.
bool merge_shards_can_read(const ojson& r) {
  if (has_huge_float(r, "timings")) return false;
  const auto it = r.find("bootstrap");
  if (it == r.end() || !it->is_object()) return true;  // merge_shards rejects it
  const auto resamples = it->find("resamples");
  const auto level = it->find("level");
  if (resamples == it->end() || level == it->end() || !resamples->is_number_integer() || !level->is_number()) {
    return true;  // rejected by bootstrap_of
  }
  const double l = level->get<double>();
  return resamples->get<int64_t>() >= 1 && resamples->get<int64_t>() <= 1000000 && l > 0 && l < 1;
}

// Known bug 2: runs `step`, treating an escaping nlohmann exception as a rejection.
template <typename Step>
void guarded(Step&& step) {
  if (!kGuards) return step();
  try {
    step();
  } catch (const nlohmann::json::exception&) {
  }
}

std::optional<ojson> load(const std::string& name, std::string_view bytes) {
  try {
    return report::load_report(fuzz::write_scratch(name, bytes));
  } catch (const Error&) {
    return std::nullopt;
  }
}

void check_compare(const ojson& baseline, const ojson& candidate, const report::ToleranceSpec& tolerance) {
  try {
    const report::Comparison c = report::compare_reports(baseline, candidate, tolerance);
    std::set<std::string> seen;
    int64_t failing = 0;
    for (const auto& m : c.metrics) {
      FUZZ_CHECK(seen.insert(m.metric).second);
      failing += m.verdict == report::Verdict::outside || m.verdict == report::Verdict::missing;
    }
    FUZZ_CHECK(c.failures() == failing);
    FUZZ_CHECK(!report::comparison_table(c).empty());
    FUZZ_CHECK(report::comparison_json(c)["metrics"].size() == c.metrics.size());
  } catch (const Error&) {
  }
}

void check_merge(const std::vector<report::ShardReport>& shards) {
  try {
    const ojson merged = report::merge_shards(shards);
    FUZZ_CHECK(merged["shard"].is_null());
    std::size_t records = 0;
    for (const auto& s : shards) records += s.report["records"].size();
    FUZZ_CHECK(merged["records"].size() == records);
    FUZZ_CHECK(!report::report_text(merged).empty());
  } catch (const Error&) {
  }
}

void check_journal(std::string_view text) {
  try {
    const JournalContents journal = parse_journal(text, "journal.jsonl");
    FUZZ_CHECK(journal.complete_bytes <= text.size());
    FUZZ_CHECK(journal.complete_bytes == 0 || text[journal.complete_bytes - 1] == '\n');
    FUZZ_CHECK(journal.records.empty() || !journal.header.is_null());
    for (const auto& record : journal.records) FUZZ_CHECK(record["index"].is_number_integer());
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto sections = fuzz::split_sections({reinterpret_cast<const char*>(data), size}, 4);
  const auto a = load("a.json", sections[0]);
  const auto b = sections.size() > 1 ? load("b.json", sections[1]) : std::nullopt;
  report::ToleranceSpec tolerance;
  if (sections.size() > 2) {
    try {
      tolerance = report::parse_tolerance(parse_ordered_json_text(sections[2], "tolerance.json", "tolerance file"),
                                          "tolerance.json");
    } catch (const Error&) {
    }
  }
  std::vector<ojson> reports;
  if (a) reports.push_back(*a);
  if (b) reports.push_back(*b);
  const bool readable = std::all_of(reports.begin(), reports.end(), markdown_table_can_read);
  if (!reports.empty() && (readable || !kGuards)) {
    guarded([&] {
      try {
        FUZZ_CHECK(!report::markdown_table(reports, std::vector<std::string>{"a", "b"}).empty());
      } catch (const Error&) {
      }
    });
  }
  const bool mergeable = (!a || merge_shards_can_read(*a)) && (!b || merge_shards_can_read(*b));
  if (a && b) {
    guarded([&] { check_compare(*a, *b, tolerance); });
    guarded([&] { check_compare(*b, *a, tolerance); });
    if (mergeable || !kGuards) guarded([&] { check_merge({{"a.json", *a}, {"b.json", *b}}); });
  }
  if (a && (mergeable || !kGuards)) guarded([&] { check_merge({{"a.json", *a}}); });
  if (sections.size() > 3) guarded([&] { check_journal(sections[3]); });
  return 0;
}
