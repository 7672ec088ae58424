#include "editlab/trace/trace_bench.h"

#include <chrono>

#include "editlab/model/gpt2.h"
#include "editlab/model/model_dir.h"
#include "editlab/model/tokenizer.h"
#include "editlab/trace/causal_trace.h"
#include "editlab/util/steady_clock.h"

namespace editlab {
namespace {

// Seconds for one trace of `input` (after a warm-up trace), and its token count.
std::pair<double, int64_t> time_trace(LanguageModel& model, const Tokenizer& tokenizer, const TraceInput& input) {
  TraceOptions options;  // all three kinds, 10 draws, noise level 3
  options.embedding_std = subject_embedding_std(model, tokenizer, {input.subject});
  const CausalTracer tracer(model, tokenizer, options);
  const auto warm = tracer.trace(input, 0);
  const auto start = std::chrono::steady_clock::now();
  tracer.trace(input, 1);
  return {seconds_since(start), static_cast<int64_t>(warm.ids.size())};
}

}  // namespace

nlohmann::json run_trace_bench(const std::filesystem::path& toy_model_dir, const std::filesystem::path& tokenizer_dir,
                               const std::function<void(const std::string&)>& progress) {
  nlohmann::json out;
  out["toy_world_seconds"] = nullptr;
  if (!toy_model_dir.empty() && std::filesystem::exists(toy_model_dir / "config.json")) {
    progress("trace: toy-world model, \"The Louvre is located in\", hidden + mlp + attn, 10 draws");
    auto loaded = load_model(toy_model_dir);
    const auto [s, tokens] =
        time_trace(*loaded.model, *loaded.tokenizer, {"", "The Louvre is located in", "The Louvre", "Paris"});
    out["toy_world_seconds"] = s;
    out["toy_world_tokens"] = tokens;
    out["toy_world_layers"] = loaded.config.n_layer;
  }
  progress("trace: GPT-2-small-shaped random model (12 x 768), a 10-token prompt, hidden + mlp + attn, 10 draws");
  GPT2Config config;  // GPT-2 small
  GPT2 model(config);
  model.init_random(0);
  const auto tokenizer = Tokenizer::from_dir(tokenizer_dir);
  const auto [s, tokens] =
      time_trace(model, tokenizer, {"", "The Eiffel Tower is in the city of", "The Eiffel Tower", "Paris"});
  out["gpt2_small_seconds"] = s;
  out["gpt2_small_tokens"] = tokens;
  out["toy_world_target_seconds"] = 2.0;
  out["gpt2_small_target_seconds"] = 60.0;
  return out;
}

}  // namespace editlab
