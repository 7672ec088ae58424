// What both tokenizers (GPT-2's files, tokenizer.json) share: string-keyed maps that look up a
// string_view without a copy, and the cache of merged pieces. Private to src/model.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace editlab::detail {

// Heterogeneous lookup, so that find() takes a string_view without building a std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

// Pieces already merged, with their ids: most words of a text repeat. Split in shards, each with
// its own lock, so that threads encoding at once rarely wait on the same lock. Pieces longer than
// max_piece_bytes are not cached (rare, and one long input would pin its size in memory for the
// tokenizer's lifetime); at most max_entries pieces are kept in all (about 100 MB at worst).
template <typename Id>
class PieceCache {
 public:
  explicit PieceCache(size_t max_piece_bytes, size_t max_entries = size_t{1} << 20)
      : max_piece_bytes_(max_piece_bytes), max_entries_per_shard_(max_entries / kShards) {}

  bool cacheable(std::string_view piece) const { return piece.size() <= max_piece_bytes_; }

  // Appends the piece's cached ids to `out`; false if it is not cached.
  bool find(std::string_view piece, std::vector<int64_t>& out) const {
    Shard& shard = shard_of(piece);
    std::shared_lock lock(shard.mutex);
    const auto it = shard.pieces.find(piece);
    if (it == shard.pieces.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }

  void insert(std::string_view piece, std::vector<Id> ids) const {
    Shard& shard = shard_of(piece);
    std::unique_lock lock(shard.mutex);
    if (shard.pieces.size() < max_entries_per_shard_) shard.pieces.emplace(std::string(piece), std::move(ids));
  }

 private:
  static constexpr size_t kShards = 16;
  struct alignas(64) Shard {
    std::shared_mutex mutex;
    StringMap<std::vector<Id>> pieces;
  };
  // The high bits pick the shard; the map's buckets use the hash modulo a prime.
  Shard& shard_of(std::string_view piece) const { return shards_[(StringHash{}(piece) >> 32) % kShards]; }

  size_t max_piece_bytes_, max_entries_per_shard_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace editlab::detail
