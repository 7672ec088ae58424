// editlab compare: tolerance files (abs, ci, optional, glob patterns, most specific wins), the
// verdict per metric, and the reports that cannot be compared.
#include "catch_torch.h"

#include "editlab/report/compare.h"
#include "editlab/report/report.h"
#include "synthetic_report.h"

using namespace editlab;
using Catch::Contains;
using report::Verdict;
using test::ojson;

namespace {

ojson full_report(const std::string& method = "rome") {
  return test::make_report(test::four_records(), {0, 1, 2, 3}, std::nullopt, method);
}

report::ToleranceSpec spec(const std::string& text) { return report::parse_tolerance(ojson::parse(text), "t.json"); }

const report::MetricComparison& row(const report::Comparison& c, const std::string& metric) {
  for (const auto& m : c.metrics) {
    if (m.metric == metric) return m;
  }
  FAIL("no row for " << metric);
  return c.metrics.front();
}

}  // namespace

TEST_CASE("glob patterns", "[compare]") {
  REQUIRE(report::glob_match("implication/*/success", "implication/symmetric/success"));
  REQUIRE_FALSE(report::glob_match("implication/*/success", "implication/symmetric/prob_gain"));
  REQUIRE(report::glob_match("*", "efficacy/success"));
  REQUIRE(report::glob_match("specificity*/NS*", "specificity_plus/NS+"));
  REQUIRE(report::glob_match("loud/rat?", "loud/rate"));
  REQUIRE_FALSE(report::glob_match("loud/rat?", "loud/rate_before"));
  REQUIRE_FALSE(report::glob_match("efficacy/success", "efficacy/successes"));
}

TEST_CASE("tolerance rules: the most specific key wins, field by field", "[compare]") {
  const auto t = spec(R"({"default": {"abs": 0.05},
                          "metrics": {"efficacy/success": {"abs": 0.02},
                                      "specificity/NKL": {"ci": true},
                                      "implication/*": {"abs": 0.3, "optional": true},
                                      "implication/*/success": {"abs": 0.1},
                                      "implication/alias/success": {"optional": false}}})");
  REQUIRE(t.for_metric("efficacy/success").abs == 0.02);
  REQUIRE_FALSE(t.for_metric("efficacy/success").ci);
  REQUIRE(t.for_metric("efficacy/magnitude").abs == 0.05);
  REQUIRE_FALSE(t.for_metric("specificity/NKL").abs);
  REQUIRE(t.for_metric("specificity/NKL").ci);
  const auto sym = t.for_metric("implication/symmetric/success");
  REQUIRE(sym.abs == 0.1);  // from the longer pattern
  REQUIRE(sym.optional);    // from the shorter one: the longer sets no "optional"
  REQUIRE(t.for_metric("implication/symmetric/prob_gain").abs == 0.3);
  const auto alias = t.for_metric("implication/alias/success");
  REQUIRE(alias.abs == 0.1);  // the exact key sets no test
  REQUIRE_FALSE(alias.optional);
  // Without a file (or a default): the candidate must lie in the baseline's interval.
  const auto none = report::ToleranceSpec{}.for_metric("efficacy/success");
  REQUIRE(none.ci);
  REQUIRE_FALSE(none.abs);
  REQUIRE_FALSE(none.optional);
}

TEST_CASE("bad tolerance files name the field", "[compare]") {
  REQUIRE_THROWS_WITH(spec("[1]"), Contains("t.json: a tolerance file must be a JSON object"));
  REQUIRE_THROWS_WITH(spec(R"({"defaults": {}})"), Contains("unknown key \"defaults\""));
  REQUIRE_THROWS_WITH(spec(R"({"default": {"abs": -1}})"), Contains("t.json: default.abs: must be a non-negative"));
  REQUIRE_THROWS_WITH(spec(R"({"metrics": {"efficacy/success": {"ci": 1}}})"),
                      Contains("metrics[\"efficacy/success\"].ci: must be true or false"));
  REQUIRE_THROWS_WITH(spec(R"({"metrics": {"efficacy/success": {"abss": 1}}})"), Contains("unknown key \"abss\""));
  REQUIRE_THROWS_WITH(spec(R"({"metrics": []})"), Contains("metrics: must be an object"));
}

