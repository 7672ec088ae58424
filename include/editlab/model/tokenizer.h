// editlab's tokenizer: a Hugging Face tokenizer.json, or GPT-2's vocab.json + merges.txt.
//
// tokenizer.json (every family after GPT-2) runs as the `tokenizers` library runs it, with
// tokenizer_config.json's BOS / EOS: see src/model/hf_tokenizer.h for the pipeline and the
// components supported (anything else is refused with an error naming it). Its ids equal
// transformers' AutoTokenizer on the committed golden vectors (tests/golden/tokenizers/).
//
// vocab.json + merges.txt (GPT-2's original files, and editlab's toy-world tokenizer) is GPT-2's
// byte-level BPE, id for id the same as OpenAI's gpt-2 src/encoder.py and the npm package
// gpt-3-encoder@1.1.4 (tests/golden/tokenizer_golden.json holds that package's ids;
// scripts/make_tokenizer_golden.sh regenerates it):
//   1. Pre-tokenize the text with the regex
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//      The contractions are case-sensitive ASCII ("IT'S" splits as "IT", "'", "S"), and a
//      single space binds to the word after it (" the"). \s has JavaScript's meaning, which
//      differs from Python's on U+0085 and U+FEFF (see pretokenizer.h).
//   2. Map each piece's UTF-8 bytes to printable code points (bytes_to_unicode: byte 0x20 is
//      "Ġ", 0x0A is "Ċ"), so every vocab entry is a printable string.
//   3. Apply the merges of merges.txt to each piece, lowest rank (earliest line) first, until
//      no adjacent pair has a rank; each resulting symbol is one vocab entry.
//   Special tokens: none. "<|endoftext|>" in the input is encoded as the plain text it is
//   (<, |, endoftext, |, >), exactly as encoder.py and gpt-3-encoder do; eos_id() gives the id
//   to append yourself. (A directory with a tokenizer.json as well is read through that file,
//   as transformers' AutoTokenizer does, and there "<|endoftext|>" is one special token.)
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

#include <nlohmann/json_fwd.hpp>

namespace editlab {

namespace detail {
class HfTokenizer;
}

// A text put before every prompt that Tokenizer::encode_prompt tokenizes (in-context editing: IKE's
// demonstrations and new fact). The tokenizer copies made with with_prompt_context share it; the
// editor that owns it changes `text` between records (empty: prompts as they are).
struct PromptContext {
  std::string text;
};

class Tokenizer {
 public:
  // vocab_json: {"token string": id, ...} with ids 0..n-1, each once (GPT-2: n = 50257).
  // merges_txt: an optional "#version" first line, then one "left right" pair per line, in
  // rank order; both halves and their concatenation must be vocab entries.
  // Throws Error naming the file (and line) on a missing file or malformed content.
  static Tokenizer from_files(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt);
  // A Hugging Face tokenizer.json, with tokenizer_config.json's settings when config_json is
  // given (BOS / EOS tokens; the template that LlamaTokenizerFast and its kin rebuild from
  // add_bos_token / add_eos_token). tokenizer_class names the HF class when tokenizer_config.json
  // does not (transformers then takes it from config.json's model_type).
  static Tokenizer from_tokenizer_json(const std::filesystem::path& tokenizer_json,
                                       const std::optional<std::filesystem::path>& config_json = std::nullopt,
                                       const std::string& tokenizer_class = "");
  // dir/tokenizer.json (+ tokenizer_config.json) when present, as transformers' AutoTokenizer
  // reads a directory; else dir/vocab.json + dir/merges.txt, e.g. data/gpt2-tokenizer.
  static Tokenizer from_dir(const std::filesystem::path& dir);

