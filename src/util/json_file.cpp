#include "editlab/util/json_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "editlab/util/error.h"

namespace editlab {
namespace {

// Line and column (1-based, in bytes) of text[offset], for error messages.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, line_start = 0;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') ++line, line_start = i + 1;
  }
  return {line, offset - line_start + 1};
}

template <typename Json>
Json parse(std::string_view text, std::string_view source, std::string_view what, std::size_t max_members) {
  check_json_limits(text, source, max_members);
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number such as 1e400
    fail("{}: not valid JSON (the {}): {}", source, what, e.what());
  }
}

template <typename Json>
Json read(const std::filesystem::path& path, std::string_view what, std::size_t max_members) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the {} ({})", path.string(), what, std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail("{}: cannot read the {} ({})", path.string(), what, std::strerror(errno));
  const std::string text = std::move(buffer).str();
  return parse<Json>(text, path.string(), what, max_members);
}

}  // namespace

void check_json_limits(std::string_view text, std::string_view source, std::size_t max_object_members) {
  // One byte scan, as the JSON grammar tokenises: brackets count only outside strings, and a
  // backslash inside a string escapes the next byte. Per open container: is it an object, and
  // how many commas it has seen so far (members = commas + 1).
  struct Open {
    bool object;
    std::size_t commas;
    std::size_t offset;
  };
  std::vector<Open> open;
  bool in_string = false;
  std::size_t string_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      if (in_string && i - string_start > kMaxJsonStringBytes) {
        const auto [line, column] = line_column(text, string_start);
        fail("{}: the JSON string at line {}, column {} is longer than {} MiB (editlab's limit for one string)",
             source, line, column, kMaxJsonStringBytes >> 20);
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      string_start = i;
    } else if (c == '[' || c == '{') {
      if (open.size() == kMaxJsonDepth) {
        const auto [line, column] = line_column(text, i);
        fail("{}: JSON nested deeper than {} levels at line {}, column {} (editlab's limit)", source, kMaxJsonDepth,
             line, column);
      }
      open.push_back({c == '{', 0, i});
    } else if (c == ']' || c == '}') {
      if (!open.empty()) open.pop_back();
    } else if (c == ',' && !open.empty() && open.back().object) {
      if (++open.back().commas >= max_object_members) {
        const auto [line, column] = line_column(text, open.back().offset);
        fail("{}: the JSON object at line {}, column {} has more than {} members (editlab's limit)", source, line,
             column, max_object_members);
      }
    }
  }
}

nlohmann::json parse_json_text(std::string_view text, std::string_view source, std::string_view what) {
  return parse<nlohmann::json>(text, source, what, std::numeric_limits<std::size_t>::max());
}

nlohmann::ordered_json parse_ordered_json_text(std::string_view text, std::string_view source,
                                               std::string_view what) {
  return parse<nlohmann::ordered_json>(text, source, what, kMaxOrderedJsonMembers);
}

nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view what) {
  return read<nlohmann::json>(path, what, std::numeric_limits<std::size_t>::max());
}

nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path, std::string_view what) {
  return read<nlohmann::ordered_json>(path, what, kMaxOrderedJsonMembers);
}

}  // namespace editlab
