// Reading a JSON file, with one error format for every file editlab reads whole:
//   "PATH: cannot open the WHAT (No such file or directory)"
//   "PATH: not valid JSON (the WHAT): <the parser's message, with line and column>"
// (JSON Lines files, read line by line, name the line instead: request.h, the run journal.)
#pragma once

#include <filesystem>
#include <string_view>

#include <nlohmann/json.hpp>

namespace editlab {

nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view what);
nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path, std::string_view what);

}  // namespace editlab
