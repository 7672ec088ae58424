// A Hugging Face tokenizer.json, run as the `tokenizers` library (0.21) runs it. Private to
// src/model: editlab::Tokenizer (tokenizer.h) is the interface the rest of editlab uses.
//
// encode(text), as tokenizers' Tokenizer::encode:
//   1. Added tokens whose "normalized" is false are cut out of the raw text (leftmost-longest,
//      with their single_word / lstrip / rstrip rules).
//   2. Every other piece is normalized on its own (NFC, NFKC, Prepend, Replace, Strip, ...), and
//      the added tokens whose "normalized" is true (matched in their normalized form) are cut out.
//   3. The remaining pieces go through the pre-tokenizer (ByteLevel, Split, Metaspace, Digits,
//      ...), then the model (BPE) gives each piece its ids.
//   4. With special tokens, the post-processor's template adds BOS / EOS.
// decode(ids) maps ids to token strings and runs the decoder chain (ByteLevel, Metaspace,
// Replace, ByteFallback, Fuse, Strip), as tokenizers' Tokenizer::decode.
//
// Anything in the file that editlab does not implement is an error naming the file, the JSON
// path and the type, so a tokenizer is either reproduced or refused, never approximated.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace editlab::detail {

class HfTokenizer {
 public:
  // tokenizer_json: the file; config: tokenizer_config.json's content (null when absent) and its
  // path for messages. Throws Error naming the file and JSON path on anything unsupported.
  static std::shared_ptr<const HfTokenizer> load(const std::filesystem::path& tokenizer_json,
                                                 const nlohmann::json& config, const std::string& config_source);
  // The same from the file's text (for the fuzz target: no file system).
  static std::shared_ptr<const HfTokenizer> parse(std::string_view tokenizer_json_text, const std::string& source,
                                                  const nlohmann::json& config, const std::string& config_source);

  ~HfTokenizer();
  HfTokenizer(const HfTokenizer&) = delete;
  HfTokenizer& operator=(const HfTokenizer&) = delete;

  // kPlain: add_special_tokens=False; kSpecial: add_special_tokens=True (the template's tokens
  // before and after); kPrompt: only the template's tokens before the text (BOS); kContinuation:
  // no special tokens and no prefix added to the text's start (Prepend normalizer, Metaspace's
  // prepend, ByteLevel's add_prefix_space), as the text is tokenized when it follows other text.
  enum class EncodeMode { kPlain, kSpecial, kPrompt, kContinuation };
  void encode(std::string_view utf8, EncodeMode mode, std::vector<int64_t>& out) const;
  // Ids without a token are dropped, as tokenizers does; a negative id is an Error.
  // text = false: the bytes the ids stand for (no replacement of invalid UTF-8 anywhere);
  // text = true: Hugging Face's string (U+FFFD where its decoders put them).
  std::string decode(std::span<const int64_t> ids, bool skip_special_tokens, bool text) const;

  int64_t vocab_size() const;  // largest id + 1
  const std::string* token(int64_t id) const;  // null for an id without a token
  std::optional<int64_t> token_id(std::string_view token) const;
  std::string token_bytes(int64_t id) const;  // the bytes one token stands for (not first in a text)
  bool is_special(int64_t id) const;
  std::optional<int64_t> bos_id() const;
  std::optional<int64_t> eos_id() const;
  // The pipeline as read: {"normalizer": [...], "pre_tokenizer": [...], "model": {...}, ...}.
  nlohmann::json describe() const;

  // One pre-tokenizer, given as its tokenizer.json object, on a text: the pieces, as tokenizers'
  // PreTokenizer.pre_tokenize_str returns them (for tests against that).
  static std::vector<std::string> pre_tokenize(const nlohmann::json& pre_tokenizer, std::string_view text);

  struct Impl;

 private:
  explicit HfTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace editlab::detail
