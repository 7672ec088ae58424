// GPT-2 tokenizer: golden parity with gpt-3-encoder@1.1.4 (the ids in
// tests/golden/tokenizer_golden.json come from that package; scripts/make_tokenizer_golden.sh),
// exact round trips, and the errors a user can run into.
#include <unistd.h>
#include <nlohmann/json.hpp>
#include "catch_torch.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "editlab/model/tokenizer.h"
#include "editlab/util/error.h"

#ifndef EDITLAB_SOURCE_DIR
#define EDITLAB_SOURCE_DIR "."
#endif

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using editlab::Tokenizer;

const fs::path kSourceDir = EDITLAB_SOURCE_DIR;
const fs::path kTokenizerDir = kSourceDir / "data" / "gpt2-tokenizer";

// Loading parses a 1 MB JSON file; share one tokenizer across the test cases.
const Tokenizer& gpt2() {
  static const Tokenizer tokenizer = Tokenizer::from_dir(kTokenizerDir);
  return tokenizer;
}

struct GoldenCase {
  std::string text;
  std::vector<int64_t> ids;
};

std::vector<GoldenCase> load_golden() {
  const fs::path path = kSourceDir / "tests" / "golden" / "tokenizer_golden.json";
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<GoldenCase> cases;
  for (const auto& entry : nlohmann::json::parse(in)) {
    cases.push_back({entry.at("text").get<std::string>(), entry.at("ids").get<std::vector<int64_t>>()});
  }
  return cases;
}

// The text as an escaped JSON string, so control characters and odd spaces are visible.
std::string quoted(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

// "[id "piece"] ..." for a mismatch report.
std::string pieces(const Tokenizer& tokenizer, const std::vector<int64_t>& ids) {
  std::string out;
  for (const int64_t id : ids) {
    out += std::to_string(id) + ' ' + quoted(tokenizer.token_bytes(id)) + "  ";
  }
  return out;
}

// A scratch directory removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "editlab_tok_XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path / name, std::ios::binary) << content;
  }
};

// GPT-2's 256 single-byte symbols (its ids 0..255) plus the given extra tokens, as vocab.json.
std::string byte_vocab_with(const std::vector<std::string>& extra) {
  std::ifstream in(kTokenizerDir / "vocab.json");
  const nlohmann::json full = nlohmann::json::parse(in);
  nlohmann::json small = nlohmann::json::object();
  for (const auto& [token, id] : full.items()) {
    if (id.get<int64_t>() < 256) small[token] = id;
  }
  for (size_t i = 0; i < extra.size(); ++i) small[extra[i]] = 256 + i;
  return small.dump();
}

}  // namespace

TEST_CASE("golden ids match gpt-3-encoder on every string", "[tokenizer]") {
  const Tokenizer& tokenizer = gpt2();
  const std::vector<GoldenCase> cases = load_golden();
  REQUIRE(cases.size() >= 300);
  size_t matched = 0;
  for (const GoldenCase& c : cases) {
    const std::vector<int64_t> actual = tokenizer.encode(c.text);
    if (actual == c.ids) {
      ++matched;
    } else {
      FAIL_CHECK("text:     " << quoted(c.text) << "\nexpected: " << pieces(tokenizer, c.ids)
                              << "\nactual:   " << pieces(tokenizer, actual));
    }
  }
  WARN("tokenizer golden: " << matched << " / " << cases.size() << " strings identical");
  REQUIRE(matched == cases.size());
}

TEST_CASE("decode(encode(s)) == s byte for byte", "[tokenizer]") {
  const Tokenizer& tokenizer = gpt2();
  for (const GoldenCase& c : load_golden()) {
    INFO("text: " << quoted(c.text));
    CHECK(tokenizer.decode(tokenizer.encode(c.text)) == c.text);
  }
}

TEST_CASE("vocabulary facts", "[tokenizer]") {
  const Tokenizer& tokenizer = gpt2();
  CHECK(tokenizer.vocab_size() == 50257);
  CHECK(tokenizer.eos_id() == 50256);
  CHECK(tokenizer.token_string(50256) == "<|endoftext|>");
  CHECK(tokenizer.token_id("\xC4\xA0the") == 262);  // "Ġthe"
  CHECK(tokenizer.token_string(262) == "\xC4\xA0the");
  CHECK(tokenizer.token_bytes(262) == " the");
  CHECK(tokenizer.token_bytes(198) == "\n");  // "Ċ"
  CHECK_FALSE(tokenizer.token_id("no such token").has_value());
  // Plain text to GPT-2's encoder: "<|endoftext|>" is not one token.
  CHECK(tokenizer.encode("<|endoftext|>").size() > 1);
  CHECK(tokenizer.encode("").empty());
}

