// Byte-level BPE training (see bpe_trainer.h).
#include "editlab/toyworld/bpe_trainer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <queue>
#include <unordered_map>

#include "editlab/model/pretokenizer.h"
#include "editlab/util/atomic_file.h"
#include "editlab/util/error.h"

namespace editlab::toyworld {
namespace {

constexpr std::string_view kEndOfText = "<|endoftext|>";

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}
int32_t left_of(uint64_t key) { return static_cast<int32_t>(key >> 32); }
int32_t right_of(uint64_t key) { return static_cast<int32_t>(key & 0xFFFFFFFFu); }

struct Word {
  std::vector<int32_t> symbols;
  int64_t count;
};

// Max-heap order: higher count first, then the smaller pair key (left id, then right id).
struct Candidate {
  int64_t count;
  uint64_t pair;
  bool operator<(const Candidate& o) const { return count != o.count ? count < o.count : pair > o.pair; }
};

class Trainer {
 public:
  Trainer(std::vector<Word> words, BpeVocabulary& vocabulary);
  // Performs one merge; false when no pair is left.
  bool merge_once();

 private:
  void merge_in_word(int32_t word_index, uint64_t pair, int32_t merged);
  int32_t token_for(int32_t left, int32_t right);

  std::vector<Word> words_;
  BpeVocabulary& vocabulary_;
  std::unordered_map<std::string, int32_t> token_ids_;
  std::unordered_map<uint64_t, int64_t> pair_counts_;
  // Words that contain (or once contained) each pair; checked again before use.
  std::unordered_map<uint64_t, std::vector<int32_t>> pair_words_;
  std::priority_queue<Candidate> heap_;
  std::unordered_map<uint64_t, int64_t> deltas_;  // scratch: count changes of one merge
  std::vector<int64_t> visited_;                  // scratch: last merge that touched each word
  int64_t merge_number_ = 0;
};

Trainer::Trainer(std::vector<Word> words, BpeVocabulary& vocabulary)
    : words_(std::move(words)), vocabulary_(vocabulary), visited_(words_.size(), -1) {
  for (size_t id = 0; id < vocabulary_.tokens.size(); ++id) token_ids_.emplace(vocabulary_.tokens[id], static_cast<int32_t>(id));
  for (size_t w = 0; w < words_.size(); ++w) {
    const auto& s = words_[w].symbols;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const uint64_t key = pair_key(s[i], s[i + 1]);
      pair_counts_[key] += words_[w].count;
      auto& list = pair_words_[key];
      if (list.empty() || list.back() != static_cast<int32_t>(w)) list.push_back(static_cast<int32_t>(w));
    }
  }
  for (const auto& [key, count] : pair_counts_) heap_.push({count, key});
}

int32_t Trainer::token_for(int32_t left, int32_t right) {
  std::string bytes = vocabulary_.tokens[left] + vocabulary_.tokens[right];
  const auto [it, added] = token_ids_.emplace(bytes, static_cast<int32_t>(vocabulary_.tokens.size()));
  if (added) vocabulary_.tokens.push_back(std::move(bytes));
  return it->second;
}

bool Trainer::merge_once() {
  while (!heap_.empty()) {
    const Candidate top = heap_.top();
    heap_.pop();
    const auto it = pair_counts_.find(top.pair);
    if (it == pair_counts_.end() || it->second != top.count) continue;  // stale entry
    const int32_t merged = token_for(left_of(top.pair), right_of(top.pair));
    vocabulary_.merges.emplace_back(left_of(top.pair), right_of(top.pair));
    ++merge_number_;
    deltas_.clear();
    const std::vector<int32_t> containing = std::move(pair_words_[top.pair]);
    pair_words_.erase(top.pair);
    for (const int32_t w : containing) merge_in_word(w, top.pair, merged);
    for (const auto& [key, delta] : deltas_) {
      if (delta == 0) continue;
      int64_t& count = pair_counts_[key];
      count += delta;
      if (count > 0) {
        heap_.push({count, key});
      } else {
        pair_counts_.erase(key);
      }
    }
    return true;
  }
  return false;
}

