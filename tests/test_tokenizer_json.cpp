// tokenizer.json: golden parity with Hugging Face (tests/golden/tokenizers/<name>.json, written by
// scripts/reference/make_tokenizer_fixtures.py with transformers' AutoTokenizer and the tokenizers
// library), and the errors for what editlab does not implement.
#include <nlohmann/json.hpp>
#include "catch_torch.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "editlab/model/tokenizer.h"
#include "editlab/util/error.h"
#include "support.h"
#include "../src/model/hf_tokenizer.h"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using editlab::Tokenizer;
using Json = nlohmann::json;

const fs::path kGoldenDir = editlab::test::source_dir() / "tests/golden/tokenizers";
const fs::path kFixtureDir = editlab::test::source_dir() / "tests/fixtures/tokenizers";

Json read_json(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return Json::parse(in);
}

std::string quoted(const std::string& text) {
  return Json(text).dump(-1, ' ', true, Json::error_handler_t::replace);
}

std::string ids_text(const std::vector<int64_t>& ids) { return Json(ids).dump(); }

// The tokenizers with golden vectors, by name (tests/golden/tokenizers/<name>.json).
std::vector<std::string> golden_names() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kFixtureDir)) {
    if (entry.is_directory() && fs::exists(kGoldenDir / (entry.path().filename().string() + ".json"))) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Writes a tokenizer directory whose tokenizer.json is `j` (and an optional tokenizer_config.json).
fs::path write_tokenizer(const std::string& name, const Json& j, const Json& config = nullptr) {
  static const editlab::test::TempDir scratch;
  const fs::path dir = scratch / name;
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << j.dump();
  if (!config.is_null()) std::ofstream(dir / "tokenizer_config.json") << config.dump();
  return dir;
}

// A small byte-level tokenizer.json to take apart in the error tests.
Json minimal_byte_level() {
  Json vocab = Json::object();
  int id = 0;
  for (const char* t : {"a", "b", "ab", "Ġ", "Ġab"}) vocab[t] = id++;
  return {{"version", "1.0"},
          {"added_tokens", Json::array({{{"id", 5}, {"content", "<|endoftext|>"}, {"special", true},
                                         {"normalized", false}, {"single_word", false}, {"lstrip", false},
                                         {"rstrip", false}}})},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                             {"use_regex", true}}},
          {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"fuse_unk", false},
                     {"byte_fallback", false}, {"vocab", vocab}, {"merges", Json::array({"a b", "Ġ ab"})}}}};
}

}  // namespace

TEST_CASE("tokenizer.json: ids and decodes equal Hugging Face's on every golden vector", "[tokenizer]") {
  const auto strings = read_json(kGoldenDir / "strings.json");
  const auto names = golden_names();
  REQUIRE(names.size() >= 7);
  for (const auto& name : names) {
    INFO("tokenizer " << name);
    const Tokenizer tok = Tokenizer::from_dir(kFixtureDir / name);
    const auto golden = read_json(kGoldenDir / (name + ".json"));
    const auto& encode = golden.at("encode");
    REQUIRE(encode.size() == strings.size());
    size_t wrong = 0, wrong_plain = 0, shown = 0;
    for (size_t i = 0; i < strings.size(); ++i) {
      const auto text = strings[i].get<std::string>();
      const auto want = encode[i].at("ids").get<std::vector<int64_t>>();
      const auto want_plain = encode[i].at("ids_plain").get<std::vector<int64_t>>();
      const auto got = tok.encode(text, true);
      const auto got_plain = tok.encode(text, false);
      wrong += got != want;
      wrong_plain += got_plain != want_plain;
      if ((got != want || got_plain != want_plain) && shown++ < 5) {
        WARN(name << " string " << i << " " << quoted(text) << "\n  HF     " << ids_text(want_plain) << "\n  editlab "
                  << ids_text(got_plain));
      }
    }
    const auto& decode = golden.at("decode");
    REQUIRE(decode.size() >= 500);
    size_t wrong_decode = 0, wrong_skip = 0;
    shown = 0;
    for (size_t i = 0; i < decode.size(); ++i) {
      const auto ids = decode[i].at("ids").get<std::vector<int64_t>>();
      const auto text = tok.decode_text(ids, false);
      const auto skipped = tok.decode_text(ids, true);
      wrong_decode += text != decode[i].at("text").get<std::string>();
      wrong_skip += skipped != decode[i].at("text_skip_special").get<std::string>();
      if ((text != decode[i].at("text").get<std::string>() ||
           skipped != decode[i].at("text_skip_special").get<std::string>()) &&
          shown++ < 5) {
        WARN(name << " decode " << i << " " << ids_text(ids) << "\n  HF      " << quoted(decode[i].at("text"))
                  << "\n  editlab " << quoted(text));
      }
    }
    WARN(name << ": " << strings.size() - wrong << "/" << strings.size() << " with special tokens, "
              << strings.size() - wrong_plain << "/" << strings.size() << " without, " << decode.size() - wrong_decode
              << "/" << decode.size() << " decodes, " << decode.size() - wrong_skip << "/" << decode.size()
              << " decodes skipping special tokens equal to Hugging Face");
    CHECK(wrong == 0);
    CHECK(wrong_plain == 0);
    CHECK(wrong_decode == 0);
    CHECK(wrong_skip == 0);
  }
}

