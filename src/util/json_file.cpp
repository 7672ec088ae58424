#include "editlab/util/json_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "editlab/util/error.h"

namespace editlab {
namespace {

template <typename Json>
Json read(const std::filesystem::path& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the {} ({})", path.string(), what, std::strerror(errno));
  try {
    return Json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: not valid JSON (the {}): {}", path.string(), what, e.what());
  }
}

}  // namespace

nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view what) {
  return read<nlohmann::json>(path, what);
}

nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path, std::string_view what) {
  return read<nlohmann::ordered_json>(path, what);
}

}  // namespace editlab
