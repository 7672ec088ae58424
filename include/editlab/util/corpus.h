// Reading a text corpus into documents: the one rule shared by ROME's second-moment statistics
// (edit/layer_stats.h) and the trainer (train/trainer.h), so that both see the same documents.
//
// Plain text (any file name not ending in ".jsonl"):
//   - lines end at "\n"; one trailing "\r" is stripped, so a CRLF file reads like an LF file;
//   - a line holding only whitespace (spaces, tabs, "\r", "\v", "\f") or nothing counts as blank;
//   - a document is a run of non-blank lines: one or more blank lines separate two documents,
//     and blank lines before the first or after the last document are ignored;
//   - a document's text is its lines joined by "\n" (each line as it is in the file, leading and
//     trailing spaces included, less the stripped "\r").
// JSON Lines (a file name ending in ".jsonl", e.g. a Hugging Face dataset dump): every line that
// is not blank is a JSON object with a string field "text", and that string is one document (as
// it is: it may hold blank lines, or be empty). Blank lines are skipped.
//
// Errors (editlab::Error) name the file: "PATH: cannot read the corpus (No such file or
// directory)"; for .jsonl "PATH:LINE: not valid JSON (...)" or "PATH:LINE: expected an object
// with a string field "text"".
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace editlab {

struct CorpusDocument {
  std::string text;
  int64_t first_line = 0;  // 1-based line of the file where the document starts
};

// Calls `fn` with each document in file order, reading the file as it goes; stops after the
// document for which `fn` returns false. `fn` may move the text out of the document.
void for_each_document(const std::filesystem::path& path, const std::function<bool(CorpusDocument&)>& fn);

// The texts of the first `limit` documents (all of them when limit <= 0).
std::vector<std::string> read_documents(const std::filesystem::path& path, int64_t limit = 0);

}  // namespace editlab
