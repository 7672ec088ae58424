// config.json parsing (GPT2Config keys and defaults) and model-directory loading errors.
#include "catch_torch.h"

#include <fstream>

#include "editlab/model/model_dir.h"
#include "editlab/model/safetensors_torch.h"
#include "editlab/util/error.h"
#include "support.h"

using namespace editlab;
namespace fs = std::filesystem;
using Catch::Contains;

TEST_CASE("config.json: Hugging Face defaults and supported settings", "[config]") {
  auto c =
      GPT2Config::from_json({{"model_type", "gpt2"}, {"n_embd", 64}, {"n_head", 4}, {"n_inner", nullptr}}, "c.json");
  REQUIRE(c.d_mlp() == 256);  // null means 4 * n_embd
  REQUIRE(GPT2Config{}.d_mlp() == 3072);
  REQUIRE(c.vocab_size == 50257);
  REQUIRE(c.n_layer == 12);
  REQUIRE(c.layer_norm_epsilon == 1e-5);
  REQUIRE(c.activation_function == "gelu_new");
  REQUIRE_FALSE(c.scale_attn_by_inverse_layer_idx);
  auto round_trip = GPT2Config::from_json(c.to_json(), "round trip");
  REQUIRE(round_trip.to_json() == c.to_json());
  // A real gpt2 config.json carries many training-only keys: they are ignored.
  REQUIRE_NOTHROW(GPT2Config::from_json({{"n_ctx", 1024},
                                         {"summary_type", "cls_index"},
                                         {"task_specific_params", {{"text-generation", {{"do_sample", true}}}}}},
                                        "gpt2"));
}

TEST_CASE("config.json: unsupported or malformed settings are clear errors", "[config]") {
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"model_type", "gptj"}}, "c.json"),
                      Contains("c.json") && Contains("gptj"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"activation_function", "mish"}}, "c.json"),
                      Contains("activation_function"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"n_embd", 10}, {"n_head", 3}}, "c.json"), Contains("divisible"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"n_layer", "twelve"}}, "c.json"),
                      Contains("n_layer") && Contains("type"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"n_layer", -1}}, "c.json"), Contains("n_layer"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"n_ctx", 512}, {"n_positions", 1024}}, "c.json"), Contains("n_ctx"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json(nlohmann::json::array(), "c.json"), Contains("object"));
}

namespace {

// A copy of the fixture model whose weights are `tensors` (by checkpoint name).
void write_model(const fs::path& dir, const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  fs::create_directories(dir);
  for (const char* f : {"config.json", "vocab.json", "merges.txt"}) {
    fs::copy_file(test::fixture_model_dir() / f, dir / f, fs::copy_options::overwrite_existing);
  }
  save_tensors(dir / "model.safetensors", tensors);
}

std::vector<std::pair<std::string, torch::Tensor>> fixture_tensors() {
  auto loaded = load_model(test::fixture_model_dir());
  return loaded.model->parameters_by_name();
}

}  // namespace

TEST_CASE("model directory: parameter names, ignored buffers and the tied LM head", "[config]") {
  test::TempDir tmp;
  auto tensors = fixture_tensors();
  SECTION("old checkpoints' attn.bias / masked_bias buffers are ignored; a tied lm_head is accepted") {
    auto with_buffers = tensors;
    with_buffers.emplace_back("h.0.attn.bias", torch::ones({1, 1, 64, 64}));
    with_buffers.emplace_back("h.0.attn.masked_bias", torch::tensor(-1e4));
    for (auto& [name, t] : tensors)
      if (name == "wte.weight") with_buffers.emplace_back("lm_head.weight", t);
    write_model(tmp / "m", with_buffers);
    REQUIRE_NOTHROW(load_model(tmp / "m"));
  }
  SECTION("an untied lm_head is refused") {
    auto untied = tensors;
    for (auto& [name, t] : tensors)
      if (name == "wte.weight") untied.emplace_back("lm_head.weight", t + 1);
    write_model(tmp / "m", untied);
    REQUIRE_THROWS_WITH(load_model(tmp / "m"), Contains("lm_head"));
  }
  SECTION("a missing parameter is named") {
    auto missing = tensors;
    missing.erase(std::remove_if(missing.begin(), missing.end(), [](auto& p) { return p.first == "h.1.ln_2.bias"; }),
                  missing.end());
    write_model(tmp / "m", missing);
    REQUIRE_THROWS_WITH(load_model(tmp / "m"), Contains("h.1.ln_2.bias"));
  }
  SECTION("an unexpected tensor is named") {
    auto extra = tensors;
    extra.emplace_back("h.7.mlp.c_fc.weight", torch::zeros({2, 2}));
    write_model(tmp / "m", extra);
    REQUIRE_THROWS_WITH(load_model(tmp / "m"), Contains("h.7.mlp.c_fc.weight"));
  }
  SECTION("a wrong shape is named with both shapes") {
    auto wrong = tensors;
    for (auto& [name, t] : wrong)
      if (name == "h.0.mlp.c_proj.weight") t = t.t().contiguous();  // [C, M]: Linear layout
    write_model(tmp / "m", wrong);
    REQUIRE_THROWS_WITH(load_model(tmp / "m"), Contains("h.0.mlp.c_proj.weight") && Contains("96x24"));
  }
  SECTION("missing files") {
    REQUIRE_THROWS_WITH(load_model(tmp / "nothing"), Contains("not a directory"));
    fs::create_directories(tmp / "empty");
    REQUIRE_THROWS_WITH(load_model(tmp / "empty"), Contains("config.json"));
  }
}
