// Unicode helpers for the tokenizer.json pipeline: UTF-8 walking, the character classes that
// Rust's char methods and the tokenizers crate use, normalization forms (ICU), and a regex with
// Oniguruma's meanings of \s, \w and \d run by PCRE2. Private to src/model.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace editlab::detail {

// The UTF-8 sequence at s[i]: its length if valid (Rust's str rules: no overlong forms,
// surrogates or code points past U+10FFFF), else the length of its maximal invalid subpart (what
// one U+FFFD replaces in Python's errors="replace" and Rust's from_utf8_lossy).
struct Utf8Step {
  size_t length;
  bool valid;
};
Utf8Step utf8_step(std::string_view s, size_t i);

// The byte offset of the first byte that is not part of valid UTF-8 (Rust's str rules: no
// overlong forms, surrogates or code points past U+10FFFF), or nullopt if all of it is valid.
std::optional<size_t> invalid_utf8_offset(std::string_view s);

// Decodes the code point at s[i] (valid UTF-8) and advances i.
char32_t next_code_point(std::string_view s, size_t& i);
void append_code_point(std::string& out, char32_t cp);

bool is_white_space(char32_t c);  // Unicode White_Space: Rust's char::is_whitespace, regex \s
bool is_numeric(char32_t c);      // general category Nd, Nl or No: Rust's char::is_numeric
bool is_word_char(char32_t c);    // Rust regex's Unicode \w: Alphabetic, M, Nd, Pc, Join_Control

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };
std::string normalize_unicode(std::string_view utf8, NormalForm form);

// A regex written for Oniguruma (the engine tokenizers uses), compiled by PCRE2 with Unicode
// properties. \s, \S, \w, \W, \d and \D are rewritten to Oniguruma's Unicode meanings (White_Space;
// letters, marks, decimal digits and connector punctuation; decimal digits), which differ from
// PCRE2's. Copies share the compiled pattern; matching is thread-safe.
class Regex {
 public:
  // Throws Error "<where>: ..." if the pattern does not compile or uses what cannot be rewritten.
  Regex(std::string_view pattern, const std::string& where);
  // Every non-overlapping match, left to right, as [start, end) byte offsets. An empty match is
  // reported and the search goes on one character later, as Oniguruma's iteration does.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
  std::string pattern_;
};

}  // namespace editlab::detail
