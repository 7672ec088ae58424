// The journal of an independent `editlab run` (out/journal.jsonl): what makes a run resumable.
//
//   line 1:  {"journal": "editlab.journal/1", "run_id": ..., "shard": null | {"index", "count"}}
//   line 2+: one record's result per line, appended and flushed as the record finishes.
//
// A fresh journal's header is written atomically (util/atomic_file.h), so a journal file always
// has a whole header. Only complete lines count: a line without its newline was cut short by a
// crash or a full disk, and is dropped (the file is truncated to the last complete line) when the
// run resumes. Every other defect is an error naming the file and the line, never a skipped
// record. Write errors carry errno's text ("No space left on device").
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "editlab/util/setting_name.h"

namespace editlab {

inline constexpr const char* kJournalSchema = "editlab.journal/1";

// A journal's complete lines, parsed. `source` names the file in errors.
struct JournalContents {
  nlohmann::ordered_json header;        // null when the text holds no complete line
  std::vector<nlohmann::json> records;  // lines 2.., in file order
  size_t complete_bytes = 0;            // length of the complete lines (what a resume keeps)
};
JournalContents parse_journal(std::string_view text, const std::string& source);

class Journal {
 public:
  // Opens the journal at `path` for the run described by `header`:
  //   - no file, an empty one or a header alone (when not resuming): a fresh journal;
  //   - records and `resume`: they are kept (records()) if the header's run_id and shard match
  //     `header`, else an error (another run's journal is never mixed in);
  //   - records without `resume`: an error (nothing is overwritten).
  // `names` says how errors name the "resume" and "out" settings (util/setting_name.h).
  Journal(const std::filesystem::path& path, const nlohmann::ordered_json& header, bool resume,
          const SettingName& names = {});
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Appends one result line and flushes it. Does not add it to records().
  void append(const nlohmann::json& record);
  std::vector<nlohmann::json>& records() { return records_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::string resume_setting_;
  std::FILE* file_ = nullptr;
  std::vector<nlohmann::json> records_;
};

}  // namespace editlab
