// Training a byte-level BPE, written as GPT-2's vocab.json + merges.txt so that
// editlab::Tokenizer::from_dir loads it through the same code as GPT-2's own.
//
// The algorithm (Sennrich et al.; GPT-2's flavour):
//   1. Cut the text into pieces with GPT-2's pre-tokenizer (pretokenizer.h) and count each
//      distinct piece: merges never cross a piece boundary, exactly as encoding never does.
//   2. Start from the 256 byte symbols, in GPT-2's vocab order (id 0 = "!", id 220 = "Ġ").
//   3. Repeatedly merge the most frequent adjacent pair (counted over pieces, weighted by piece
//      frequency) into a new symbol, until the vocabulary has vocab_size entries counting
//      "<|endoftext|>", which comes last. Ties go to the pair whose left id is smaller, then
//      whose right id is smaller (ids are creation order, so this is deterministic).
//   A merge whose result spells an existing token (e.g. "ab"+"c" after "a"+"bc") reuses that
//   token's id, so merges.txt may have more lines than vocab_size - 257.
// Cost: pair counts are kept incrementally, and each merge touches only the distinct pieces that
// contain its pair, so a few-megabyte corpus trains in seconds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace editlab::toyworld {

struct BpeOptions {
  int vocab_size = 4096;  // 256 bytes + merges + "<|endoftext|>"; at least 257
};

struct BpeVocabulary {
  std::vector<std::string> tokens;  // the bytes of each id; "<|endoftext|>" last
  std::vector<std::pair<int32_t, int32_t>> merges;  // (left id, right id), in rank order
  int64_t corpus_bytes = 0;
  int64_t pieces = 0;           // pre-tokenized pieces in the corpus
  int64_t distinct_pieces = 0;
  // True when the corpus ran out of pairs before vocab_size was reached.
  bool exhausted = false;
};

// Throws Error on an empty text, invalid UTF-8 (naming the byte offset) or vocab_size < 257.
BpeVocabulary train_bpe(std::string_view text, const BpeOptions& options);

// dir/vocab.json ({"token": id} in id order, tokens in GPT-2's byte-to-unicode alphabet) and
// dir/merges.txt ("#version: 0.2", then "left right" per line), each written atomically.
void write_bpe(const BpeVocabulary& vocabulary, const std::filesystem::path& dir);

}  // namespace editlab::toyworld
