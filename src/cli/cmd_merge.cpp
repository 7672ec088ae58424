// editlab merge SHARD_REPORTS... --out REPORT.json: the shards of one `editlab run --shard K/N`
// into the report the unsharded run would have written (see editlab/report/merge.h).
#include <iostream>

#include "common.h"
#include "editlab/report/merge.h"
#include "editlab/report/report.h"

namespace editlab::cli {
namespace {

struct MergeOptions {
  std::vector<std::string> inputs;
  std::string out;
  bool quiet = false;
};

void run_merge(const MergeOptions& opt) {
  std::vector<std::filesystem::path> inputs(opt.inputs.begin(), opt.inputs.end());
  const auto merged = report::merge_shard_files(inputs, opt.out);
  const auto& summary = merged["summary"];
  std::cerr << fmt::format("merge: {} shards, {} records ({} ok, {} failed) -> {}\n", inputs.size(),
                           summary["records"].get<int64_t>(), summary["ok"].get<int64_t>(),
                           summary["failed"].get<int64_t>(), opt.out);
  if (!opt.quiet) {
    const std::string method = merged["config"].is_object() ? merged["config"].value("method", "report") : "report";
    std::cout << report::markdown_table({merged}, {method});
  }
}

}  // namespace

void setup_merge(CLI::App& app, const GlobalOptions&) {
  auto opt = std::make_shared<MergeOptions>();
  auto* sub = app.add_subcommand(
      "merge",
      "merge the shard reports of one sharded run into its report");
  sub->footer("merge the shard reports of one sharded run (editlab run --shard K/N) into one report: every "
      "shard 1..N exactly once, complete, of the same run; records sorted, aggregates recomputed (equal "
      "to an unsharded run's), timings summed (wall: the longest shard, wall_sum: all shards); prints the "
      "summary table");
  sub->add_option("reports", opt->inputs, "the shards' report.json files")->required()->check(CLI::ExistingFile);
  sub->add_option("--out", opt->out, "the merged report (written atomically)")->required();
  sub->add_flag("--quiet", opt->quiet, "do not print the summary table");
  sub->callback([opt] { run_merge(*opt); });
}

}  // namespace editlab::cli