TEST_CASE("decode returns exact bytes, even a partial UTF-8 sequence", "[tokenizer]") {
  const Tokenizer& tokenizer = gpt2();
  const std::string text = "\xE6\x9D\xB1";  // 東, three byte tokens
  const std::vector<int64_t> ids = tokenizer.encode(text);
  REQUIRE(ids.size() >= 2);
  const std::vector<int64_t> first(ids.begin(), ids.begin() + 1);
  CHECK(tokenizer.decode(first) == text.substr(0, tokenizer.token_bytes(ids[0]).size()));
  CHECK(tokenizer.decode(first).size() < text.size());
}

TEST_CASE("invalid UTF-8 is an Error naming the byte offset", "[tokenizer]") {
  const Tokenizer& tokenizer = gpt2();
  const std::pair<std::string, size_t> bad[] = {
      {"abc\xFF", 3},             // never valid in UTF-8
      {"ok \xC3", 3},             // truncated two-byte sequence
      {"\xC0\xAF", 0},            // overlong "/"
      {"x\xED\xA0\x80y", 1},      // UTF-16 surrogate U+D800
      {"xy\xF4\x90\x80\x80", 2},  // past U+10FFFF
  };
  for (const auto& [text, offset] : bad) {
    INFO("text: " << quoted(text));
    REQUIRE_THROWS_AS(tokenizer.encode(text), editlab::Error);
    REQUIRE_THROWS_WITH(tokenizer.encode(text),
                        Contains("not valid UTF-8") && Contains("byte offset " + std::to_string(offset)));
  }
}

TEST_CASE("decode rejects ids outside the vocabulary", "[tokenizer]") {
  const Tokenizer& tokenizer = gpt2();
  const std::vector<int64_t> too_big = {464, 50257};
  REQUIRE_THROWS_AS(tokenizer.decode(too_big), editlab::Error);
  REQUIRE_THROWS_WITH(tokenizer.decode(too_big), Contains("50257") && Contains("position 1"));
  const std::vector<int64_t> negative = {-1};
  REQUIRE_THROWS_AS(tokenizer.decode(negative), editlab::Error);
  REQUIRE_THROWS_AS(tokenizer.token_string(-5), editlab::Error);
  REQUIRE_THROWS_AS(tokenizer.token_bytes(50257), editlab::Error);
}

TEST_CASE("clean_up_tokenization_spaces follows Hugging Face", "[tokenizer]") {
  using editlab::clean_up_tokenization_spaces;
  CHECK(clean_up_tokenization_spaces("Hello , world !") == "Hello, world!");
  CHECK(clean_up_tokenization_spaces("Really ? Yes .") == "Really? Yes.");
  CHECK(clean_up_tokenization_spaces("I do n't know") == "I don't know");
  CHECK(clean_up_tokenization_spaces("I 'm sure it 's what we 've said they 're") ==
        "I'm sure it's what we've said they're");
  CHECK(clean_up_tokenization_spaces("rock ' n ' roll") == "rock'n'roll");
  // One pass per pattern, like str.replace: "  ." loses one space, not two.
  CHECK(clean_up_tokenization_spaces("a  .") == "a .");
  // Order matters: " ' " runs before " 's", so " ' s" becomes "'s".
  CHECK(clean_up_tokenization_spaces("it ' s") == "it's");
  CHECK(clean_up_tokenization_spaces("") == "");
  CHECK(clean_up_tokenization_spaces("no change here") == "no change here");
}

TEST_CASE("a missing vocab file is an Error naming the path", "[tokenizer]") {
  const fs::path missing = kSourceDir / "no-such-dir" / "vocab.json";
  REQUIRE_THROWS_AS(Tokenizer::from_files(missing, kTokenizerDir / "merges.txt"), editlab::Error);
  REQUIRE_THROWS_WITH(Tokenizer::from_files(missing, kTokenizerDir / "merges.txt"), Contains(missing.string()));
  REQUIRE_THROWS_WITH(Tokenizer::from_dir(kSourceDir / "no-such-dir"), Contains("no-such-dir"));
}

