// editlab report --format html (report/html.h): the ready filters' flags computed from a record's
// metrics, names and texts escaped, and the page holding what the browser test looks for
// (tests/html/test_html_report.sh opens it in Chromium).
#include <catch2/catch.hpp>

#include "editlab/report/html.h"
#include "synthetic_report.h"

using namespace editlab;
using test::ojson;

TEST_CASE("HTML report: ready-filter flags, escaping, one row per record", "[compare]") {
  // NS held (mean 0.75) but NS+ failed (0.25); loud after (0.5) above before (0).
  auto flagged = test::ok_record(0, {{"specificity/NS", {1, 0.5}},
                                     {"specificity_plus/NS+", {0, 0.5}},
                                     {"loud/rate", {1, 0}},
                                     {"loud/rate_before", {0, 0}}});
  auto plain = test::ok_record(1, {{"specificity/NS", {1}}, {"specificity_plus/NS+", {1}}, {"loud/rate", {0}}});
  auto no_before = test::ok_record(2, {{"loud/rate", {0.5}}});
  CHECK(report::ns_held_ns_plus_failed(flagged));
  CHECK(report::made_loud(flagged));
  CHECK_FALSE(report::ns_held_ns_plus_failed(plain));
  CHECK_FALSE(report::made_loud(plain));
  CHECK(report::made_loud(no_before));
  CHECK_FALSE(report::ns_held_ns_plus_failed(no_before));  // no NS: not "held"
  auto all = test::four_records();
  auto r = test::make_report(all, {0, 1, 2, 3}, std::nullopt, "rome");
  const auto html = report::html_report({r, r}, {"<script>alert(1)</script>", "b&c"});
  CHECK(html.find("<script>alert(1)</script>") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("b&amp;c") != std::string::npos);
  size_t rows = 0;
  for (auto p = html.find("<tr class=\"record"); p != std::string::npos; p = html.find("<tr class=\"record", p + 1)) ++rows;
  CHECK(rows == 2 * r["records"].size());
  CHECK(html.find("id=\"chart-efficacy\"") != std::string::npos);
  CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // the SVG namespace, nothing fetched
}