  // The ids of a text; add_special_tokens adds the template's BOS / EOS (tokenizer.json only, as
  // HF's add_special_tokens=True; GPT-2's files have none). Throws Error naming the byte offset
  // if utf8 is not valid UTF-8 (overlong forms, surrogates and code points past U+10FFFF included).
  std::vector<int64_t> encode(std::string_view utf8, bool add_special_tokens = false) const;
  // A text that starts a sequence the model reads (a prompt, a prefix to score, a statistics
  // sample), as Hugging Face-based editors tokenize one (tok(text), add_special_tokens=True):
  // the template's special tokens before the text (Llama 2 / Mistral <s>, Llama 3
  // <|begin_of_text|>; none for GPT-2, GPT-J, NeoX, Qwen2), never the ones after it (EOS).
  std::vector<int64_t> encode_prompt(std::string_view utf8) const;
  // A text that continues another (a target after its prompt): no special tokens, and nothing
  // added to its start (the legacy Llama 2 Prepend("▁") normalizer, Metaspace's prepend,
  // ByteLevel's add_prefix_space), so " Paris" is the "▁Paris" the model reads after "in", not
  // "▁", "▁Paris". encode_prompt(p) + encode_continuation(" " + t) is the tokenization of
  // p + " " + t whenever no token crosses the boundary (GPT-2's files: always encode(t)).
  std::vector<int64_t> encode_continuation(std::string_view utf8) const;
  // A copy whose encode_prompt(p) is the encoding of context->text + p (one text, tokenized as a
  // whole, as IKE's prompts are); everything else is unchanged.
  Tokenizer with_prompt_context(std::shared_ptr<const PromptContext> context) const;
  // How many of encode_prompt(text)'s ids the prompt context added (0 without one): generation
  // lengths that count the prompt count the text's own tokens only.
  int64_t prompt_context_tokens(std::string_view utf8) const;
  // How many ids encode_prompt puts before the text (0 or 1 for the supported families).
  int64_t prompt_prefix_size() const;
  // The exact bytes the ids stand for. A cut through a multi-byte character gives a partial
  // UTF-8 sequence, not a replacement character. Throws Error on an id outside the vocab
  // (tokenizer.json: ids past its last token are dropped, as tokenizers' decode does, since a
  // model's vocabulary may be larger than its tokenizer's).
  std::string decode(std::span<const int64_t> ids) const;
  // The bytes `ids` add after `context`: decode(context + ids) minus decode(context). Equal to
  // decode(ids) for GPT-2; SentencePiece decoders drop the leading space of a text's first token,
  // so a generated "▁Paris" decoded alone would lose the space it has after the prompt.
  std::string decode_continuation(std::span<const int64_t> context, std::span<const int64_t> ids) const;
  // The text as Hugging Face's decode gives it (tokenizers' Tokenizer::decode, without
  // transformers' clean_up_tokenization_spaces): invalid UTF-8 replaced by U+FFFD where its
  // decoders replace it; skip_special_tokens drops special tokens as HF does.
  std::string decode_text(std::span<const int64_t> ids, bool skip_special_tokens = false) const;

  std::string token_string(int64_t id) const;                            // the vocab entry, e.g. "Ġthe"
  std::string token_bytes(int64_t id) const;                             // the bytes it stands for, e.g. " the"
  std::optional<int64_t> token_id(std::string_view vocab_string) const;  // "Ġthe" -> 262
  // tokenizer_config.json's eos_token, else "<|endoftext|>" (GPT-2: 50256); throws if neither.
  int64_t eos_id() const;
  std::optional<int64_t> bos_id() const;  // tokenizer_config.json's bos_token
  bool is_special(int64_t id) const;      // a special added token (tokenizer.json), or GPT-2's <|endoftext|>
  int64_t vocab_size() const;             // largest id + 1
  // What was read: {"kind": "tokenizer.json" | "vocab.json + merges.txt", files, and for
  // tokenizer.json each component of the pipeline} (editlab tokenize --json shows it).
  nlohmann::json describe() const;

  ~Tokenizer();
  Tokenizer(const Tokenizer&);
  Tokenizer& operator=(const Tokenizer&);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl);
  explicit Tokenizer(std::shared_ptr<const detail::HfTokenizer> hf);
  std::vector<int64_t> encode_as(std::string_view utf8, int mode) const;
  std::shared_ptr<const Impl> impl_;             // vocab.json + merges.txt
  std::shared_ptr<const detail::HfTokenizer> hf_;  // tokenizer.json
  std::shared_ptr<const PromptContext> context_;   // with_prompt_context
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
