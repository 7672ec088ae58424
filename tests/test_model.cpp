// GPT-2 parity with the reference forward pass of scripts/make_fixture.py (written after Hugging
// Face's modeling_gpt2.py, run in float64), padding, the KV cache, checkpoint variants and the
// intervention points.
#include "catch_torch.h"

#include <fstream>

#include "editlab/model/model_dir.h"
#include "editlab/model/safetensors_torch.h"
#include "support.h"

using namespace editlab;
namespace fs = std::filesystem;

namespace {

nlohmann::json expected_meta() {
  std::ifstream in(test::source_dir() / "tests/fixtures/tiny-gpt2-expected.json");
  return nlohmann::json::parse(in);
}

torch::Tensor expected_tensor(const std::string& name) {
  static auto file = SafetensorsFile::open(test::source_dir() / "tests/fixtures/tiny-gpt2-expected.safetensors");
  const TensorView* view = file->find(name);
  REQUIRE(view != nullptr);
  return to_tensor(file, *view, torch::kFloat64).clone();
}

torch::Tensor ids_tensor(const std::vector<int64_t>& ids) {
  return torch::tensor(ids, torch::kLong).unsqueeze(0);  // [1, T]
}

torch::Tensor logits_of(LanguageModel& model, const torch::Tensor& ids, const torch::Tensor& mask = {}) {
  torch::NoGradGuard no_grad;
  ForwardRequest request;
  request.input_ids = ids;
  request.attention_mask = mask;
  return model.forward(request).logits.to(torch::kDouble);
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

}  // namespace

TEST_CASE("GPT-2 logits match the reference forward pass", "[parity]") {
  auto meta = expected_meta();
  const int64_t stride = meta["logit_stride"];
  for (auto [dtype, tolerance] : {std::pair{torch::kFloat32, 1e-4}, std::pair{torch::kFloat64, 1e-10}}) {
    auto loaded = load_model(test::fixture_model_dir(), {dtype, torch::kCPU});
    double worst = 0;
    for (size_t i = 0; i < meta["prompt_ids"].size(); ++i) {
      auto ids = meta["prompt_ids"][i].get<std::vector<int64_t>>();
      auto logits = logits_of(*loaded.model, ids_tensor(ids))[0];  // [T, V]
      worst = std::max(worst, max_abs_diff(logits.slice(1, 0, c10::nullopt, stride),
                                           expected_tensor(fmt::format("logits_strided.{}", i))));
      worst = std::max(worst, max_abs_diff(logits[-1], expected_tensor(fmt::format("logits_last.{}", i))));
    }
    WARN(fmt::format("{}: max |logit - reference| = {:.3g} (tolerance {:.0g})",
                     dtype == torch::kFloat32 ? "float32" : "float64", worst, tolerance));
    REQUIRE(worst <= tolerance);
  }
}

TEST_CASE("right- and left-padded batches give the unpadded logits at real tokens", "[parity]") {
  auto meta = expected_meta();
  for (auto [dtype, tolerance] : {std::pair{torch::kFloat32, 1e-5}, std::pair{torch::kFloat64, 1e-12}}) {
    auto loaded = load_model(test::fixture_model_dir(), {dtype, torch::kCPU});
    auto prompts = meta["prompt_ids"].get<std::vector<std::vector<int64_t>>>();
    size_t width = 0;
    for (auto& p : prompts) width = std::max(width, p.size());
    for (bool left : {false, true}) {
      const int64_t B = prompts.size(), W = width;
      auto ids = torch::full({B, W}, int64_t{50256}, torch::kLong);
      auto mask = torch::zeros({B, W}, torch::kLong);
      for (int64_t b = 0; b < B; ++b) {
        const int64_t n = prompts[b].size(), offset = left ? W - n : 0;
        ids[b].slice(0, offset, offset + n).copy_(torch::tensor(prompts[b], torch::kLong));
        mask[b].slice(0, offset, offset + n).fill_(1);
      }
      auto batched = logits_of(*loaded.model, ids, mask);
      double worst = 0;
      for (int64_t b = 0; b < B; ++b) {
        const int64_t n = prompts[b].size(), offset = left ? W - n : 0;
        auto alone = logits_of(*loaded.model, ids_tensor(prompts[b]))[0];
        worst = std::max(worst, max_abs_diff(batched[b].slice(0, offset, offset + n), alone));
      }
      INFO((left ? "left" : "right") << " padding, max diff " << worst);
      REQUIRE(worst <= tolerance);
    }
  }
}

TEST_CASE("the KV cache gives the full-sequence logits", "[parity]") {
  auto loaded = load_model(test::fixture_model_dir(), {torch::kFloat64, torch::kCPU});
  auto ids = expected_meta()["prompt_ids"][0].get<std::vector<int64_t>>();
  auto full = logits_of(*loaded.model, ids_tensor(ids))[0];
  torch::NoGradGuard no_grad;
  KVCache cache;
  ForwardRequest first;
  first.input_ids = ids_tensor(std::vector<int64_t>(ids.begin(), ids.begin() + 4));
  first.cache = &cache;
  auto head = loaded.model->forward(first).logits[0];
  REQUIRE(max_abs_diff(head, full.slice(0, 0, 4)) <= 1e-12);
  for (size_t t = 4; t < ids.size(); ++t) {
    ForwardRequest next;
    next.input_ids = torch::full({1, 1}, ids[t], torch::kLong);
    next.cache = &cache;
    auto logits = loaded.model->forward(next).logits[0][0];
    REQUIRE(max_abs_diff(logits, full[t]) <= 1e-12);
  }
  REQUIRE(cache.length() == static_cast<int64_t>(ids.size()));
}

TEST_CASE("sharded, F16 and BF16 copies of the checkpoint load and agree", "[parity]") {
  auto reference = load_model(test::fixture_model_dir(), {torch::kFloat32, torch::kCPU});
  auto ids = ids_tensor(expected_meta()["prompt_ids"][0].get<std::vector<int64_t>>());
  auto expected = logits_of(*reference.model, ids);
  auto params = reference.model->parameters_by_name();
  test::TempDir tmp;
  auto copy_tokenizer = [&](const fs::path& dir) {
    fs::create_directories(dir);
    for (const char* f : {"config.json", "vocab.json", "merges.txt"}) {
      fs::copy_file(test::fixture_model_dir() / f, dir / f);
    }
  };

  SECTION("sharded through model.safetensors.index.json, with the transformer. prefix") {
    const auto dir = tmp / "sharded";
    copy_tokenizer(dir);
    nlohmann::json weight_map;
    std::vector<std::pair<std::string, torch::Tensor>> shard[2];
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string name = "transformer." + params[i].first;
      const int s = i < params.size() / 2 ? 0 : 1;
      shard[s].emplace_back(name, params[i].second);
      weight_map[name] = fmt::format("model-0000{}-of-00002.safetensors", s + 1);
    }
    for (int s = 0; s < 2; ++s) save_tensors(dir / fmt::format("model-0000{}-of-00002.safetensors", s + 1), shard[s]);
    std::ofstream(dir / "model.safetensors.index.json")
        << nlohmann::json{{"metadata", nlohmann::json::object()}, {"weight_map", weight_map}}.dump();
    auto sharded = load_model(dir);
    REQUIRE(sharded.checkpoint.files().size() == 2);
    REQUIRE(max_abs_diff(logits_of(*sharded.model, ids), expected) == 0.0);
  }

