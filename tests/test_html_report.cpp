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
  {
    const size_t chart = html.find("id=\"chart-efficacy\"");
    const std::string svg = html.substr(chart, html.find("</figure>", chart) - chart);
    CHECK(svg.find("efficacy/success") != std::string::npos);
    CHECK(svg.find("paraphrase/success") == std::string::npos);  // no suite, no empty bar group
  }
  CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // the SVG namespace, nothing fetched
}

TEST_CASE("HTML report: a record's page lists every probe kept by --details", "[compare]") {
  auto with = test::ok_record(0, {{"efficacy/success", {1}}});
  with["details"] = {{"requests", {{{"prompt", "The Louvre is located in"}, {"target_new", "Rome"}, {"target_true", "Paris"}}}},
                     {"probes",
                      {{{"suite", "efficacy"}, {"prompt", "The Louvre is located in"}, {"target_new", "Rome"},
                        {"target_true", "Paris"}, {"p_new", {0.001, 0.75}}, {"p_true", {0.9, 0.02}}},
                       {{"suite", "implication"}, {"kind", "transitive"}, {"prompt", "The Louvre is in the country of"},
                        {"target_new", "Italy"}, {"target_true", "France"}, {"p_new", {0.01, 0.4}},
                        {"p_true", {0.8, 0.3}}, {"generation", {" France.", " Italy."}}}}}};
  auto without = test::ok_record(1, {{"efficacy/success", {0}}});
  auto r = test::make_report({with, without}, {0, 1}, std::nullopt, "rome");
  const auto html = report::html_report({r}, {"rome"});
  CHECK(html.find("<b>edit</b> The Louvre is located in: <s>Paris</s> &rarr; <b>Rome</b>") != std::string::npos);
  CHECK(html.find("<td>efficacy</td><td>The Louvre is located in</td><td>Rome</td><td>0.001 &rarr; 0.750</td>"
                  "<td>Paris</td><td>0.900 &rarr; 0.020</td>") != std::string::npos);
  CHECK(html.find("<td>implication/transitive</td>") != std::string::npos);
  CHECK(html.find(" France.<br>&rarr;  Italy.") != std::string::npos);
  // The record without them says how to keep them.
  CHECK(html.find("run with <code>--details</code>") != std::string::npos);
}
