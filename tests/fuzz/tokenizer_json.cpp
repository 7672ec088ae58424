// Fuzz target: the tokenizer.json reader and pipeline (src/model/hf_tokenizer.h).
//
// The input is a tokenizer.json, optionally followed by a line "--8<--" and a text. Reading it
// must either give a tokenizer or throw editlab::Error (malformed JSON, bad merges, unknown
// component types, huge or sparse vocabularies), nothing else. A tokenizer that loads must then
// encode the text (and a fixed set of strings) with every id inside its vocabulary and a
// template of its own ids, decode those ids to valid UTF-8 as text, decode any ids without a
// crash, and reject invalid UTF-8 with an Error.
#include <string>
#include <vector>

#include "../../src/model/hf_tokenizer.h"
#include "editlab/model/tokenizer.h"
#include "editlab/util/error.h"
#include "fuzz_support.h"

using namespace editlab;

namespace {

constexpr std::string_view kSeparator = "\n--8<--\n";

void check_text(const detail::HfTokenizer& tokenizer, std::string_view text) {
  const bool valid = fuzz::is_valid_utf8(text);
  using Mode = detail::HfTokenizer::EncodeMode;
  for (const Mode mode : {Mode::kPlain, Mode::kSpecial, Mode::kPrompt, Mode::kContinuation}) {
    std::vector<int64_t> ids;
    try {
      tokenizer.encode(text, mode, ids);
    } catch (const Error&) {
      FUZZ_CHECK(!valid);
      return;
    }
    FUZZ_CHECK(valid);
    for (const int64_t id : ids) FUZZ_CHECK(tokenizer.token(id) != nullptr);
    FUZZ_CHECK(fuzz::is_valid_utf8(tokenizer.decode(ids, false, true)));
    FUZZ_CHECK(fuzz::is_valid_utf8(tokenizer.decode(ids, true, true)));
    (void)tokenizer.decode(ids, false, false);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t cut = input.find(kSeparator);
  const std::string_view json = input.substr(0, cut);
  const std::string_view text = cut == std::string_view::npos ? std::string_view() : input.substr(cut + kSeparator.size());
  std::shared_ptr<const detail::HfTokenizer> tokenizer;
  try {
    tokenizer = detail::HfTokenizer::parse(json, "tokenizer.json", nlohmann::json::object(), "tokenizer_config.json");
  } catch (const Error&) {
    return 0;
  }
  FUZZ_CHECK(tokenizer->vocab_size() > 0);
  (void)tokenizer->describe().dump();
  check_text(*tokenizer, text);
  for (const std::string_view s : {"", " ", "Hello world", "  a\tb\r\n", "naïve 東京 🙂👍🏽 12345", "it's IT'S",
                                   "<s>a</s>", "<|endoftext|>"}) {
    check_text(*tokenizer, s);
  }
  // Any ids: a sample around the vocabulary's ends.
  const int64_t n = tokenizer->vocab_size();
  const std::vector<int64_t> ids = {0, n - 1, n, n + 7, n / 2, 1};
  FUZZ_CHECK(fuzz::is_valid_utf8(tokenizer->decode(ids, false, true)));
  (void)tokenizer->decode(ids, true, false);
  for (const int64_t id : ids) (void)tokenizer->token_bytes(id);
  return 0;
}
