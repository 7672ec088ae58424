// Reading a JSON file, with one error format for every file editlab reads whole:
//   "PATH: cannot open the WHAT (No such file or directory)"
//   "PATH: not valid JSON (the WHAT): <the parser's message, with line and column>"
// (JSON Lines files, read line by line, name the line instead: request.h, the run journal.)
//
// Limits, whatever the input (files come from strangers: datasets, reports to merge, model
// directories). nlohmann::json parses without recursion, but copying, comparing and dumping a
// value recurse once per nesting level, so a file of a million '[' would overflow the stack
// the first time a reader copied or printed it. Before parsing, check_json_limits scans the
// bytes once (no allocation) and fails with a clear error on
//   - nesting deeper than kMaxJsonDepth (512) arrays/objects;
//   - a string (value or key) longer than kMaxJsonStringBytes (64 MiB) as written in the file;
//   - for the order-keeping reads (ordered_json, whose object lookup is linear, so that n keys
//     cost n^2 / 2 comparisons: 50,000 keys take seconds), an object with more than
//     kMaxOrderedJsonMembers (10,000) members.
// Memory: the file's bytes plus the parsed value, which nlohmann builds at up to about 35
// times the size of the text it comes from (measured: "[{},{},...]"; ordinary files far less).
#pragma once

#include <cstddef>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace editlab {

inline constexpr std::size_t kMaxJsonDepth = 512;
inline constexpr std::size_t kMaxJsonStringBytes = std::size_t{64} << 20;
inline constexpr std::size_t kMaxOrderedJsonMembers = 10'000;

// Throws Error "SOURCE: ..." (with line and column) if `text` breaks one of the limits above;
// `max_object_members` is kMaxOrderedJsonMembers for text parsed into an ordered_json. Text
// that is not valid JSON passes or fails here as it may; the parser reports it.
void check_json_limits(std::string_view text, std::string_view source,
                       std::size_t max_object_members = std::numeric_limits<std::size_t>::max());

// check_json_limits, then parse; errors as read_json_file's ("SOURCE: not valid JSON (the
// WHAT): ..."). For bytes already in memory.
nlohmann::json parse_json_text(std::string_view text, std::string_view source, std::string_view what);
nlohmann::ordered_json parse_ordered_json_text(std::string_view text, std::string_view source,
                                               std::string_view what);

nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view what);
nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path, std::string_view what);

}  // namespace editlab
