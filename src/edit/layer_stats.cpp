#include "editlab/edit/layer_stats.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>

#include "editlab/edit/repr_tools.h"
#include "editlab/model/safetensors.h"
#include "editlab/model/safetensors_torch.h"
#include "editlab/util/corpus.h"
#include "editlab/util/error.h"
#include "editlab/util/hash.h"
#include "editlab/util/steady_clock.h"

namespace editlab {
namespace fs = std::filesystem;
namespace {

std::string hash_tensor_data(const torch::Tensor& t) {
  auto c = t.contiguous().cpu();
  return hash_bytes(c.data_ptr(), c.numel() * c.element_size());
}

}  // namespace

std::vector<std::string> read_corpus_texts(const fs::path& path, int64_t limit) {
  std::vector<std::string> texts = read_documents(path, limit);  // the rule: util/corpus.h
  if (texts.empty()) fail("{}: the corpus holds no text", path.string());
  return texts;
}

std::vector<SecondMoment> compute_second_moments(LanguageModel& model, const Tokenizer& tokenizer,
                                                 const std::vector<std::string>& texts,
                                                 const std::vector<int64_t>& layers, torch::ScalarType dtype,
                                                 int64_t max_batch_tokens,
                                                 const std::function<void(const StatsProgress&)>& progress) {
  if (layers.empty()) fail("statistics: no layer given");
  for (int64_t layer : layers) {
    if (layer < 0 || layer >= model.shape().n_layer) {
      fail("layer {} is out of range (the model has layers 0..{})", layer, model.shape().n_layer - 1);
    }
  }
  const int64_t deepest = *std::max_element(layers.begin(), layers.end());
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::vector<int64_t>> rows;
  for (const auto& text : texts) {
    auto ids = tokenizer.encode_prompt(text);
    if (static_cast<int64_t>(ids.size()) > model.shape().n_positions) ids.resize(model.shape().n_positions);
    if (!ids.empty()) rows.push_back(std::move(ids));
  }
  // Length-sorted batches keep padding small; the sum does not depend on the order beyond rounding.
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rows[a].size() < rows[b].size(); });

  const int64_t M = model.shape().d_mlp;
  std::vector<SecondMoment> stats;
  for (size_t i = 0; i < layers.size(); ++i) {
    stats.push_back({torch::zeros({M, M}, torch::TensorOptions().dtype(dtype).device(model.device())), 0});
  }
  StatsProgress report{0, static_cast<int64_t>(texts.size()), 0, 0};
  // The bar starts with the work: its rate would otherwise count from the first batch's end (a
  // corpus of one batch printed millions of texts/s, "done in 0.0s").
  if (progress && report.texts_total > 0) progress(report);
  torch::NoGradGuard no_grad;
  for (size_t begin = 0; begin < order.size();) {
    size_t end = begin;
    while (end < order.size() &&
           (end == begin || static_cast<int64_t>(rows[order[end]].size() * (end - begin + 1)) <= max_batch_tokens))
      ++end;
    std::vector<std::vector<int64_t>> batch;
    for (size_t i = begin; i < end; ++i) batch.push_back(rows[order[i]]);
    auto [ids, mask] = pad_right(batch, tokenizer.eos_id(), model.device());
    ForwardRequest request;
    request.input_ids = ids;
    request.attention_mask = mask;
    request.last_layer = deepest;  // one pass to the deepest layer; nothing past it is computed
    for (int64_t layer : layers) {
      MlpIntervention read;
      read.layer = layer;
      read.capture_key = true;
      request.interventions.push_back(read);
    }
    auto result = model.forward(request);
    const auto real = mask.to(torch::kBool);
    for (size_t i = 0; i < layers.size(); ++i) {
      auto flat = result.captures[i].key.index({real}).to(dtype);  // [tokens, M]
      stats[i].mom2.addmm_(flat.t(), flat);
      stats[i].count += flat.size(0);
    }
    report.texts_done += end - begin;
    report.tokens = stats[0].count;
    report.seconds = seconds_since(start);
    if (progress) progress(report);
    begin = end;
  }
  report.texts_done = report.texts_total;
  if (progress) progress(report);
  if (stats[0].count == 0) fail("the corpus gave no tokens");
  return stats;
}

SecondMoment compute_second_moment(LanguageModel& model, const Tokenizer& tokenizer,
                                   const std::vector<std::string>& texts, int64_t layer, torch::ScalarType dtype,
                                   int64_t max_batch_tokens,
                                   const std::function<void(const StatsProgress&)>& progress) {
  return compute_second_moments(model, tokenizer, texts, {layer}, dtype, max_batch_tokens, progress)[0];
}

std::string stats_cache_key(const std::string& model_fingerprint, int64_t layer, const std::string& corpus_hash,
                            int64_t samples, const std::string& dtype) {
  auto short_hash = [](const std::string& h) {
    auto pos = h.find(':');
    return (pos == std::string::npos ? h : h.substr(pos + 1)).substr(0, 16);
  };
  return fmt::format("mom2-model_{}-layer{}-corpus_{}-n{}-{}", short_hash(model_fingerprint), layer,
                     short_hash(corpus_hash), samples, dtype);
}

bool load_cached_stats(const fs::path& file, const std::string& key, SecondMoment& out, std::string& why) {
  if (!fs::exists(file)) {
    why = "not cached yet";
    return false;
  }
  try {
    auto st = SafetensorsFile::open(file);
    const auto& meta = st->metadata();
    auto it = meta.find("editlab.key");
    if (it == meta.end() || it->second != key) {
      why = "its key does not match";
      return false;
    }
    const TensorView* mom2 = st->find("mom2.mom2");
    const TensorView* count = st->find("mom2.count");
    if (mom2 == nullptr || count == nullptr || count->dtype != DType::I64 || count->numel() != 1) {
      why = "it lacks mom2.mom2 or mom2.count";
      return false;
    }
    auto compute = mom2->dtype == DType::F64 ? torch::kFloat64 : torch::kFloat32;
    auto tensor = to_tensor(st, *mom2, compute).clone();
    if (meta.count("editlab.mom2_hash") == 0 || hash_tensor_data(tensor) != meta.at("editlab.mom2_hash")) {
      why = "its data does not match its recorded hash (corrupt)";
      return false;
    }
    out.mom2 = tensor;
    std::memcpy(&out.count, count->data, sizeof(int64_t));
    return out.count > 0;
  } catch (const Error& e) {
    why = std::string("it is not a valid statistics file (") + e.what() + ")";
    return false;
  }
}

void save_cached_stats(const fs::path& file, const std::string& key, const SecondMoment& stats) {
  fs::create_directories(file.parent_path());
  auto mom2 = stats.mom2.contiguous().cpu();
  save_tensors(file, {{"mom2.mom2", mom2}, {"mom2.count", torch::tensor({stats.count}, torch::kLong)}},
               {{"editlab.key", key}, {"editlab.mom2_hash", hash_tensor_data(mom2)}});
}

}  // namespace editlab