TEST_CASE("tokenizer.json: a directory with tokenizer.json is read through it", "[tokenizer]") {
  const Tokenizer tok = Tokenizer::from_dir(write_tokenizer("minimal", minimal_byte_level()));
  CHECK(tok.describe()["kind"] == "tokenizer.json");
  CHECK(tok.vocab_size() == 6);
  // " ab" -> "Ġab" through the merges; "<|endoftext|>" is one special token, as in HF.
  CHECK(tok.encode("ab ab<|endoftext|>") == std::vector<int64_t>{2, 4, 5});
  CHECK(tok.eos_id() == 5);
  CHECK(tok.is_special(5));
  CHECK(tok.decode_text(std::vector<int64_t>{2, 4, 5}, true) == "ab ab");
  CHECK(tok.token_bytes(4) == " ab");
  // ids past the tokenizer's last token are dropped, as tokenizers' decode does
  CHECK(tok.decode_text(std::vector<int64_t>{2, 1000}) == "ab");
  CHECK_THROWS_WITH(tok.encode("a\xC3"), Contains("not valid UTF-8 at byte offset 1"));
}

TEST_CASE("tokenizer.json: what editlab does not implement is refused, naming the file, path and type",
          "[tokenizer]") {
  auto refused = [](const Json& j, const std::string& what) {
    const fs::path dir = write_tokenizer("refused", j);
    CHECK_THROWS_WITH(Tokenizer::from_dir(dir), Contains("tokenizer.json") && Contains(what));
  };
  auto j = minimal_byte_level();
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", Json::array({{{"type", "NFC"}}, {{"type", "BertNormalizer"}}})}};
  refused(j, "/normalizer/normalizers/1: normalizer type \"BertNormalizer\" is not supported");
  j = minimal_byte_level();
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  refused(j, "/pre_tokenizer: pre-tokenizer type \"Whitespace\" is not supported");
  j = minimal_byte_level();
  j["decoder"] = {{"type", "WordPiece"}};
  refused(j, "/decoder: decoder type \"WordPiece\"");
  j = minimal_byte_level();
  j["model"]["type"] = "Unigram";
  refused(j, "/model: model type \"Unigram\"");
  j = minimal_byte_level();
  j["model"]["dropout"] = 0.1;
  refused(j, "dropout");
  j = minimal_byte_level();
  j["model"]["merges"] = Json::array({"a b", "a zz"});
  refused(j, "/model/merges/1: \"zz\" is not in the vocabulary");
  j = minimal_byte_level();
  j["model"]["merges"] = Json::array({"a b c"});
  refused(j, "/model/merges/0: expected \"left right\"");
  j = minimal_byte_level();
  j["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", Json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}})},
                         {"special_tokens", Json::object()}};
  refused(j, "/post_processor/special_tokens: missing \"<s>\"");
  j = minimal_byte_level();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"},
                        {"invert", false}};
  refused(j, "does not compile");
  const fs::path dir = write_tokenizer("not-json", minimal_byte_level());
  std::ofstream(dir / "tokenizer.json") << "{\"model\": ";
  CHECK_THROWS_WITH(Tokenizer::from_dir(dir), Contains("not valid JSON"));
}

TEST_CASE("tokenizer.json: tokenizer_config.json's add_bos_token / add_eos_token for Llama's classes",
          "[tokenizer]") {
  auto j = minimal_byte_level();
  j["added_tokens"].push_back({{"id", 6}, {"content", "<s>"}, {"special", true}, {"normalized", false},
                               {"single_word", false}, {"lstrip", false}, {"rstrip", false}});
  j["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", Json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                                 {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                         {"pair", Json::array()},
                         {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {6}}, {"tokens", {"<s>"}}}}}}};
  // The template as the file has it.
  CHECK(Tokenizer::from_dir(write_tokenizer("template", j)).encode("ab", true) == std::vector<int64_t>{6, 2});
  // LlamaTokenizerFast rebuilds it from the config: BOS and EOS here.
  const Json llama = {{"tokenizer_class", "LlamaTokenizerFast"}, {"bos_token", "<s>"},
                      {"eos_token", "<|endoftext|>"}, {"add_eos_token", true}};
  const Tokenizer tok = Tokenizer::from_dir(write_tokenizer("llama-eos", j, llama));
  CHECK(tok.encode("ab", true) == std::vector<int64_t>{6, 2, 5});
  CHECK(tok.encode("ab", false) == std::vector<int64_t>{2});
  CHECK(tok.bos_id() == 6);
  // PreTrainedTokenizerFast (Llama 3) keeps the file's template whatever add_bos_token says.
  const Json llama3 = {{"tokenizer_class", "PreTrainedTokenizerFast"}, {"add_bos_token", false}, {"bos_token", "<s>"}};
  CHECK(Tokenizer::from_dir(write_tokenizer("llama3", j, llama3)).encode("ab", true) == std::vector<int64_t>{6, 2});
  const Json bad = {{"tokenizer_class", "LlamaTokenizerFast"}, {"bos_token", "<nope>"}};
  CHECK_THROWS_WITH(Tokenizer::from_dir(write_tokenizer("bad-bos", j, bad)),
                    Contains("bos_token \"<nope>\" is not a token"));
}

