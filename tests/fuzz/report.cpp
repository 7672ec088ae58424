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
// load_report checks every field these read (found by this target: a report without "summary"
// overflowed a buffer in markdown_table, bootstrap.level outside (0, 1) read outside the draws,
// values of the wrong type escaped as nlohmann exceptions); so any exception other than an
// editlab::Error escaping here is a bug, and the fuzzer reports it.
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
  if (!reports.empty()) {
    try {
      FUZZ_CHECK(!report::markdown_table(reports, std::vector<std::string>{"a", "b"}).empty());
    } catch (const Error&) {
    }
  }
  if (a && b) {
    check_compare(*a, *b, tolerance);
    check_compare(*b, *a, tolerance);
    check_merge({{"a.json", *a}, {"b.json", *b}});
  }
  if (a) check_merge({{"a.json", *a}});
  if (sections.size() > 3) check_journal(sections[3]);
  return 0;
}
