// Generation (greedy and beam search, Hugging Face semantics) and CounterFact scoring against
// the reference values of scripts/make_fixture.py.
#include "catch_torch.h"

#include <fstream>

#include "editlab/model/generate.h"
#include "editlab/model/model_dir.h"
#include "editlab/probe/scoring.h"
#include "editlab/util/error.h"
#include "support.h"

using namespace editlab;

namespace {
nlohmann::json expected_meta() {
  std::ifstream in(test::source_dir() / "tests/fixtures/tiny-gpt2-expected.json");
  return nlohmann::json::parse(in);
}
}  // namespace

TEST_CASE("greedy and beam search give the reference ids", "[generate]") {
  auto meta = expected_meta();
  REQUIRE(meta["eos_generated"].get<int>() > 0);  // the fixture exercises the eos paths
  for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
    auto loaded = load_model(test::fixture_model_dir(), {dtype, torch::kCPU});
    int matched = 0;
    for (const auto& g : meta["generations"]) {
      GenerateOptions options;
      options.num_beams = g["num_beams"];
      options.max_length = g["max_length"].get<int64_t>();
      auto prompt = g["prompt_ids"].get<std::vector<int64_t>>();
      auto result = generate(*loaded.model, prompt, options);
      INFO(g["prompt"].get<std::string>() << ", beams " << options.num_beams << ", max_length " << *options.max_length);
      REQUIRE(result.ids == g["ids"].get<std::vector<int64_t>>());
      if (!g["score"].is_null() && dtype == torch::kFloat64) {
        REQUIRE(result.score == Approx(g["score"].get<double>()).margin(1e-9));
      }
      ++matched;
    }
    WARN(fmt::format("{}: {} of {} generations identical to the reference",
                     dtype == torch::kFloat32 ? "float32" : "float64", matched, meta["generations"].size()));
  }
}

TEST_CASE("max_new_tokens counts new tokens only and wins over max_length", "[generate]") {
  auto loaded = load_model(test::fixture_model_dir());
  std::vector<int64_t> prompt = {40, 588, 262};  // "I like the"
  GenerateOptions options;
  options.max_new_tokens = 3;
  options.max_length = 4;
  auto result = generate(*loaded.model, prompt, options);
  REQUIRE(result.ids.size() <= prompt.size() + 3);
  REQUIRE(std::equal(prompt.begin(), prompt.end(), result.ids.begin()));
}

TEST_CASE("generation input errors", "[generate]") {
  auto loaded = load_model(test::fixture_model_dir());
  GenerateOptions options;
  REQUIRE_THROWS_AS(generate(*loaded.model, std::vector<int64_t>{}, options), Error);
  options.max_length = 1000;  // the fixture has n_positions = 64
  REQUIRE_THROWS_WITH(generate(*loaded.model, std::vector<int64_t>{40}, options), Catch::Contains("n_positions"));
}

TEST_CASE("nll(prefix, target) equals the reference, batched or not", "[scoring]") {
  auto meta = expected_meta();
  for (auto [dtype, tolerance] : {std::pair{torch::kFloat64, 1e-10}, std::pair{torch::kFloat32, 1e-4}}) {
    auto loaded = load_model(test::fixture_model_dir(), {dtype, torch::kCPU});
    std::vector<ScoreRequest> requests;
    for (const auto& s : meta["scores"]) requests.push_back({s["prefix"], s["target"]});
    auto batched = score_targets(*loaded.model, *loaded.tokenizer, requests);
    ScoringOptions one_at_a_time;
    one_at_a_time.max_batch_tokens = 1;
    auto single = score_targets(*loaded.model, *loaded.tokenizer, requests, one_at_a_time);
    double worst = 0;
    for (size_t i = 0; i < requests.size(); ++i) {
      const auto& s = meta["scores"][i];
      INFO(requests[i].prefix << " -> " << requests[i].target);
      REQUIRE(batched[i].prefix_ids == s["prefix_ids"].get<std::vector<int64_t>>());
      REQUIRE(batched[i].target_ids == s["target_ids"].get<std::vector<int64_t>>());
      worst = std::max(worst, std::abs(batched[i].nll - s["nll"].get<double>()));
      auto lps = s["token_logprobs"].get<std::vector<double>>();
      for (size_t j = 0; j < lps.size(); ++j)
        REQUIRE(batched[i].token_logprobs[j] == Approx(lps[j]).margin(tolerance * 10));
      REQUIRE(std::abs(single[i].nll - batched[i].nll) <= tolerance);
    }
    WARN(fmt::format("{}: max |nll - reference| = {:.3g}", dtype == torch::kFloat32 ? "float32" : "float64", worst));
    REQUIRE(worst <= tolerance);
  }
}

TEST_CASE("greedy accuracy and the next-token distribution", "[scoring]") {
  auto loaded = load_model(test::fixture_model_dir(), {torch::kFloat64, torch::kCPU});
  auto& tok = *loaded.tokenizer;
  std::vector<std::string> prefixes = {"The Eiffel Tower is located in", "Hello"};
  auto logprobs = next_token_logprobs(*loaded.model, tok, prefixes);  // [2, V]
  REQUIRE(logprobs.size(0) == 2);
  REQUIRE(logprobs.exp().sum(1).sub(1).abs().max().item<double>() < 1e-9);
  // The argmax token, as a target, is "greedy correct"; score agrees with the distribution.
  const int64_t best = logprobs[0].argmax().item<int64_t>();
  const std::string best_text = tok.decode(std::vector<int64_t>{best});
  if (!best_text.empty() && best_text[0] == ' ' && tok.encode(best_text) == std::vector<int64_t>{best}) {
    std::vector<ScoreRequest> req = {{prefixes[0], best_text.substr(1)}};
    auto s = score_targets(*loaded.model, tok, req)[0];
    REQUIRE(s.greedy_correct);
    REQUIRE(s.token_logprobs[0] == Approx(logprobs[0][best].item<double>()).margin(1e-10));
  }
  std::vector<ScoreRequest> empty_prefix = {{"", "Paris"}};
  REQUIRE_THROWS_AS(score_targets(*loaded.model, tok, empty_prefix), Error);
}
