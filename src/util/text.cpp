#include "editlab/util/text.h"

#include "editlab/util/error.h"

namespace editlab {

std::string fill_braces(std::string_view templ, std::string_view value) {
  const auto pos = templ.find("{}");
  if (pos == std::string_view::npos) fail("template \"{}\" has no \"{{}}\" to fill", templ);
  std::string out(templ.substr(0, pos));
  out += value;
  out += templ.substr(pos + 2);
  return out;
}

size_t count_braces(std::string_view text) {
  size_t n = 0;
  for (auto pos = text.find("{}"); pos != std::string_view::npos; pos = text.find("{}", pos + 2)) ++n;
  return n;
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t start = 0;
  for (size_t hit; (hit = text.find(from, start)) != std::string_view::npos; start = hit + from.size()) {
    out.append(text, start, hit - start);
    out.append(to);
  }
  out.append(text, start);
  return out;
}

}  // namespace editlab
