// editlab trace: causal tracing as ROME's experiments/causal_trace.py computes it. The batched,
// shortcut grid (forwards start at the window's first layer; tokens before the subject shared
// through the KV cache) against cells computed directly from the embeddings up; the identities
// the method must satisfy (no noise: no effect; restoring the final state: p_clean); the token
// groups of the averaged picture by hand; the CLI's output and errors.
#include "catch_torch.h"

#include <fstream>
#include <sstream>

#include "editlab/model/model_dir.h"
#include "editlab/trace/causal_trace.h"
#include "support.h"

using namespace editlab;
namespace fs = std::filesystem;

namespace {

fs::path toy_model_dir() { return test::source_dir() / "data/toy-world/model"; }

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TraceOptions options_for(LanguageModel& model, const Tokenizer& tokenizer, const std::string& subject,
                         double noise_level, int64_t window = 0) {
  TraceOptions o;
  o.samples = 4;
  o.noise_level = noise_level;
  o.window = window;
  o.embedding_std = subject_embedding_std(model, tokenizer, {subject});
  return o;
}

}  // namespace

TEST_CASE("trace: the batched grid equals cells computed directly", "[trace]") {
  struct Case {
    fs::path model;
    TraceInput input;
    int64_t window;
  };
  const std::vector<Case> cases = {
      // The toy world's Louvre: the subject starts the prompt, 3 layers, window 1.
      {toy_model_dir(), {"", "The Louvre is located in", "The Louvre", "Paris"}, 0},
      // Tokens before the subject (the shared KV-cache prefix) and a 2-layer window clipped at both ends.
      {test::source_dir() / "tests/fixtures/tiny-gpt2",
       {"", "Yesterday the Eiffel Tower was in", "the Eiffel Tower", "Paris"},
       2},
      {toy_model_dir(), {"", "Everyone knows that The Louvre is located in", "The Louvre", "Paris"}, 2},
  };
  for (const auto& c : cases) {
    auto loaded = load_model(c.model, LoadOptions{torch::kFloat64});
    auto& model = *loaded.model;
    const CausalTracer tracer(model, *loaded.tokenizer,
                              options_for(model, *loaded.tokenizer, c.input.subject, 3, c.window));
    const auto trace = tracer.trace(c.input, 7);
    const int64_t T = trace.ids.size(), L = model.shape().n_layer;
    INFO(c.input.prompt);
    REQUIRE(trace.restored.size() == 3);
    for (size_t k = 0; k < trace.kinds.size(); ++k) {
      REQUIRE(trace.restored[k].sizes() == torch::IntArrayRef{T, L});
      for (int64_t t : {int64_t{0}, trace.subject_begin, trace.subject_end - 1, T - 1}) {
        for (int64_t l = 0; l < L; ++l) {
          INFO("kind " << trace_kind_name(trace.kinds[k]) << " token " << t << " layer " << l);
          CHECK(trace.restored[k][t][l].item<double>() ==
                Approx(tracer.restored_cell(c.input, 7, trace.kinds[k], t, l)).margin(1e-5));
        }
      }
    }
  }
}

TEST_CASE("trace: no noise, no effect; restoring the last state gives p_clean", "[trace]") {
  auto loaded = load_model(toy_model_dir());
  auto& model = *loaded.model;
  const TraceInput input{"", "The Louvre is located in", "The Louvre", "Paris"};
  {
    const CausalTracer tracer(model, *loaded.tokenizer, options_for(model, *loaded.tokenizer, input.subject, 0));
    const auto trace = tracer.trace(input, 1);
    CHECK(trace.p_corrupt == Approx(trace.p_clean).margin(1e-6));
    for (const auto& grid : trace.restored) CHECK((grid - trace.p_corrupt).abs().max().item<double>() < 1e-6);
  }
  const CausalTracer tracer(model, *loaded.tokenizer, options_for(model, *loaded.tokenizer, input.subject, 3));
  const auto trace = tracer.trace(input, 1);
  const int64_t T = trace.ids.size(), L = model.shape().n_layer;
  REQUIRE(trace.kinds[0] == TraceKind::kHidden);
  CHECK(trace.p_clean > 0.5);  // the model knows the fact
  CHECK(trace.p_clean - trace.p_corrupt > 0.1);
  CHECK(trace.restored[0][T - 1][L - 1].item<double>() == Approx(trace.p_clean).margin(1e-6));
  // ROME's location of the subject: the prompt's first tokens, as "The Louvre" alone tokenizes.
  CHECK(trace.subject_begin == 0);
  CHECK(trace.subject_end == static_cast<int64_t>(loaded.tokenizer->encode("The Louvre").size()));
}