// Replaces every (left, right) in the word, left to right without overlap, and records how the
// counts of the word's pairs change.
void Trainer::merge_in_word(int32_t word_index, uint64_t pair, int32_t merged) {
  if (visited_[word_index] == merge_number_) return;
  visited_[word_index] = merge_number_;
  Word& word = words_[word_index];
  const int32_t left = left_of(pair), right = right_of(pair);
  auto& s = word.symbols;
  bool present = false;
  for (size_t i = 0; i + 1 < s.size() && !present; ++i) present = s[i] == left && s[i + 1] == right;
  if (!present) return;
  for (size_t i = 0; i + 1 < s.size(); ++i) deltas_[pair_key(s[i], s[i + 1])] -= word.count;
  std::vector<int32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (i + 1 < s.size() && s[i] == left && s[i + 1] == right) {
      out.push_back(merged);
      ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  s = std::move(out);
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    const uint64_t key = pair_key(s[i], s[i + 1]);
    deltas_[key] += word.count;
    // Only pairs with the new symbol are new to this word; the others already list it.
    if (s[i] == merged || s[i + 1] == merged) {
      auto& list = pair_words_[key];
      if (list.empty() || list.back() != word_index) list.push_back(word_index);
    }
  }
}

// Distinct pieces with their counts, sorted by bytes so that word order (and so every tie) does
// not depend on hash-table iteration.
std::vector<Word> count_pieces(std::string_view text, const std::array<int32_t, 256>& byte_ids, BpeVocabulary& v) {
  std::unordered_map<std::string_view, int64_t> counts;
  PreTokenizer().for_each_piece(text, [&](std::string_view piece) {
    ++counts[piece];
    ++v.pieces;
  });
  std::vector<std::pair<std::string_view, int64_t>> sorted(counts.begin(), counts.end());
  std::ranges::sort(sorted);
  v.distinct_pieces = static_cast<int64_t>(sorted.size());
  std::vector<Word> words;
  words.reserve(sorted.size());
  for (const auto& [piece, count] : sorted) {
    Word w{{}, count};
    for (const char c : piece) w.symbols.push_back(byte_ids[static_cast<unsigned char>(c)]);
    words.push_back(std::move(w));
  }
  return words;
}

}  // namespace

BpeVocabulary train_bpe(std::string_view text, const BpeOptions& options) {
  if (options.vocab_size < 257) {
    fail("bpe: vocab_size must be at least 257 (256 byte symbols + <|endoftext|>), got {}", options.vocab_size);
  }
  if (text.empty()) fail("bpe: the corpus is empty; give a text file with some content");
  BpeVocabulary v;
  v.corpus_bytes = static_cast<int64_t>(text.size());
  std::array<int32_t, 256> byte_ids{};
  const auto order = byte_vocab_order();
  for (int id = 0; id < 256; ++id) {
    byte_ids[order[id]] = id;
    v.tokens.emplace_back(1, static_cast<char>(order[id]));
  }
  Trainer trainer(count_pieces(text, byte_ids, v), v);
  while (static_cast<int>(v.tokens.size()) + 1 < options.vocab_size) {
    if (!trainer.merge_once()) {
      v.exhausted = true;
      break;
    }
  }
  // Pieces never span "<|" and "endoftext", so no merge can spell the end-of-text token.
  if (std::ranges::find(v.tokens, kEndOfText) != v.tokens.end()) {
    fail("internal error: a merge produced \"{}\"", kEndOfText);
  }
  v.tokens.emplace_back(kEndOfText);
  return v;
}

void write_bpe(const BpeVocabulary& v, const std::filesystem::path& dir) {
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (size_t id = 0; id + 1 < v.tokens.size(); ++id) vocab[bytes_to_vocab_string(v.tokens[id])] = id;
  vocab[std::string(kEndOfText)] = v.tokens.size() - 1;  // plain ASCII, written as is, like GPT-2's
  std::string merges = "#version: 0.2\n";
  for (const auto& [left, right] : v.merges) {
    merges += bytes_to_vocab_string(v.tokens[left]);
    merges += ' ';
    merges += bytes_to_vocab_string(v.tokens[right]);
    merges += '\n';
  }
  write_file_atomically(dir / "vocab.json", vocab.dump() + "\n");
  write_file_atomically(dir / "merges.txt", merges);
}

}  // namespace editlab::toyworld
