// The corpus reader (see corpus.h for the rule).
#include "editlab/util/corpus.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "editlab/util/error.h"

namespace editlab {
namespace fs = std::filesystem;

namespace {

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r\v\f") == std::string_view::npos; }

// A .jsonl line's document: its "text" field.
std::string jsonl_text(const fs::path& path, int64_t line_number, std::string_view line) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number such as 1e400
    fail("{}:{}: not valid JSON ({})", path.string(), line_number, e.what());
  }
  if (!j.is_object() || !j.contains("text") || !j["text"].is_string()) {
    fail("{}:{}: expected an object with a string field \"text\"", path.string(), line_number);
  }
  return j["text"].get<std::string>();
}

}  // namespace

void for_each_document(const fs::path& path, const std::function<bool(CorpusDocument&)>& fn) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail("{}: cannot read the corpus (it is a directory)", path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot read the corpus ({})", path.string(), std::strerror(errno));
  const bool jsonl = path.extension() == ".jsonl";

  CorpusDocument doc;
  bool open = false;  // a plain-text document has started and not yet been handed to fn
  auto emit = [&] {
    open = false;
    const bool more = fn(doc);
    doc = CorpusDocument{};
    return more;
  };
  std::string line;
  for (int64_t line_number = 1; std::getline(in, line); ++line_number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF reads as LF
    if (is_blank(line)) {
      if (open && !emit()) return;
      continue;
    }
    if (jsonl) {
      doc.text = jsonl_text(path, line_number, line);
      doc.first_line = line_number;
      if (!emit()) return;
    } else if (open) {
      doc.text += '\n';
      doc.text += line;
    } else {
      doc.text = line;
      doc.first_line = line_number;
      open = true;
    }
  }
  if (in.bad()) fail("{}: cannot read the corpus (read error: {})", path.string(), std::strerror(errno));
  if (open) emit();
}

std::vector<std::string> read_documents(const fs::path& path, int64_t limit) {
  std::vector<std::string> texts;
  for_each_document(path, [&](CorpusDocument& doc) {
    texts.push_back(std::move(doc.text));
    return limit <= 0 || static_cast<int64_t>(texts.size()) < limit;
  });
  return texts;
}

}  // namespace editlab
