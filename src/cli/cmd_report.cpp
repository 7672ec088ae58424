// editlab report REPORT.json... [--format md|json] [--names a,b]: the summary table of one or
// more existing reports side by side, or their aggregates as JSON.
#include <iostream>
#include <map>

#include "common.h"
#include "editlab/report/html.h"
#include "editlab/report/report.h"
#include "editlab/util/atomic_file.h"
#include "editlab/util/error.h"

namespace editlab::cli {
namespace {

struct ReportOptions {
  std::vector<std::string> inputs;
  std::string format = "md";
  std::vector<std::string> names;
  std::string out;
};

// The last `depth` components of a path, without the ".json" of the file name.
std::string path_label(const std::filesystem::path& path, size_t depth) {
  std::vector<std::string> parts;
  std::filesystem::path p = std::filesystem::absolute(path).lexically_normal();
  parts.push_back(p.extension() == ".json" ? p.stem().string() : p.filename().string());
  p = p.parent_path();
  while (parts.size() < depth && p.has_filename()) {
    parts.insert(parts.begin(), p.filename().string());
    p = p.parent_path();
  }
  std::string out;
  for (const auto& s : parts) out += (out.empty() ? "" : "/") + s;
  return out;
}

// Column names: the method; where two reports share it, the method and the shortest path suffix
// that tells them apart ("rome (run-a/report)").
std::vector<std::string> default_names(const std::vector<nlohmann::ordered_json>& reports,
                                       const std::vector<std::string>& paths) {
  std::vector<std::string> methods;
  std::map<std::string, int> count;
  for (const auto& r : reports) {
    std::string m = r["config"].is_object() ? r["config"].value("method", "report") : "report";
    methods.push_back(m);
    ++count[m];
  }
  std::vector<std::string> names = methods;
  for (size_t depth = 1; depth <= 16; ++depth) {
    std::map<std::string, int> seen;
    for (size_t i = 0; i < reports.size(); ++i) {
      names[i] = count[methods[i]] > 1 ? fmt::format("{} ({})", methods[i], path_label(paths[i], depth)) : methods[i];
      ++seen[names[i]];
    }
    if (std::all_of(seen.begin(), seen.end(), [](const auto& kv) { return kv.second == 1; })) break;
  }
  return names;
}

void run_report(const ReportOptions& opt) {
  std::vector<nlohmann::ordered_json> reports;
  for (const auto& path : opt.inputs) reports.push_back(report::load_report(path));
  if (!opt.names.empty() && opt.names.size() != reports.size()) {
    fail("--names: {} names for {} reports (give one per report, comma-separated)", opt.names.size(), reports.size());
  }
  const auto names = opt.names.empty() ? default_names(reports, opt.inputs) : opt.names;
  if (opt.format == "md") {
    std::cout << report::markdown_table(reports, names) << std::flush;
    return;
  }
  if (opt.format == "html") {
    const auto html = report::html_report(reports, names);
    if (opt.out.empty()) {
      std::cout << html << std::flush;
    } else {
      write_file_atomically(opt.out, html);
      fmt::print(stderr, "wrote {} ({} bytes)\n", opt.out, html.size());
    }
    return;
  }
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < reports.size(); ++i) {
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    entry["name"] = names[i];
    entry["path"] = opt.inputs[i];
    entry["method"] = reports[i]["config"].is_object() ? reports[i]["config"].value("method", "") : "";
    entry["complete"] = reports[i].value("complete", false);
    entry["summary"] = reports[i].value("summary", nlohmann::ordered_json());
    entry["aggregates"] = reports[i]["aggregates"];
    out.push_back(std::move(entry));
  }
  std::cout << out.dump(2) << std::endl;
}

}  // namespace

void setup_report(CLI::App& app, const GlobalOptions&) {
  auto opt = std::make_shared<ReportOptions>();
  auto* sub = app.add_subcommand(
      "report",
      "the summary table of one or more reports (Markdown, JSON, or an HTML page with charts and records)");
  sub->footer("print the summary table of one or more reports side by side (Markdown: one column per report, "
      "\"mean [CI low, CI high]\"), or with --format json a JSON array of {name, path, method, complete, "
      "summary, aggregates}, one per report; with --format html one self-contained HTML page (no network): "
      "charts of each method side by side, the summary, and every record in a table that sorts and filters "
      "(ready filters \"NS held but NS+ failed\" and \"made the fact loud\"; #filter=ns-plus-failed, "
      "#filter=loud, #report=NAME or #q=TEXT in the URL set them)");
  sub->add_option("reports", opt->inputs, "report.json files")->required()->check(CLI::ExistingFile);
  sub->add_option("--format", opt->format,
                  "md, json, or html (one self-contained page: charts, the summary, every record in a table that "
                  "sorts and filters)")
      ->check(CLI::IsMember({"md", "json", "html"}))
      ->capture_default_str();
  sub->add_option("--out", opt->out, "write to this file instead of stdout (html)");
  sub->add_option("--names", opt->names,
                  "column names, comma-separated, one per report (default: the method, plus the path where "
                  "two reports share a method)")
      ->delimiter(',');
  sub->callback([opt] { run_report(*opt); });
}

}  // namespace editlab::cli
