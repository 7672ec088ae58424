// The real executable on hand-made reports: `editlab merge`, `editlab compare` (every exit code)
// and `editlab report`.
#include "catch_torch.h"

#include <fstream>

#include "editlab/report/report.h"
#include "support.h"
#include "synthetic_report.h"

using namespace editlab;
using Catch::Contains;
using test::ojson;
using test::run_cli;
using test::shell_quote;
namespace fs = std::filesystem;

namespace {

std::string write(const fs::path& path, const ojson& j) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << j.dump(2);
  return shell_quote(path.string());
}

std::string write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return shell_quote(path.string());
}

void require_error(const test::CliResult& r, const std::string& needle) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(r.err, Contains(needle));
  REQUIRE(std::count(r.err.begin(), r.err.end(), '\n') <= 2);
}

ojson full(const std::string& method = "rome") {
  return test::make_report(test::four_records(), {0, 1, 2, 3}, std::nullopt, method);
}

}  // namespace

TEST_CASE("editlab merge: shards to one report, errors exit 2", "[cli_report]") {
  test::TempDir tmp;
  const auto records = test::four_records();
  const auto s1 = write(tmp / "shard-1/report.json", test::make_report(records, {0, 2}, std::pair(1, 2)));
  const auto s2 = write(tmp / "shard-2/report.json", test::make_report(records, {1, 3}, std::pair(2, 2)));
  const auto out = tmp / "merged" / "report.json";

  auto r = run_cli("merge " + s2 + " " + s1 + " --out " + shell_quote(out.string()));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE_THAT(r.err, Contains("2 shards, 4 records (3 ok, 1 failed)"));
  REQUIRE_THAT(r.out, Contains("| efficacy/success | 0.667 ["));
  const auto merged = report::load_report(out);
  REQUIRE(merged["aggregates"].dump() == full()["aggregates"].dump());
  REQUIRE(merged["records"] == full()["records"]);

  require_error(run_cli("merge " + s1 + " --out " + shell_quote((tmp / "x.json").string())), "shard 2 of 2 missing");
  require_error(run_cli("merge " + s1 + " " + s1 + " --out " + shell_quote((tmp / "x.json").string())),
                "both are shard 1 of 2");
  require_error(run_cli("merge " + s1 + " " + write_text(tmp / "bad.json", "{\"schema\":") + " --out x.json"),
                "bad.json: not valid JSON");
  require_error(run_cli("merge " + s1 + " " + s2), "--out");
  REQUIRE_FALSE(fs::exists(tmp / "x.json"));
}

