// Seeded random numbers (the toy world's generator, the run's per-record seeds, the bootstrap):
// std::mt19937_64 with explicit seeds and hand-written sampling. The standard's distributions
// (uniform_int_distribution, shuffle) are not specified bit for bit and differ between standard libraries; these
// functions are, so the same seed gives byte-identical worlds, corpora and datasets on every platform.
#pragma once

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace editlab {

// SplitMix64's finaliser: spreads a seed (and a purpose) into an independent stream seed.
inline uint64_t mix_seed(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

class Rng {
 public:
  // One stream per (seed, purpose): the world, the training corpus, the statistics corpus and
  // the datasets each draw from their own, so changing one never shifts another.
  Rng(uint64_t seed, std::string_view purpose) : engine_(mix_seed(seed ^ hash(purpose))) {}

  // Uniform in [0, n) for n > 0, by rejection (no modulo bias).
  uint64_t below(uint64_t n) {
    if (n == 0) throw std::logic_error("Rng::below(0): nothing to choose from");
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = engine_();
    while (x >= limit);
    return x % n;
  }
  int index(size_t n) { return static_cast<int>(below(n)); }
  // Uniform in [lo, hi].
  int between(int lo, int hi) { return lo + index(static_cast<size_t>(hi - lo + 1)); }
  // True with probability p (53 random bits).
  bool chance(double p) { return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p; }

  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }

  // Fisher-Yates.
  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(i)]);
  }

 private:
  static uint64_t hash(std::string_view s) {  // FNV-1a: stable across platforms
    uint64_t h = 0xCBF29CE484222325ULL;
    for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ULL;
    return h;
  }
  std::mt19937_64 engine_;
};

}  // namespace editlab
