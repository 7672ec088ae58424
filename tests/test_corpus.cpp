// The corpus reader (util/corpus.h): the one rule by which ROME's statistics and the trainer
// split a corpus into documents: CRLF, whitespace-only lines, runs of blank lines, leading and
// trailing blanks, .jsonl files and their errors, and that both users see the same documents.
#include "catch_torch.h"

#include <fstream>
#include <string>
#include <vector>

#include "editlab/edit/layer_stats.h"
#include "editlab/model/tokenizer.h"
#include "editlab/train/trainer.h"
#include "editlab/util/corpus.h"
#include "editlab/util/error.h"
#include "support.h"

using namespace editlab;
namespace fs = std::filesystem;
using Catch::Contains;
using Docs = std::vector<std::string>;

namespace {

fs::path write_corpus(const test::TempDir& tmp, const std::string& name, const std::string& text) {
  const fs::path path = tmp / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

Docs documents_of(const test::TempDir& tmp, const std::string& text, const std::string& name = "c.txt") {
  return read_documents(write_corpus(tmp, name, text));
}

}  // namespace

TEST_CASE("corpus: a CRLF file reads like the same file with LF line ends", "[stats]") {
  test::TempDir tmp;
  const Docs expected{"first line\nsecond line", "third"};
  CHECK(documents_of(tmp, "first line\r\nsecond line\r\n\r\nthird\r\n") == expected);
  CHECK(documents_of(tmp, "first line\nsecond line\n\nthird\n") == expected);
  CHECK(documents_of(tmp, "first line\r\nsecond line\n\r\nthird") == expected);  // mixed, no final newline
  // Only one trailing "\r" is a line end; others are text.
  CHECK(documents_of(tmp, "a\r\r\nb\rc\r\n") == Docs{"a\r\nb\rc"});
}

TEST_CASE("corpus: a line holding only whitespace is blank; text lines keep their spaces", "[stats]") {
  test::TempDir tmp;
  CHECK(documents_of(tmp, "one\n  \ntwo\n\t \r\nthree\n \f\v\nfour") == Docs{"one", "two", "three", "four"});
  CHECK(documents_of(tmp, "  indented\ntrailing  \n\tboth\t") == Docs{"  indented\ntrailing  \n\tboth\t"});
}

TEST_CASE("corpus: several blank lines separate two documents once", "[stats]") {
  test::TempDir tmp;
  CHECK(documents_of(tmp, "a\n\n\n\nb\n \n\n\t\nc") == Docs{"a", "b", "c"});
}

TEST_CASE("corpus: blank lines before the first and after the last document are ignored", "[stats]") {
  test::TempDir tmp;
  CHECK(documents_of(tmp, "\n \n\r\nbody\nmore\n\n  \n\n") == Docs{"body\nmore"});
  CHECK(documents_of(tmp, "").empty());
  CHECK(documents_of(tmp, "\n\n  \r\n\t\n").empty());
}

TEST_CASE("corpus: each document knows its first line; the reader streams and stops early", "[stats]") {
  test::TempDir tmp;
  const auto path = write_corpus(tmp, "c.txt", "\n\nalpha\nbeta\n\n\ngamma\n  \ndelta\n");
  std::vector<int64_t> lines;
  Docs texts;
  for_each_document(path, [&](CorpusDocument& doc) {
    lines.push_back(doc.first_line);
    texts.push_back(doc.text);
    return true;
  });
  CHECK(texts == Docs{"alpha\nbeta", "gamma", "delta"});
  CHECK(lines == std::vector<int64_t>{3, 7, 9});

  int calls = 0;
  for_each_document(path, [&](CorpusDocument&) { return ++calls < 2; });
  CHECK(calls == 2);
  CHECK(read_documents(path, 2) == Docs{"alpha\nbeta", "gamma"});
  CHECK(read_documents(path, 0).size() == 3);
}

TEST_CASE("corpus: .jsonl files give each line's \"text\"; a bad line is an error naming file and line", "[stats]") {
  test::TempDir tmp;
  const std::string good =
      "{\"text\": \"first\\n\\nwith a blank line\"}\r\n"
      "\n"
      "   \n"
      "{\"text\": \"\", \"id\": 2}\n"
      "{\"id\": 3, \"text\": \"third\"}";
  const auto path = write_corpus(tmp, "c.jsonl", good);
  CHECK(read_documents(path) == Docs{"first\n\nwith a blank line", "", "third"});
  std::vector<int64_t> lines;
  for_each_document(path, [&](CorpusDocument& doc) {
    lines.push_back(doc.first_line);
    return true;
  });
  CHECK(lines == std::vector<int64_t>{1, 4, 5});

  const auto bad_json = write_corpus(tmp, "bad.jsonl", "{\"text\": \"ok\"}\n\n{\"text\": \"cut\n");
  REQUIRE_THROWS_AS(read_documents(bad_json), Error);
  REQUIRE_THROWS_WITH(read_documents(bad_json), Contains("bad.jsonl:3:") && Contains("not valid JSON"));
  const auto no_text = write_corpus(tmp, "no_text.jsonl", "{\"text\": \"ok\"}\n{\"body\": \"x\"}\n");
  REQUIRE_THROWS_WITH(read_documents(no_text), Contains("no_text.jsonl:2:") && Contains("\"text\""));
  const auto not_string = write_corpus(tmp, "number.jsonl", "[\"text\"]\n");
  REQUIRE_THROWS_WITH(read_documents(not_string), Contains("number.jsonl:1:"));
  // The same lines in a plain text file are text.
  CHECK(documents_of(tmp, "{\"body\": \"x\"}\n", "c.txt") == Docs{"{\"body\": \"x\"}"});
}

TEST_CASE("corpus: a missing file or a directory is an error naming it", "[stats]") {
  test::TempDir tmp;
  REQUIRE_THROWS_WITH(read_documents(tmp / "missing.txt"), Contains("missing.txt") && Contains("No such file"));
  REQUIRE_THROWS_WITH(read_documents(tmp.path()), Contains(tmp.path().string()) && Contains("directory"));
}

TEST_CASE("corpus: the statistics and the trainer read the same documents", "[stats]") {
  test::TempDir tmp;
  const auto path = write_corpus(tmp, "c.txt", "\r\nHello world\r\nsecond line\r\n\r\n\n  \n\nlast\n \nParis\n");
  const Docs docs = read_documents(path);
  REQUIRE(docs == Docs{"Hello world\nsecond line", "last", "Paris"});
  CHECK(read_corpus_texts(path, 0) == docs);
  CHECK(read_corpus_texts(path, 2) == Docs{docs[0], docs[1]});
  REQUIRE_THROWS_WITH(read_corpus_texts(write_corpus(tmp, "blank.txt", "\n  \n"), 0), Contains("holds no text"));

  const auto tokenizer = Tokenizer::from_dir(test::source_dir() / "data/gpt2-tokenizer");
  const auto corpus = tokenize_corpus(path, tokenizer);
  std::vector<int64_t> expected;
  for (const auto& doc : docs) {
    const auto ids = tokenizer.encode(doc);
    expected.insert(expected.end(), ids.begin(), ids.end());
    expected.push_back(tokenizer.eos_id());
  }
  CHECK(corpus.documents == static_cast<int64_t>(docs.size()));
  CHECK(corpus.tokens == expected);
}
