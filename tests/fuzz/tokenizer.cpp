// Fuzz target: GPT-2's byte-level BPE tokenizer (model/tokenizer.h, model/pretokenizer.h) on
// arbitrary text.
//
// The input is the text, encoded with two vocabularies loaded once: GPT-2's
// (data/gpt2-tokenizer, 50,257 tokens) and the toy world's (data/toy-world/model, a smaller
// trained one with other merges). For valid UTF-8 (checked by fuzz_support.h's own validator),
// encode must succeed, every id must be in the vocabulary, decode(encode(x)) == x, the
// pre-tokenizer's pieces must tile the text, and decoding a prefix of the ids must give a prefix
// of the text. Invalid UTF-8 must be rejected with an editlab::Error, nothing else. For any
// bytes, replace_invalid_utf8 must give valid UTF-8 (the input itself when it is valid) and
// clean_up_tokenization_spaces must not crash.
#include <string>

#include "editlab/model/pretokenizer.h"
#include "editlab/model/tokenizer.h"
#include "editlab/util/error.h"
#include "fuzz_support.h"

using namespace editlab;

namespace {

const Tokenizer& gpt2() {
  static const Tokenizer t = Tokenizer::from_dir(EDITLAB_SOURCE_DIR "/data/gpt2-tokenizer");
  return t;
}

const Tokenizer& toy_world() {
  static const Tokenizer t = Tokenizer::from_dir(EDITLAB_SOURCE_DIR "/data/toy-world/model");
  return t;
}

void check(const Tokenizer& tokenizer, std::string_view text, bool valid) {
  std::vector<int64_t> ids;
  try {
    ids = tokenizer.encode(text);
  } catch (const Error&) {
    FUZZ_CHECK(!valid);
    return;
  }
  FUZZ_CHECK(valid);
  for (const int64_t id : ids) FUZZ_CHECK(id >= 0 && id < tokenizer.vocab_size());
  FUZZ_CHECK(tokenizer.decode(ids) == text);
  const std::size_t half = ids.size() / 2;
  FUZZ_CHECK(text.starts_with(tokenizer.decode(std::span<const int64_t>(ids.data(), half))));
}

}  // namespace

// Loading GPT-2's vocabulary takes a while under ASan: done before the first input, so that it
// does not count against -timeout.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)gpt2();
  (void)toy_world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool valid = fuzz::is_valid_utf8(text);
  check(gpt2(), text, valid);
  check(toy_world(), text, valid);
  if (valid) {
    static const PreTokenizer pretokenizer;
    std::size_t covered = 0;
    for (const auto piece : pretokenizer.split(text)) {
      FUZZ_CHECK(!piece.empty() && piece.data() == text.data() + covered);
      covered += piece.size();
    }
    FUZZ_CHECK(covered == text.size());
  }
  const std::string replaced = replace_invalid_utf8(text);
  FUZZ_CHECK(fuzz::is_valid_utf8(replaced));
  if (valid) FUZZ_CHECK(replaced == text);
  (void)clean_up_tokenization_spaces(text);
  return 0;
}
