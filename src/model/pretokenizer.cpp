// GPT-2's pre-tokenizer and byte alphabet (see pretokenizer.h).
#include "editlab/model/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "editlab/util/error.h"
#include "unicode_text.h"

namespace editlab {
namespace {

// GPT-2's pre-tokenization regex, in PCRE2 syntax with JavaScript's \s spelled out.
//
// The reference (gpt-3-encoder) runs it as a JS regex with the u flag, where \s is exactly
// [\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]. PCRE2's \s (with
// PCRE2_UCP) is a different set, so the class is written out. OpenAI's encoder.py and Hugging
// Face's slow GPT2Tokenizer use Python's `regex` module, whose \s is Unicode White_Space; the
// two differ on:
//   U+0085 (NEL):            \s in Python regex, not in JS;
//   U+FEFF (BOM / ZWNBSP):   \s in JS, not in Python regex;
//   U+001C..U+001F:          \s in Python's built-in `re` (str.isspace) but in neither JS nor
//                            the `regex` module that the GPT-2 code actually imports.
// The difference shows only next to other spaces: "a \ufeffb" is [" ", "\ufeff", "b"] here
// and [" \ufeff", "b"] in Python (ids 220 171 119 123 vs 27332 119 123).
// \p{L} and \p{N} come from PCRE2's Unicode tables (Unicode 14 in PCRE2 10.42).
constexpr std::string_view kWhitespace =
    R"(\t\n\x{0B}\f\r\x{20}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F})"
    R"(\x{3000}\x{FEFF})";

struct PcreCodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct PcreMatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

std::string pcre2_message(int code) {
  std::array<PCRE2_UCHAR, 256> buffer{};
  pcre2_get_error_message(code, buffer.data(), buffer.size());
  return reinterpret_cast<const char*>(buffer.data());
}


bool is_printable_byte(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

}  // namespace

// ---- the compiled pattern ----

struct PreTokenizer::Compiled {
  std::unique_ptr<pcre2_code, PcreCodeDeleter> code;
};

std::string PreTokenizer::pattern() {
  const std::string ws(kWhitespace);
  return "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" + ws + "\\p{L}\\p{N}]+|[" + ws + "]+(?![^" + ws + "])|[" +
         ws + "]+";
}

PreTokenizer::PreTokenizer() {
  const std::string text = pattern();
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  auto compiled = std::make_shared<Compiled>();
  compiled->code.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), PCRE2_UTF | PCRE2_UCP,
                                     &error, &error_offset, nullptr));
  if (!compiled->code) {
    fail("internal error: the pre-tokenizer regex does not compile at offset {}: {}", error_offset,
         pcre2_message(error));
  }
  // Without JIT (a build of PCRE2 without it) pcre2_match falls back to the interpreter, which
  // gives the same matches more slowly, so a JIT failure is not an error.
  pcre2_jit_compile(compiled->code.get(), PCRE2_JIT_COMPLETE);
  compiled_ = std::move(compiled);
}

// ---- the cursor ----

struct PreTokenizer::Cursor::State {
  const pcre2_code* code;
  std::unique_ptr<pcre2_match_data, PcreMatchDataDeleter> match;
  std::string_view text;
  size_t offset = 0;
  uint32_t options = 0;
};

PreTokenizer::Cursor::Cursor(const PreTokenizer& pretokenizer, std::string_view text)
    : state_(std::make_unique<State>()) {
  state_->code = pretokenizer.compiled_->code.get();
  state_->match.reset(pcre2_match_data_create_from_pattern(state_->code, nullptr));
  if (!state_->match) fail("out of memory creating PCRE2 match data");
  state_->text = text;
}

PreTokenizer::Cursor::~Cursor() = default;

// The first pcre2_match checks the whole text for valid UTF-8; later calls skip that check,
// which would otherwise make the walk quadratic.
std::optional<std::string_view> PreTokenizer::Cursor::next() {
  State& s = *state_;
  if (s.offset >= s.text.size()) return std::nullopt;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.text.data());
  int rc = pcre2_match(s.code, subject, s.text.size(), s.offset, s.options, s.match.get(), nullptr);
  // The JIT's default 32 KiB stack can run out on huge inputs; the interpreter uses the heap.
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
    rc = pcre2_match(s.code, subject, s.text.size(), s.offset, s.options | PCRE2_NO_JIT, s.match.get(), nullptr);
  }
  if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21) {
    fail(
        "cannot tokenize: the text is not valid UTF-8 at byte offset {} ({}); decode or clean "
        "the input before encoding",
        pcre2_get_startchar(s.match.get()), pcre2_message(rc));
  }
  if (rc < 0) fail("pre-tokenizer regex failed at byte offset {}: {}", s.offset, pcre2_message(rc));
  const PCRE2_SIZE* span = pcre2_get_ovector_pointer(s.match.get());
  // Every character is in \s, \p{L}, \p{N} or their complement, so matches tile the text.
  if (span[0] != s.offset || span[1] <= span[0]) {
    fail("internal error: the pre-tokenizer skipped bytes {}..{}", s.offset, span[0]);
  }
  s.offset = span[1];
  s.options |= PCRE2_NO_UTF_CHECK;
  return s.text.substr(span[0], span[1] - span[0]);
}

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  for_each_piece(text, [&](std::string_view piece) { pieces.push_back(piece); });
  return pieces;
}

// ---- the byte alphabet ----

std::array<char32_t, 256> bytes_to_unicode() {
  std::array<char32_t, 256> table{};
  char32_t next_unprintable = 256;
  for (int b = 0; b < 256; ++b) {
    table[b] = is_printable_byte(b) ? static_cast<char32_t>(b) : next_unprintable++;
  }
  return table;
}

std::array<unsigned char, 256> byte_vocab_order() {
  std::array<unsigned char, 256> order{};
  size_t next = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (int b = 0; b < 256; ++b) {
      if (is_printable_byte(b) == (pass == 0)) order[next++] = static_cast<unsigned char>(b);
    }
  }
  return order;
}

std::string bytes_to_vocab_string(std::string_view bytes) {
  static const std::array<char32_t, 256> table = bytes_to_unicode();  // immutable once built
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) detail::append_code_point(out, table[static_cast<unsigned char>(c)]);
  return out;
}

}  // namespace editlab
