// What every subcommand shares: the global options and how they become a loaded model.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>

#include "editlab/model/model_dir.h"
#include "editlab/util/setting_name.h"

namespace editlab::cli {

struct GlobalOptions {
  int threads = 0;                // 0 = all cores
  std::string device = "cpu";     // cpu | cuda | cuda:N
  std::string dtype = "float32";  // float32 | float64 | bfloat16 | float16
  // Whether --device / --dtype were given: then they win over an experiment config's fields.
  bool device_given = false;
  bool dtype_given = false;
};

// Library errors name settings by field; the CLI by flags: "--" + the field with '-' for '_',
// or the flag `renames` gives for it (util/setting_name.h).
SettingName flag_names(std::map<std::string, std::string, std::less<>> renames = {});

LoadedModel load(const GlobalOptions& global, const std::string& model_dir);

void print_json(const nlohmann::json& j);

// Option checks with plain messages ("--limit: must be greater than 0, got 0"); CLI11's
// PositiveNumber / NonNegativeNumber print their range's upper end, 1.8e308, in full.
extern const CLI::Validator kPositive;     // > 0
extern const CLI::Validator kNonNegative;  // >= 0

// One file per subcommand; each registers itself on the app.
void setup_info(CLI::App& app, const GlobalOptions& global);
void setup_devices(CLI::App& app, const GlobalOptions& global);
void setup_tokenize(CLI::App& app, const GlobalOptions& global);
void setup_score(CLI::App& app, const GlobalOptions& global);
void setup_generate(CLI::App& app, const GlobalOptions& global);
void setup_bench(CLI::App& app, const GlobalOptions& global);
void setup_stats(CLI::App& app, const GlobalOptions& global);
void setup_edit(CLI::App& app, const GlobalOptions& global);
void setup_toy_world(CLI::App& app, const GlobalOptions& global);
void setup_train(CLI::App& app, const GlobalOptions& global);
void setup_run(CLI::App& app, const GlobalOptions& global);
void setup_merge(CLI::App& app, const GlobalOptions& global);
void setup_compare(CLI::App& app, const GlobalOptions& global);
void setup_report(CLI::App& app, const GlobalOptions& global);
void setup_trace(CLI::App& app, const GlobalOptions& global);
void setup_import(CLI::App&, const GlobalOptions&);

// Thrown by a subcommand whose outcome is an exit status other than 0 and 2 (compare: 1 when a
// metric is outside its tolerance) after it has printed its output; main returns `code`.
struct ExitStatus {
  int code;
};

}  // namespace editlab::cli
