// Second-moment statistics of the ROME key: C = E[k k^T] (uncentred, not a covariance) of the
// inputs of mlp.c_proj at one layer, over the tokens of a corpus, as ROME's layer_stats computes
// it: each text truncated to n_positions tokens, every non-pad token counted, the forward pass
// stopped after the layer. Cached on disk; ROME's published .npz statistics can be imported.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "editlab/model/language_model.h"
#include "editlab/model/tokenizer.h"
#include "editlab/util/hash.h"

namespace editlab {

struct SecondMoment {
  torch::Tensor mom2;  // [M, M]: the sum of k k^T over `count` tokens
  int64_t count = 0;
  torch::Tensor moment() const { return mom2 / static_cast<double>(count); }  // C
};

struct StatsProgress {
  int64_t texts_done = 0, texts_total = 0, tokens = 0;
  double seconds = 0;
};

// The texts of a corpus file: JSON Lines with a "text" field per line (a Hugging Face dataset
// dump) when the name ends in .jsonl, otherwise documents separated by blank lines. The first
// `limit` texts (all when limit <= 0).
std::vector<std::string> read_corpus_texts(const std::filesystem::path& path, int64_t limit);

// The statistics over `texts`, accumulated in `dtype` (float32 as ROME, or float64).
SecondMoment compute_second_moment(LanguageModel& model, const Tokenizer& tokenizer,
                                   const std::vector<std::string>& texts, int64_t layer, torch::ScalarType dtype,
                                   int64_t max_batch_tokens = 4096,
                                   const std::function<void(const StatsProgress&)>& progress = {});

// The statistics of several layers in one pass over the corpus (to the deepest of them; MEMIT
// edits five or six layers), in the order of `layers`; each equals compute_second_moment's.
std::vector<SecondMoment> compute_second_moments(LanguageModel& model, const Tokenizer& tokenizer,
                                                 const std::vector<std::string>& texts,
                                                 const std::vector<int64_t>& layers, torch::ScalarType dtype,
                                                 int64_t max_batch_tokens = 4096,
                                                 const std::function<void(const StatsProgress&)>& progress = {});

// The cache file name for one set of statistics: every input that changes the result is in it.
std::string stats_cache_key(const std::string& model_fingerprint, int64_t layer, const std::string& corpus_hash,
                            int64_t samples, const std::string& dtype);

// Cache files are safetensors ("mom2.mom2", "mom2.count") whose metadata repeats the key and
// holds a hash of the data. Returns false (and says why in `why`) for a missing, corrupt or
// mismatched file.
bool load_cached_stats(const std::filesystem::path& file, const std::string& key, SecondMoment& out, std::string& why);
void save_cached_stats(const std::filesystem::path& file, const std::string& key, const SecondMoment& stats);

// ROME's published statistics: an .npz whose arrays "mom2.mom2" (sum of k k^T) and "mom2.count"
// are read as they are (float32 or float64; stored or deflated zip entries).
SecondMoment import_npz_stats(const std::filesystem::path& path);

}  // namespace editlab
