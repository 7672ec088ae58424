#include "common.h"

#include <algorithm>
#include <iostream>
#include <stdexcept>
#include <string>

#include "editlab/util/error.h"

namespace editlab::cli {

SettingName flag_names(std::map<std::string, std::string, std::less<>> renames) {
  return [renames = std::move(renames)](std::string_view field) {
    if (const auto it = renames.find(field); it != renames.end()) return it->second;
    std::string flag = "--" + std::string(field);
    std::replace(flag.begin(), flag.end(), '_', '-');
    return flag;
  };
}

LoadedModel load(const GlobalOptions& global, const std::string& model_dir) {
  LoadOptions options;
  options.dtype = parse_compute_dtype(global.dtype, "--dtype");
  options.device = parse_device(global.device, "--device");
  return load_model(model_dir, options);
}

// Decoded model output may hold partial UTF-8 sequences: replace them rather than fail.
namespace {

CLI::Validator number_check(bool zero_allowed) {
  return CLI::Validator(
      [zero_allowed](std::string& text) -> std::string {
        double value = 0;
        try {
          size_t used = 0;
          value = std::stod(text, &used);
          if (used != text.size()) throw std::invalid_argument(text);
        } catch (const std::exception&) {
          return "must be a number, got '" + text + "'";
        }
        if (zero_allowed ? value >= 0 : value > 0) return "";
        return std::string(zero_allowed ? "must be 0 or more" : "must be greater than 0") + ", got " + text;
      },
      zero_allowed ? "NONNEGATIVE" : "POSITIVE");
}

}  // namespace

const CLI::Validator kPositive = number_check(false);
const CLI::Validator kNonNegative = number_check(true);

void print_json(const nlohmann::json& j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

}  // namespace editlab::cli
