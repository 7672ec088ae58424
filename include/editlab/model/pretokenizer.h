// The vocabulary-independent front end of GPT-2's byte-level BPE: the pre-tokenization regex
// that cuts text into pieces, and the byte-to-unicode alphabet in which vocab entries are
// written. Tokenizer (tokenizer.h) encodes with them; the BPE trainer (toyworld/bpe_trainer.h)
// trains with them, so a trained vocabulary splits text exactly as it will be encoded.
//
// The pattern is GPT-2's
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// run by PCRE2 with Unicode properties; \s has JavaScript's meaning (see pretokenizer.cpp).
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace editlab {

class PreTokenizer {
 public:
  // Compiles the pattern once (JIT when PCRE2 has it). Copies share the compiled pattern.
  PreTokenizer();

  // GPT-2's pattern in the PCRE2 syntax actually compiled.
  static std::string pattern();

  // Walks the pieces of one text in order. Holds its own match state, so several cursors (on
  // several threads) may use one PreTokenizer at once. `text` must outlive the cursor.
  class Cursor {
   public:
    Cursor(const PreTokenizer& pretokenizer, std::string_view text);
    ~Cursor();
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;
    // The next piece, or nullopt at the end. The pieces tile the text (no byte is skipped).
    // Throws Error naming the byte offset if the text is not valid UTF-8.
    std::optional<std::string_view> next();

   private:
    struct State;
    std::unique_ptr<State> state_;
  };

  // Calls on_piece(std::string_view) for every piece, in order.
  template <typename OnPiece>
  void for_each_piece(std::string_view text, OnPiece&& on_piece) const {
    Cursor cursor(*this, text);
    while (const auto piece = cursor.next()) on_piece(*piece);
  }

  // All pieces at once (views into `text`).
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
};

// GPT-2's bytes_to_unicode(): the printable bytes ! .. ~, ¡ .. ¬, ® .. ÿ stand for themselves;
// the other 68 bytes map, in byte order, to U+0100, U+0101, ... so that no vocab entry holds a
// space or a control character (byte 0x20 is "Ġ", 0x0A is "Ċ").
std::array<char32_t, 256> bytes_to_unicode();

// The order of GPT-2's first 256 vocab entries: the printable bytes in increasing order, then
// the others in increasing order (so id 0 is "!" and id 220 is "Ġ"). Element i is the byte of
// id i.
std::array<unsigned char, 256> byte_vocab_order();

// Bytes written in the byte-to-unicode alphabet as UTF-8, e.g. " the" -> "Ġthe".
std::string bytes_to_vocab_string(std::string_view bytes);

}  // namespace editlab