  for (auto [half, label] : {std::pair{torch::kHalf, "F16"}, std::pair{torch::kBFloat16, "BF16"}}) {
    DYNAMIC_SECTION(label << " weights are converted exactly to float32") {
      const auto dir = tmp / label;
      copy_tokenizer(dir);
      std::vector<std::pair<std::string, torch::Tensor>> halves;
      for (auto& [name, p] : params) halves.emplace_back(name, p.to(half));
      save_tensors(dir / "model.safetensors", halves);
      auto loaded = load_model(dir);
      // The same model with its weights rounded in memory computes the same logits bit for bit.
      GPT2 rounded(*reference.config.gpt2);
      for (auto& [name, p] : halves) rounded.set_parameter(name, p.to(torch::kFloat32));
      REQUIRE(max_abs_diff(logits_of(*loaded.model, ids), logits_of(rounded, ids)) == 0.0);
      WARN(fmt::format("{} copy: max |logit - float32 logit| = {:.3g}", label,
                       max_abs_diff(logits_of(*loaded.model, ids), expected)));
    }
  }
}

TEST_CASE("MLP intervention points read, add to and replace the c_proj input and output", "[parity]") {
  auto loaded = load_model(test::fixture_model_dir(), {torch::kFloat64, torch::kCPU});
  auto& model = *loaded.model;
  auto ids = ids_tensor(expected_meta()["prompt_ids"][0].get<std::vector<int64_t>>());
  const int64_t layer = 1, position = 3;
  torch::NoGradGuard no_grad;
  auto batch = torch::tensor({int64_t{0}}), pos = torch::tensor({position});

  ForwardRequest read;
  read.input_ids = ids;
  read.interventions.push_back({layer, batch, pos, true, true, {}, {}});
  read.capture_residual_before = layer;
  auto base = model.forward(read);
  const auto& cap = base.captures[0];
  REQUIRE(cap.key.sizes() == std::vector<int64_t>{1, model.shape().d_mlp});
  REQUIRE(cap.value.sizes() == std::vector<int64_t>{1, model.shape().d_model});
  auto w = model.mlp_out_weight(layer);  // [M, C]
  auto bias = model.parameters_by_name();
  torch::Tensor c_proj_bias;
  for (auto& [name, p] : bias)
    if (name == fmt::format("h.{}.mlp.c_proj.bias", layer)) c_proj_bias = p;
  REQUIRE(max_abs_diff(cap.value, torch::addmm(c_proj_bias, cap.key, w)) <= 1e-12);

  SECTION("adding to the value changes the output exactly as the residual stream says") {
    ForwardRequest add = read;
    // Not a constant vector: the final layer norm would remove a uniform shift exactly.
    add.interventions[0].add_value = torch::linspace(-1, 1, model.shape().d_model, torch::kDouble);
    auto edited = model.forward(add);
    REQUIRE(max_abs_diff(edited.logits.slice(1, 0, position), base.logits.slice(1, 0, position)) == 0.0);
    REQUIRE(max_abs_diff(edited.logits[0][position], base.logits[0][position]) > 1e-3);
    // Replacing with (value + 1) is the same edit.
    ForwardRequest replace = read;
    replace.interventions[0].replace_value = cap.value + add.interventions[0].add_value;
    REQUIRE(max_abs_diff(model.forward(replace).logits, edited.logits) <= 1e-12);
  }
  SECTION("running from layer L on the captured residual gives the full-depth logits") {
    ForwardRequest from;
    from.input_ids = ids;
    from.first_layer = layer;
    from.residual = base.residual_in;
    REQUIRE(max_abs_diff(model.forward(from).logits, base.logits) <= 1e-12);
  }
  SECTION("stopping after layer L returns the residual without logits") {
    ForwardRequest stop;
    stop.input_ids = ids;
    stop.last_layer = 0;
    auto r = model.forward(stop);
    REQUIRE_FALSE(r.logits.defined());
    REQUIRE(max_abs_diff(r.hidden, base.residual_in) == 0.0);
  }
  SECTION("keys of every position when no positions are given") {
    ForwardRequest all;
    all.input_ids = ids;
    all.interventions.push_back({layer, {}, {}, true, false, {}, {}});
    auto keys = model.forward(all).captures[0].key;  // [1, T, M]
    REQUIRE(keys.size(1) == ids.size(1));
    REQUIRE(max_abs_diff(keys[0][position].unsqueeze(0), cap.key) == 0.0);
  }
}

TEST_CASE("an edit of the zero-copy c_proj weight changes the model, not the file", "[parity]") {
  const auto file = test::fixture_model_dir() / "model.safetensors";
  const auto before = fs::file_size(file);
  auto loaded = load_model(test::fixture_model_dir());
  auto ids = ids_tensor(expected_meta()["prompt_ids"][0].get<std::vector<int64_t>>());
  auto base = logits_of(*loaded.model, ids);
  {
    torch::NoGradGuard no_grad;
    auto w = loaded.model->mlp_out_weight(0);  // [M, C]; a rank-one edit, as ROME makes
    w.add_(torch::outer(torch::linspace(-1, 1, w.size(0)), torch::linspace(1, -1, w.size(1))));
  }
  REQUIRE(max_abs_diff(logits_of(*loaded.model, ids), base) > 1e-3);
  auto fresh = load_model(test::fixture_model_dir());
  REQUIRE(max_abs_diff(logits_of(*fresh.model, ids), base) == 0.0);
  REQUIRE(fs::file_size(file) == before);
}