TEST_CASE("tokenizer.json: pre-tokenizers cut the pieces tokenizers cuts, whitespace of every kind included",
          "[tokenizer]") {
  // Independent of any vocabulary, so a regex difference (Oniguruma's \s is Unicode White_Space:
  // U+0085, U+2028 and U+2029 in, U+FEFF out) shows even where the fixtures' merges would hide it.
  const auto golden = read_json(kGoldenDir / "pretokenize.json");
  const auto& strings = golden.at("strings");
  REQUIRE(golden.at("cases").size() >= 19);
  for (const auto& [name, c] : golden.at("cases").items()) {
    size_t wrong = 0, shown = 0;
    for (size_t i = 0; i < strings.size(); ++i) {
      const auto got = editlab::detail::HfTokenizer::pre_tokenize(c.at("pre_tokenizer"), strings[i].get<std::string>());
      const auto want = c.at("pieces")[i].get<std::vector<std::string>>();
      if (got != want) {
        ++wrong;
        if (shown++ < 3) WARN(name << " " << quoted(strings[i]) << "\n  HF      " << Json(want).dump() << "\n  editlab " << Json(got).dump());
      }
    }
    INFO(name);
    CHECK(wrong == 0);
  }
}

TEST_CASE("tokenizer.json: prompts and their continuations as Hugging Face tokenizes them", "[tokenizer]") {
  // scripts/reference/make_prompt_golden.py: `prompt` is AutoTokenizer(prefix) without EOS,
  // `continuation` the target through tokenizers with every prefix-adding step switched off,
  // `joined` AutoTokenizer(prefix + " " + target).
  const auto golden = read_json(kGoldenDir / "prompt_continuation.json");
  const auto& pairs = golden.at("pairs");
  REQUIRE(pairs.size() >= 100);
  for (const auto& [name, entry] : golden.at("tokenizers").items()) {
    const auto tok = Tokenizer::from_dir(kFixtureDir / name);
    const auto& rows = entry.at("rows");
    REQUIRE(rows.size() == pairs.size());
    int64_t joined_equal = 0;
    for (size_t i = 0; i < pairs.size(); ++i) {
      const auto prefix = pairs[i][0].get<std::string>();
      const auto target = " " + pairs[i][1].get<std::string>();
      const auto prompt = tok.encode_prompt(prefix);
      const auto continuation = tok.encode_continuation(target);
      INFO(name << " " << quoted(prefix) << " + " << quoted(target));
      CHECK(ids_text(prompt) == ids_text(rows[i].at("prompt").get<std::vector<int64_t>>()));
      CHECK(ids_text(continuation) == ids_text(rows[i].at("continuation").get<std::vector<int64_t>>()));
      auto joined = prompt;
      joined.insert(joined.end(), continuation.begin(), continuation.end());
      joined_equal += joined == rows[i].at("joined").get<std::vector<int64_t>>();
    }
    // Where the two differ, a token crosses the boundary (the legacy Llama 2 tokenizer after an
    // empty prompt: "▁▁Rome"); the count is HF's own.
    CHECK(joined_equal == entry.at("joined_equal_prompt_plus_continuation").get<int64_t>());
    CHECK(tok.prompt_prefix_size() == static_cast<int64_t>(tok.encode_prompt("").size()));
  }
  // GPT-2's own files: no special tokens, and a continuation is the plain encoding.
  const auto gpt2 = Tokenizer::from_dir(editlab::test::source_dir() / "data/gpt2-tokenizer");
  CHECK(gpt2.encode_prompt("The Louvre is in") == gpt2.encode("The Louvre is in"));
  CHECK(gpt2.encode_continuation(" Paris") == gpt2.encode(" Paris"));
  CHECK(gpt2.prompt_prefix_size() == 0);
}
