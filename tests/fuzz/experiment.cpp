// Fuzz target: the experiment config of `editlab run` (run/experiment.h).
//
// The input is a config file's bytes. It is parsed as ExperimentConfig::load parses it
// (parse_ordered_json_text: util/json_file.h's limits, then nlohmann's ordered_json), then
// ExperimentConfig::from_json validates it. Either an editlab::Error rejects it, or the config
// must survive what `editlab run` does next: the command-line overrides (with("limit", 3),
// with("out", ...)) re-parse it, result_fields() drops out/threads, and select_records picks
// records of a small fixed dataset (ascending, in range, at most `limit`; unknown case_ids are an
// Error).
#include <string>

#include "editlab/run/experiment.h"
#include "editlab/util/error.h"
#include "editlab/util/json_file.h"
#include "fuzz_support.h"

using namespace editlab;

namespace {

const std::vector<nlohmann::json>& dataset() {
  static const std::vector<nlohmann::json> records = [] {
    std::vector<nlohmann::json> r;
    for (int i = 0; i < 8; ++i) r.push_back({{"case_id", i}});
    r.push_back({{"case_id", "x"}});
    r.push_back(nlohmann::json::array());  // not an object: skipped by case_id selection
    return r;
  }();
  return records;
}

void check_selection(const ExperimentConfig& config) {
  std::vector<int64_t> picked;
  try {
    picked = select_records(config, dataset());
  } catch (const Error&) {
    FUZZ_CHECK(!config.case_ids.empty());  // the only reason to fail: a case_id not in the dataset
    return;
  }
  for (std::size_t i = 0; i < picked.size(); ++i) {
    FUZZ_CHECK(picked[i] >= 0 && picked[i] < static_cast<int64_t>(dataset().size()));
    if (i > 0) FUZZ_CHECK(picked[i - 1] < picked[i]);
  }
  if (config.limit) FUZZ_CHECK(static_cast<int64_t>(picked.size()) <= *config.limit);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ExperimentConfig config;
  try {
    config = ExperimentConfig::from_json(parse_ordered_json_text(text, "run.json", "experiment config"), "run.json",
                                         "/fuzz/configs");
  } catch (const Error&) {
    return 0;
  }
  FUZZ_CHECK(!config.model.empty() && !config.dataset.empty());
  const auto fields = config.result_fields();
  FUZZ_CHECK(!fields.contains("out") && !fields.contains("threads"));
  check_selection(config);
  const ExperimentConfig limited = config.with("limit", 3);
  FUZZ_CHECK(limited.limit == 3);
  check_selection(limited);
  const ExperimentConfig moved = config.with("out", "elsewhere");
  FUZZ_CHECK(moved.out == "elsewhere");
  return 0;
}