TEST_CASE("verdicts: abs, ci, missing and optional metrics", "[compare]") {
  const ojson base = full_report();
  SECTION("a report against itself is within everywhere") {
    const auto c = report::compare_reports(base, base, {});
    REQUIRE(c.passed());
    REQUIRE(c.metrics.size() == 3);
    REQUIRE(c.metrics[0].metric == "efficacy/success");  // metric order
    REQUIRE(*c.metrics[0].diff == 0);
    REQUIRE(c.warnings.empty());
  }
  ojson cand = base;
  cand["aggregates"]["efficacy/success"]["mean"] = 2.0 / 3 - 0.05;
  cand["aggregates"]["specificity/NS"]["mean"] = 0.75 + 0.3;
  SECTION("abs: |diff| <= abs, an exact boundary included") {
    auto c = report::compare_reports(base, cand, spec(R"({"default": {"abs": 0.05}})"));
    REQUIRE(row(c, "efficacy/success").verdict == Verdict::within);
    REQUIRE(*row(c, "efficacy/success").diff == Approx(-0.05));
    REQUIRE(row(c, "specificity/NS").verdict == Verdict::outside);
    REQUIRE(row(c, "specificity_plus/NS+").verdict == Verdict::within);
    REQUIRE(c.failures() == 1);
    REQUIRE_FALSE(c.passed());
    c = report::compare_reports(base, cand, spec(R"({"default": {"abs": 0.049}})"));
    REQUIRE(row(c, "efficacy/success").verdict == Verdict::outside);
  }
  SECTION("ci: the candidate mean inside the baseline's interval") {
    const auto& ci = base["aggregates"]["specificity/NS"]["ci"];
    cand["aggregates"]["specificity/NS"]["mean"] = ci[1].get<double>();
    auto c = report::compare_reports(base, cand, spec(R"({"metrics": {"specificity/NS": {"ci": true}}})"));
    REQUIRE(row(c, "specificity/NS").verdict == Verdict::within);
    cand["aggregates"]["specificity/NS"]["mean"] = ci[1].get<double>() + 1e-3;
    c = report::compare_reports(base, cand, spec(R"({"metrics": {"specificity/NS": {"ci": true}}})"));
    REQUIRE(row(c, "specificity/NS").verdict == Verdict::outside);
    // "abs" or "ci": either suffices.
    c = report::compare_reports(base, cand, spec(R"({"metrics": {"specificity/NS": {"ci": true, "abs": 1}}})"));
    REQUIRE(row(c, "specificity/NS").verdict == Verdict::within);
  }
  SECTION("a metric in one report only fails unless optional") {
    ojson fewer = base;
    fewer["aggregates"].erase("specificity_plus/NS+");
    auto c = report::compare_reports(base, fewer, {});
    REQUIRE(row(c, "specificity_plus/NS+").verdict == Verdict::missing);
    REQUIRE(c.failures() == 1);
    c = report::compare_reports(fewer, base, {});  // new in the candidate: missing in the baseline
    REQUIRE(row(c, "specificity_plus/NS+").verdict == Verdict::missing);
    c = report::compare_reports(base, fewer, spec(R"({"metrics": {"specificity_plus/*": {"optional": true},
                                                                  "loud/*": {"optional": true}}})"));
    REQUIRE(row(c, "specificity_plus/NS+").verdict == Verdict::optional_missing);
    REQUIRE(c.passed());
    REQUIRE(c.unused_patterns == std::vector<std::string>{"loud/*"});
  }
  SECTION("a NaN mean (null in JSON) is outside every tolerance") {
    cand["aggregates"]["specificity/NS"]["mean"] = nullptr;
    const auto c = report::compare_reports(base, cand, spec(R"({"default": {"abs": 1, "ci": true}})"));
    REQUIRE(row(c, "specificity/NS").verdict == Verdict::outside);
    REQUIRE_THAT(report::comparison_table(c), Contains("| specificity/NS | 0.750 ["));
  }
  SECTION("the table and the JSON say the same") {
    const auto c = report::compare_reports(base, cand, spec(R"({"default": {"abs": 0.05}})"));
    const auto table = report::comparison_table(c);
    REQUIRE_THAT(table, Contains("| metric | baseline | candidate | diff | tolerance | verdict |"));
    REQUIRE_THAT(table, Contains("| specificity/NS | 0.750 ["));
    REQUIRE_THAT(table, Contains("| +0.300 | abs 0.05 | **OUTSIDE** |"));
    REQUIRE_THAT(table, Contains("compare: 1 of 3 metrics outside tolerance or missing: specificity/NS"));
    const auto j = report::comparison_json(c);
    REQUIRE(j["passed"] == false);
    REQUIRE(j["failures"] == 1);
    REQUIRE(j["metrics"][1]["metric"] == "specificity/NS");
    REQUIRE(j["metrics"][1]["verdict"] == "outside");
    REQUIRE(j["metrics"][1]["tolerance"]["abs"] == 0.05);
    REQUIRE(j["metrics"][1]["baseline"]["mean"] == 0.75);
  }
}

TEST_CASE("reports that cannot be compared, and warnings", "[compare]") {
  const ojson base = full_report();
  SECTION("different dataset") {
    ojson other = base;
    other["dataset"]["hash"] = "xxh3-128:000";
    REQUIRE_THROWS_WITH(report::compare_reports(base, other, {}), Contains("different datasets"));
  }
  SECTION("different selection") {
    const ojson other = test::make_report(test::four_records(), {0, 1, 3}, std::nullopt);
    REQUIRE_THROWS_WITH(report::compare_reports(base, other, {}), Contains("cover different records"));
  }
  SECTION("different schema") {
    ojson other = base;
    other["schema"] = "editlab.report/2";
    REQUIRE_THROWS_WITH(report::compare_reports(base, other, {}), Contains("different schemas"));
  }
  SECTION("different methods: a warning, not an error") {
    const auto c = report::compare_reports(base, full_report("ft"), {});
    REQUIRE(c.warnings.size() == 1);
    REQUIRE_THAT(c.warnings[0], Contains("different methods"));
  }
}
