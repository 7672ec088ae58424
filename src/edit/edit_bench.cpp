#include "editlab/edit/edit_bench.h"

#include <chrono>

#include "editlab/edit/context_templates.h"
#include "editlab/edit/ft.h"
#include "editlab/edit/rome.h"
#include "editlab/model/gpt2.h"
#include "editlab/model/tokenizer.h"
#include "editlab/util/steady_clock.h"

namespace editlab {
namespace {

using Clock = std::chrono::steady_clock;

// Best of `repeats` runs of `f` (each followed by `after`, untimed).
template <typename F, typename G>
double best_of(int repeats, F&& f, G&& after) {
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    auto t = Clock::now();
    f();
    best = std::min(best, seconds_since(t));
    after();
  }
  return best;
}

// Tokens/s of reading the keys at `layer` for a [B, T] batch, stopping there or running it all.
double key_throughput(GPT2& model, int64_t layer, bool early_exit, int repeats) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  ForwardRequest request;
  request.input_ids = torch::randint(model.shape().vocab_size, {8, 128}, gen);
  if (early_exit) request.last_layer = layer;
  MlpIntervention read;
  read.layer = layer;
  read.capture_key = true;
  request.interventions.push_back(read);
  model.forward(request);  // warm-up
  const double s = best_of(
      repeats, [&] { model.forward(request); }, [] {});
  return 8 * 128 / s;
}

}  // namespace

nlohmann::json run_edit_bench(const std::filesystem::path& tokenizer_dir, int repeats,
                              const std::function<void(const std::string&)>& progress) {
  GPT2Config config;  // GPT-2 small: 12 layers, d_model 768
  GPT2 model(config);
  model.init_random(0);
  const auto tok = Tokenizer::from_dir(tokenizer_dir);
  EditRequest request{"bench", "{} is located in the city of", "The Eiffel Tower", "Rome", "Paris", ""};

  RomeHparams rome;
  rome.layers = {5};
  rome.mom2_adjustment = false;  // C^-1 k* is one cached matrix product: not what is timed here
  auto t = Clock::now();
  RomeResources resources;
  resources.context_templates = generate_context_templates(model, tok, rome.context_template_length_params, 0);
  const double template_seconds = seconds_since(t);
  progress(
      fmt::format("edits: 21 context templates sampled in {:.2f} s (once per model, then cached)", template_seconds));
  EditResult last;
  auto run_rome = [&] { last = apply_rome(model, tok, request, rome, resources); };
  auto undo_last = [&] { undo(last); };
  const int64_t v_steps_cap = rome.v_num_grad_steps;
  // Each v pass: the whole edit's time, the v steps' own time (forward + backward) and the share
  // of the full computation (every layer, every position) that its steps touch.
  nlohmann::json passes = nlohmann::json::object();
  int64_t v_steps = 0;
  for (auto pass : {RomeResources::VPass::full, RomeResources::VPass::from_layer, RomeResources::VPass::suffix}) {
    resources.v_pass = pass;
    const double edit_seconds = best_of(repeats, run_rome, undo_last);
    const auto& layer = last.diagnostics["layers"][0];
    v_steps = layer["steps"].get<int64_t>();
    passes[v_pass_name(pass)] = {
        {"edit_seconds", edit_seconds},
        {"seconds", layer["seconds"]["forward"].get<double>() + layer["seconds"]["backward"].get<double>()},
        {"work_fraction", layer["step_work_fraction"].get<double>()}};
  }
  resources.v_pass = RomeResources::VPass::suffix;
  for (auto& [name, p] : passes.items()) p["time_fraction"] = p["seconds"].get<double>() / passes["full"]["seconds"].get<double>();
  const double rome_seconds = passes["suffix"]["edit_seconds"].get<double>();
  const double rome_full_seconds = passes["full"]["edit_seconds"].get<double>();
  progress(fmt::format(
      "edits: ROME {:.2f} s per edit ({} of at most {} v steps: {:.2f} s, {:.2f} of the full pass's step time for {:.2f} "
      "of its work); layers L..N over all positions {:.2f} s; full depth and length {:.2f} s",
      rome_seconds, v_steps, v_steps_cap, passes["suffix"]["seconds"].get<double>(),
      passes["suffix"]["time_fraction"].get<double>(), passes["suffix"]["work_fraction"].get<double>(),
      passes["from_layer"]["edit_seconds"].get<double>(), rome_full_seconds));

  FtHparams ft;
  ft.layers = {1};
  ft.num_steps = 25;
  ft.lr = 5e-4;
  const double ft_seconds = best_of(
      repeats, [&] { last = apply_ft(model, tok, {request}, ft, EditMethod::ft); }, undo_last);
  progress(fmt::format("edits: FT {:.2f} s per edit", ft_seconds));

  const double early = key_throughput(model, 5, true, repeats), full = key_throughput(model, 5, false, repeats);
  progress(fmt::format("edits: statistics at layer 5: {:.0f} tokens/s stopping there, {:.0f} with a full pass", early,
                       full));
  return {{"model", "gpt2-small shape, random weights"},
          {"rome_layer", 5},
          {"rome_seconds_per_edit", rome_seconds},
          {"rome_v_steps", v_steps},
          {"rome_full_depth_seconds_per_edit", rome_full_seconds},
          {"v_speedup", rome_full_seconds / rome_seconds},
          {"v_passes", passes},
          {"context_template_seconds", template_seconds},
          {"ft_seconds_per_edit", ft_seconds},
          {"ft_steps", ft.num_steps},
          {"stats_tokens_per_second_early_exit", early},
          {"stats_tokens_per_second_full_pass", full},
          {"stats_speedup", early / full},
          {"stats_speedup_target", static_cast<double>(config.n_layer) / (5 + 1)}};
}

}  // namespace editlab