TEST_CASE("trace: the six token groups and the peak, by hand", "[trace]") {
  // 7 tokens: [prefix, s0, s1, s2, after, further, last]; subject [1, 4); 2 layers.
  PromptTrace t;
  t.ids = {0, 1, 2, 3, 4, 5, 6};
  t.subject_begin = 1;
  t.subject_end = 4;
  t.answer_id = t.predicted_id = 9;
  t.p_clean = 0.9;
  t.p_corrupt = 0.1;
  t.kinds = {TraceKind::kMlp};
  auto grid = torch::full({7, 2}, 0.1, torch::kDouble);
  grid[1][0] = 0.3;  // first subject token
  grid[2][1] = 0.5;  // middle
  grid[3][0] = 0.2;
  grid[3][1] = 0.7;  // last subject token: peak at layer 1
  grid[4][0] = 0.4;  // first subsequent
  grid[5][1] = 0.6;  // further
  grid[6][1] = 0.8;  // last
  t.restored = {grid};
  PromptTrace unknown = t;
  unknown.predicted_id = 3;
  unknown.restored = {torch::full({7, 2}, 1.0, torch::kDouble)};

  const auto s = summarize_traces({t, unknown}, false);
  CHECK(s.prompts == 2);
  CHECK(s.averaged == 1);
  const auto& k = s.kinds.at(0);
  const std::vector<std::vector<double>> want = {{0.2, 0}, {0, 0.4}, {0.1, 0.6}, {0.3, 0}, {0, 0.5}, {0, 0.7}};
  for (size_t g = 0; g < want.size(); ++g) {
    INFO(kTraceGroups[g]);
    CHECK(k.rows[g] == 1);
    CHECK(k.mean_ie[g][0] == Approx(want[g][0]).margin(1e-12));
    CHECK(k.mean_ie[g][1] == Approx(want[g][1]).margin(1e-12));
  }
  CHECK(k.peak_layer == 1);
  CHECK(k.peak_ie == Approx(0.6));
  CHECK(k.last_token_ie_at_peak == Approx(0.7));

  const auto all = summarize_traces({t, unknown}, true);
  CHECK(all.averaged == 2);
  CHECK(all.kinds[0].mean_ie[2][1] == Approx((0.6 + 0.9) / 2));  // the unknown prompt's IE is 1 - 0.1
  CHECK_THROWS_WITH(summarize_traces({unknown}, false), Catch::Contains("include the unknown ones"));
}

TEST_CASE("trace: the command's file is deterministic; bad input gets one clear error", "[trace_cli]") {
  test::TempDir tmp;
  const std::string model = test::shell_quote(toy_model_dir().string());
  const std::string dataset = test::shell_quote((test::source_dir() / "data/toy-world/counterfact.json").string());
  auto run = [&](const std::string& args) { return test::run_cli("--threads 1 trace --model " + model + " " + args); };

  const auto a = run("--dataset " + dataset + " --limit 3 --samples 3 --include-unknown --out " +
                     test::shell_quote((tmp / "a").string()));
  REQUIRE(a.exit_code == 0);
  CHECK_THAT(a.out, Catch::Contains("last subject token"));
  const auto b = run("--dataset " + dataset + " --limit 3 --samples 3 --include-unknown --json --out " +
                     test::shell_quote((tmp / "b").string()));
  REQUIRE(b.exit_code == 0);
  CHECK(slurp(tmp / "a/trace.json") == slurp(tmp / "b/trace.json"));
  const auto summary = nlohmann::json::parse(b.out);
  CHECK(summary["prompts"] == 3);
  CHECK(summary["kinds"].contains("attn"));
  const auto doc = nlohmann::json::parse(slurp(tmp / "a/trace.json"));
  CHECK(doc["schema"] == "editlab.trace/1");
  CHECK(doc["prompts"].size() == 3);
  CHECK(doc["prompts"][0]["restored"]["mlp"].size() == doc["prompts"][0]["tokens"].size());
  const auto c = run("--dataset " + dataset + " --limit 3 --samples 3 --seed 5 --include-unknown --out " +
                     test::shell_quote((tmp / "c").string()));
  REQUIRE(c.exit_code == 0);
  CHECK(slurp(tmp / "a/trace.json") != slurp(tmp / "c/trace.json"));

  const auto one = run("--prompt 'The Louvre is located in' --subject 'The Louvre' --kinds mlp --out " +
                       test::shell_quote((tmp / "one").string()));
  REQUIRE(one.exit_code == 0);
  CHECK_THAT(one.out, Catch::Contains("IE, mlp"));

  std::ofstream(tmp / "empty.json") << "[]";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"--prompt 'The Louvre is located in' --subject 'The Colosseum'", "is not in the prompt"},
      {"--dataset " + test::shell_quote((tmp / "empty.json").string()), "no records"},
      {"--prompt 'The Louvre is located in' --subject 'The Louvre' --window 7", "larger than the model"},
      {"--prompt 'The Louvre is located in' --subject 'The Louvre' --kinds mlp,neurons", "unknown trace kind"},
      {"--prompt 'The Louvre is located in'", "--subject"},
      {"--subject 'The Louvre'", "either --prompt"},
  };
  for (const auto& [args, message] : bad) {
    INFO(args);
    const auto r = run(args + " --out " + test::shell_quote((tmp / "bad").string()));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(message));
    CHECK_FALSE(fs::exists(tmp / "bad/trace.json"));
  }
}