TEST_CASE("editlab compare: exit 0 within, 1 outside, 2 bad input", "[cli_report]") {
  test::TempDir tmp;
  const auto base = write(tmp / "base.json", full());
  ojson worse_json = full("ft");
  const double low = worse_json["aggregates"]["efficacy/success"]["ci"][0].get<double>();
  worse_json["aggregates"]["efficacy/success"]["mean"] = low - 0.1;  // below the baseline's interval
  const auto worse = write(tmp / "worse.json", worse_json);

  SECTION("0: a report against itself") {
    auto r = run_cli("compare " + base + " " + base);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE_THAT(r.out, Contains("| efficacy/success | 0.667 ["));
    REQUIRE_THAT(r.out, Contains("compare: all 3 metrics within tolerance"));
    REQUIRE(r.err.empty());
  }
  SECTION("1: a metric outside; the method differs: a warning") {
    auto r = run_cli("compare " + base + " " + worse);
    REQUIRE(r.exit_code == 1);
    REQUIRE_THAT(r.out, Contains("**OUTSIDE**"));
    REQUIRE_THAT(r.out, Contains("outside tolerance or missing: efficacy/success"));
    REQUIRE_THAT(r.err, Contains("warning: different methods"));
    r = run_cli("compare " + base + " " + worse + " --json");
    REQUIRE(r.exit_code == 1);
    const auto j = nlohmann::json::parse(r.out);
    REQUIRE(j["passed"] == false);
    REQUIRE(j["metrics"][0]["verdict"] == "outside");
    // The same verdict as a page: the exit status unchanged, the metric outside in the first row.
    const auto page_path = (tmp / "compare.html").string();
    r = run_cli("compare " + base + " " + worse + " --format html --out " + shell_quote(page_path));
    REQUIRE(r.exit_code == 1);
    std::ifstream in(page_path);
    const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto table = page.find("id=\"comparison\"");
    REQUIRE(table != std::string::npos);
    const auto first_row = page.find("<tr class=", table);
    CHECK(page.substr(first_row).starts_with("<tr class=\"failed\"><td>efficacy/success"));
    CHECK_THAT(page, Contains("id=\"records\""));
  }
  SECTION("0 again with a tolerance that allows it") {
    const auto tol =
        write_text(tmp / "tol.json", R"({"default": {"ci": true}, "metrics": {"efficacy/*": {"abs": 1}}})");
    auto r = run_cli("compare " + base + " " + worse + " --tolerance " + tol + " --json");
    REQUIRE(r.exit_code == 0);
    REQUIRE(nlohmann::json::parse(r.out)["metrics"][0]["tolerance"]["abs"] == 1);
  }
  SECTION("2: bad tolerance file, incompatible or malformed reports") {
    require_error(run_cli("compare " + base + " " + worse + " --tolerance " +
                          write_text(tmp / "t.json", R"({"default": {"abs": "x"}})")),
                  "t.json: default.abs: must be a non-negative number");
    ojson other = full();
    other["dataset"]["hash"] = "xxh3-128:000";
    require_error(run_cli("compare " + base + " " + write(tmp / "other.json", other)), "different datasets");
    require_error(run_cli("compare " + base + " " + write_text(tmp / "bad.json", "{}")),
                  "bad.json: not an editlab report");
    require_error(run_cli("compare " + base + " " + shell_quote((tmp / "none.json").string())), "none.json");
    require_error(run_cli("compare " + base), "candidate");
  }
}

TEST_CASE("editlab report: Markdown side by side, JSON aggregates", "[cli_report]") {
  test::TempDir tmp;
  const auto a = write(tmp / "a/report.json", full("rome"));
  const auto b = write(tmp / "b/report.json", full("rome"));
  const auto c = write(tmp / "ft.json", full("ft"));

  auto r = run_cli("report " + a);
  REQUIRE(r.exit_code == 0);
  REQUIRE_THAT(r.out, Contains("| metric | rome (n=3) |"));
  REQUIRE_THAT(r.out, Contains("| specificity/NS | 0.750 ["));

  r = run_cli("report " + a + " " + b + " " + c);  // two rome reports: told apart by their paths
  REQUIRE(r.exit_code == 0);
  REQUIRE_THAT(r.out, Contains("| metric | rome (a/report) (n=3) | rome (b/report) (n=3) | ft (n=3) |"));

  r = run_cli("report " + a + " " + c + " --names baseline,edited");
  REQUIRE(r.exit_code == 0);
  REQUIRE_THAT(r.out, Contains("| metric | baseline (n=3) | edited (n=3) |"));

  r = run_cli("report " + a + " " + c + " --format json");
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j.size() == 2);
  REQUIRE(j[1]["name"] == "ft");
  REQUIRE(j[0]["aggregates"]["specificity/NS"]["mean"] == 0.75);
  REQUIRE(j[0]["summary"]["failed"] == 1);

  require_error(run_cli("report " + a + " " + c + " --names one"), "--names: 1 names for 2 reports");
  require_error(run_cli("report " + a + " --format pdf"), "pdf");
  // html: the page on stdout, or in --out's file.
  const auto page = run_cli("report " + a + " " + c + " --format html");
  REQUIRE(page.exit_code == 0);
  CHECK(page.out.starts_with("<!DOCTYPE html>"));
  CHECK_THAT(page.out, Contains("id=\"records\""));
}
