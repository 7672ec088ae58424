#include "editlab/run/journal.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "editlab/util/atomic_file.h"
#include "editlab/util/error.h"
#include "editlab/util/json_file.h"

namespace editlab {
namespace fs = std::filesystem;

namespace {

std::string line_of(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot read the journal: {}", path.string(), std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail("{}: cannot read the journal: {}", path.string(), std::strerror(errno));
  return text;
}

}  // namespace

JournalContents parse_journal(std::string_view text, const std::string& source) {
  JournalContents out;
  size_t line_no = 0;
  for (size_t start = 0; start < text.size();) {
    const auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) break;  // cut short: not part of the journal
    const auto line = text.substr(start, nl - start);
    ++line_no;
    // Nesting and string sizes bounded before parsing (util/json_file.h): a hostile line must not
    // overflow the stack when a record is copied later.
    check_json_limits(line, fmt::format("{}: line {}", source, line_no));
    if (line_no == 1) {
      try {
        out.header = nlohmann::ordered_json::parse(line);
      } catch (const nlohmann::json::exception&) {
        fail("{}: not an editlab journal (its first line is not a JSON header)", source);
      }
      const auto schema = out.header.is_object() ? out.header.find("journal") : out.header.end();
      if (schema == out.header.end() || !schema->is_string() || schema->get<std::string>() != kJournalSchema) {
        fail("{}: not an editlab journal (the header does not say \"journal\": \"{}\")", source, kJournalSchema);
      }
    } else {
      nlohmann::json record;
      try {
        record = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        fail("{}: line {} is not valid JSON ({}); the journal is damaged", source, line_no, e.what());
      }
      if (!record.is_object() || !record.contains("index") || !record["index"].is_number_integer()) {
        fail("{}: line {} is not a record's result (no integer \"index\"); the journal is damaged", source, line_no);
      }
      out.records.push_back(std::move(record));
    }
    start = nl + 1;
    out.complete_bytes = start;
  }
  return out;
}

Journal::Journal(const fs::path& path, const nlohmann::ordered_json& header, bool resume, const SettingName& names)
    : path_(path), resume_setting_(setting_name(names, "resume")) {
  JournalContents existing;
  if (fs::exists(path)) existing = parse_journal(read_all(path), path.string());
  const bool keep = !existing.header.is_null() && (resume || !existing.records.empty());
  if (keep) {
    if (!resume) {
      fail("{} already holds {} finished records: resume that run ({}), or choose another output directory ({})",
           path.string(), existing.records.size(), resume_setting_, setting_name(names, "out"));
    }
    // Compared as unordered JSON: the header on disk has its keys sorted, the run's is built in
    // insertion order, and ordered_json compares key order too.
    if (nlohmann::json(existing.header["run_id"]) != nlohmann::json(header["run_id"]) ||
        nlohmann::json(existing.header["shard"]) != nlohmann::json(header["shard"])) {
      fail(
          "{}: the journal belongs to a different run (another config, model, dataset, hyperparameters or shard); "
          "choose another output directory ({})",
          path.string(), setting_name(names, "out"));
    }
    std::error_code ec;
    fs::resize_file(path, existing.complete_bytes, ec);  // drops a line cut short
    if (ec) fail("{}: cannot truncate the journal's incomplete last line: {}", path.string(), ec.message());
    records_ = std::move(existing.records);
  } else {
    write_file_atomically(path, line_of(header), ParentDirs::must_exist);
  }
  file_ = std::fopen(path.c_str(), "ab");
  if (!file_) fail("{}: cannot open the journal for writing: {}", path.string(), std::strerror(errno));
}

Journal::~Journal() {
  if (file_) std::fclose(file_);
}

void Journal::append(const nlohmann::json& record) {
  const std::string line = line_of(record);
  errno = 0;
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    const int err = errno;
    fail("{}: cannot write the journal: {} (the records before this one are kept: free space and resume the run, {})",
         path_.string(), err != 0 ? std::strerror(err) : "write error", resume_setting_);
  }
}

}  // namespace editlab