TEST_CASE("malformed vocab and merges files are Errors with the place", "[tokenizer]") {
  TempDir dir;
  dir.write("vocab.json", byte_vocab_with({"ab"}));
  SECTION("a merges line with three fields names its line number") {
    dir.write("merges.txt", "#version: 0.2\na b\nthree fields here\n");
    REQUIRE_THROWS_WITH(Tokenizer::from_dir(dir.path), Contains("merges.txt:3") && Contains("expected two tokens"));
  }
  SECTION("a merge whose result is not in the vocab names its line number") {
    dir.write("merges.txt", "#version: 0.2\na b\nb c\n");
    REQUIRE_THROWS_WITH(Tokenizer::from_dir(dir.path), Contains("merges.txt:3") && Contains("\"bc\""));
  }
  SECTION("a vocab that is not JSON") {
    dir.write("vocab.json", "{\"a\": 1,");
    dir.write("merges.txt", "#version: 0.2\n");
    REQUIRE_THROWS_WITH(Tokenizer::from_dir(dir.path), Contains("vocab.json") && Contains("not valid JSON"));
  }
  SECTION("a vocab with a non-integer id") {
    dir.write("vocab.json", "{\"a\": \"zero\"}");
    dir.write("merges.txt", "#version: 0.2\n");
    REQUIRE_THROWS_WITH(Tokenizer::from_dir(dir.path), Contains("\"a\"") && Contains("expected an integer"));
  }
  SECTION("a vocab without <|endoftext|> loads, but has no eos id") {
    dir.write("merges.txt", "#version: 0.2\na b\n");
    const Tokenizer small = Tokenizer::from_dir(dir.path);
    CHECK(small.vocab_size() == 257);
    REQUIRE_THROWS_WITH(small.eos_id(), Contains("<|endoftext|>"));
  }
}

// encoder.py merges the lowest-ranked bigram everywhere in one left-to-right pass before it
// looks at any pair that pass created. Two small merge files pin that order down.
TEST_CASE("merge order is encoder.py's", "[tokenizer]") {
  TempDir dir;
  dir.write("vocab.json", byte_vocab_with({"aa", "ab", "aba"}));
  const auto encode_pieces = [&](const std::string& text) {
    const Tokenizer tokenizer = Tokenizer::from_dir(dir.path);
    std::vector<std::string> out;
    for (const int64_t id : tokenizer.encode(text)) out.push_back(tokenizer.token_string(id));
    return out;
  };
  SECTION("overlapping occurrences merge left to right") {
    dir.write("merges.txt", "#version: 0.2\na a\n");
    CHECK(encode_pieces("aaa") == std::vector<std::string>{"aa", "a"});
    CHECK(encode_pieces("aaaa") == std::vector<std::string>{"aa", "aa"});
  }
  SECTION("a pass completes before a lower-ranked pair it created is merged") {
    // ("ab", "a") ranks before ("a", "b"); encoder.py still turns "abab" into "ab ab".
    dir.write("merges.txt", "#version: 0.2\nab a\na b\n");
    CHECK(encode_pieces("abab") == std::vector<std::string>{"ab", "ab"});
    CHECK(encode_pieces("aba") == std::vector<std::string>{"aba"});
  }
}

TEST_CASE("encode from several threads gives the same ids", "[tokenizer]") {
  const std::vector<GoldenCase> cases = load_golden();
  const Tokenizer tokenizer = Tokenizer::from_dir(kTokenizerDir);  // a fresh, empty cache
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < cases.size(); ++i) {
        const GoldenCase& c = cases[(i + t * 37) % cases.size()];  // different orders per thread
        if (tokenizer.encode(c.text) != c.ids) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(mismatches == std::vector<int>(mismatches.size(), 0));
}

TEST_CASE("long inputs: one huge piece and long whitespace runs", "[tokenizer]") {
  const Tokenizer& tokenizer = gpt2();
  for (const std::string& text : {std::string(200000, 'a'), std::string(200000, ' ') + "x", std::string(100000, '\n'),
                                  "x" + std::string(100000, '!')}) {
    INFO("length " << text.size() << ", first byte " << int(text[0]));
    CHECK(tokenizer.decode(tokenizer.encode(text)) == text);
  }
}

TEST_CASE("replace_invalid_utf8 matches Python's errors=\"replace\"", "[tokenizer]") {
  // Expected values from Python: bytes.decode("utf-8", errors="replace").
  REQUIRE(editlab::replace_invalid_utf8("abc") == "abc");
  REQUIRE(editlab::replace_invalid_utf8("caf\xC3\xA9") == "caf\xC3\xA9");
  REQUIRE(editlab::replace_invalid_utf8("a\xC3") == "a\xEF\xBF\xBD");    // cut 2-byte char
  REQUIRE(editlab::replace_invalid_utf8("\xE6\x97") == "\xEF\xBF\xBD");  // cut 3-byte char: one U+FFFD
  REQUIRE(editlab::replace_invalid_utf8("\xE6\x97x") == "\xEF\xBF\xBDx");
  REQUIRE(editlab::replace_invalid_utf8("\x80\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // stray continuations
  REQUIRE(editlab::replace_invalid_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  REQUIRE(editlab::replace_invalid_utf8("\xF0\x9F\x98") == "\xEF\xBF\xBD");                          // cut emoji
  REQUIRE(editlab::replace_invalid_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
}
