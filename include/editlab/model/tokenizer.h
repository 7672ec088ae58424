// GPT-2's byte-level BPE tokenizer, id for id the same as OpenAI's gpt-2 src/encoder.py and
// the npm package gpt-3-encoder@1.1.4 (tests/golden/tokenizer_golden.json holds that package's
// ids; scripts/make_tokenizer_golden.sh regenerates it).
//
// Encoding, as in encoder.py:
//   1. Pre-tokenize the text with the regex
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//      The contractions are case-sensitive ASCII ("IT'S" splits as "IT", "'", "S"), and a
//      single space binds to the word after it (" the"). \s has JavaScript's meaning, which
//      differs from Python's on U+0085 and U+FEFF (see pretokenizer.h).
//   2. Map each piece's UTF-8 bytes to printable code points (bytes_to_unicode: byte 0x20 is
//      "Ġ", 0x0A is "Ċ"), so every vocab entry is a printable string.
//   3. Apply the merges of merges.txt to each piece, lowest rank (earliest line) first, until
//      no adjacent pair has a rank; each resulting symbol is one vocab entry.
//
// Special tokens: none. "<|endoftext|>" in the input is encoded as the plain text it is
// (<, |, endoftext, |, >), exactly as encoder.py and gpt-3-encoder do; eos_id() gives the id to
// append yourself.
//
// Thread safety: every method is const and may be called from several threads at once. Copies
// are cheap and share the (immutable) tables and the merge cache, which is guarded by a lock.
// A moved-from Tokenizer may only be assigned to or destroyed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace editlab {

class Tokenizer {
 public:
  // vocab_json: {"token string": id, ...} with ids 0..n-1, each once (GPT-2: n = 50257).
  // merges_txt: an optional "#version" first line, then one "left right" pair per line, in
  // rank order; both halves and their concatenation must be vocab entries.
  // Throws Error naming the file (and line) on a missing file or malformed content.
  static Tokenizer from_files(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt);
  // dir/vocab.json + dir/merges.txt, e.g. data/gpt2-tokenizer.
  static Tokenizer from_dir(const std::filesystem::path& dir);

  // Throws Error naming the byte offset if utf8 is not valid UTF-8 (overlong forms, surrogates
  // and code points past U+10FFFF included).
  std::vector<int64_t> encode(std::string_view utf8) const;
  // The exact bytes the ids stand for. A cut through a multi-byte character gives a partial
  // UTF-8 sequence, not a replacement character. Throws Error on an id outside the vocab.
  std::string decode(std::span<const int64_t> ids) const;

  std::string token_string(int64_t id) const;                            // the vocab entry, e.g. "Ġthe"
  std::string token_bytes(int64_t id) const;                             // the bytes it stands for, e.g. " the"
  std::optional<int64_t> token_id(std::string_view vocab_string) const;  // "Ġthe" -> 262
  int64_t eos_id() const;  // id of "<|endoftext|>" (50256); throws if the vocab lacks it
  int64_t vocab_size() const;

  ~Tokenizer();
  Tokenizer(const Tokenizer&);
  Tokenizer& operator=(const Tokenizer&);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// Hugging Face's clean_up_tokenization (PreTrainedTokenizerBase), the optional tidy-up of
// decoded text, applied as its chain of str.replace calls in the same order:
//   " ." -> "."   " ?" -> "?"   " !" -> "!"   " ," -> ","   " ' " -> "'"
//   " n't" -> "n't"   " 'm" -> "'m"   " 's" -> "'s"   " 've" -> "'ve"   " 're" -> "'re"
// It is lossy (it also rewrites text the model meant to produce), so decode() never applies it.
std::string clean_up_tokenization_spaces(std::string_view text);

// Decoded token bytes as Hugging Face's decode returns them: invalid UTF-8 (a multi-byte
// character cut by generation) replaced by U+FFFD, one per maximal invalid subpart, exactly as
// Python's bytes.decode("utf-8", errors="replace").
std::string replace_invalid_utf8(std::string_view bytes);

}  // namespace editlab
