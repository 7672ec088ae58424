#include "common.h"

#include <algorithm>
#include <iostream>

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
void print_json(const nlohmann::json& j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

}  // namespace editlab::cli
