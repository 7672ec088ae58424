// editlab compare BASELINE.json CANDIDATE.json [--tolerance T.json] [--json]: every aggregate of
// two reports side by side with a verdict; the exit status is the CI verdict (0 all within,
// 1 a metric outside its tolerance or missing, 2 bad input or reports that cannot be compared).
#include <iostream>

#include "common.h"
#include "editlab/report/compare.h"
#include "editlab/report/html.h"
#include "editlab/util/atomic_file.h"
#include "editlab/report/report.h"

namespace editlab::cli {
namespace {

struct CompareOptions {
  std::string baseline, candidate, tolerance, format = "md", out;
  bool json = false;
};

void run_compare(const CompareOptions& opt) {
  const auto baseline = report::load_report(opt.baseline);
  const auto candidate = report::load_report(opt.candidate);
  const auto tolerance = opt.tolerance.empty() ? report::ToleranceSpec{} : report::load_tolerance(opt.tolerance);
  const auto comparison = report::compare_reports(baseline, candidate, tolerance);
  for (const auto& w : comparison.warnings) std::cerr << "editlab: warning: " << w << "\n";
  for (const auto& p : comparison.unused_patterns) {
    std::cerr << "editlab: warning: " << opt.tolerance << ": \"" << p << "\" matches no metric of either report\n";
  }
  if (opt.format == "html") {
    const auto page = report::html_comparison(baseline, candidate, comparison);
    if (opt.out.empty()) {
      std::cout << page << std::flush;
    } else {
      write_file_atomically(opt.out, page);
      std::cerr << "wrote " << opt.out << " (" << page.size() << " bytes)\n";
    }
  } else if (opt.json) {
    auto j = report::comparison_json(comparison);
    j["baseline"] = opt.baseline;
    j["candidate"] = opt.candidate;
    std::cout << j.dump(2) << std::endl;
  } else {
    std::cout << report::comparison_table(comparison) << std::flush;
  }
  if (!comparison.passed()) throw ExitStatus{1};
}

}  // namespace

void setup_compare(CLI::App& app, const GlobalOptions&) {
  auto opt = std::make_shared<CompareOptions>();
  auto* sub = app.add_subcommand(
      "compare",
      "compare a report with a baseline, metric by metric (exit 1: a metric outside tolerance)");
  sub->footer("compare a candidate report with a baseline report, aggregate by aggregate: means, difference, "
      "tolerance and verdict. Exit status 0 when every metric is within its tolerance, 1 when one is "
      "outside it or missing from a report, 2 for bad input or reports of different datasets or record "
      "selections. Without --tolerance a metric is within when the candidate's mean lies inside the "
      "baseline's confidence interval");
  sub->add_option("baseline", opt->baseline, "the reference report.json")->required()->check(CLI::ExistingFile);
  sub->add_option("candidate", opt->candidate, "the report to judge")->required()->check(CLI::ExistingFile);
  sub->add_option("--tolerance", opt->tolerance,
                  "tolerance file: {\"default\": {\"abs\": 0.05}, \"metrics\": {\"efficacy/success\": {\"abs\": 0.02}, "
                  "\"specificity/NKL\": {\"ci\": true}, \"implication/*/success\": {\"optional\": true}}} (see docs/commands.md, editlab compare)")
      ->check(CLI::ExistingFile);
  sub->add_flag("--json", opt->json, "machine-readable output");
  sub->add_option("--format", opt->format,
                  "md (the table; default) or html (one self-contained page: the verdict with the metrics outside "
                  "their tolerance first, then the charts and records of editlab report --format html)")
      ->check(CLI::IsMember({"md", "html"}))
      ->capture_default_str();
  sub->add_option("--out", opt->out, "write the html page to this file instead of stdout");
  sub->callback([opt] { run_compare(*opt); });
}

}  // namespace editlab::cli
