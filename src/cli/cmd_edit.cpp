// editlab edit: one edit (or a file of them, applied in order), its diagnostics and times; when asked,
// the probes' beam-search generations and the targets' probabilities before and after.
#include <chrono>
#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)

#include "common.h"
#include "editlab/edit/context_templates.h"
#include "editlab/edit/editor.h"
#include "editlab/edit/inference_edit.h"
#include "editlab/model/device_memory.h"
#include "editlab/model/generate.h"
#include "editlab/probe/scoring.h"
#include "editlab/util/error.h"
#include "editlab/util/steady_clock.h"

namespace editlab::cli {
namespace {

struct EditCliOptions {
  std::string model_dir, method = "rome", hparams, edit_file, prompt, subject, target_new, target_true;
  std::vector<std::string> probes;
  bool probe_edits = false;
  int64_t beams = 5, max_length = 20, max_new_tokens = 0;
  std::string save_dir;
  bool json = false;
  std::string stats_file, stats_corpus, context_templates, save_context_templates, cache_dir;
  int64_t samples = 0;
  uint64_t template_seed = 0;
  bool no_cache = false;
};

using Clock = std::chrono::steady_clock;

std::vector<EditRequest> requests_of(const EditCliOptions& o) {
  if (!o.edit_file.empty()) return load_edit_requests(o.edit_file);
  if (o.prompt.empty() || o.subject.empty() || o.target_new.empty()) {
    fail("edit: give --edit FILE, or --prompt, --subject and --target-new");
  }
  EditRequest r{"cli", o.prompt, o.subject, o.target_new, o.target_true, ""};
  validate_edit_request(r, "the command line's edit");
  return {r};
}

// Generations of every probe and the probabilities of every request's targets.
// `requests` empty: the probes' generations only.
nlohmann::json observe(LoadedModel& m, const std::vector<EditRequest>& requests, const std::vector<std::string>& probes,
                       const EditCliOptions& o) {
  GenerateOptions g;
  g.num_beams = o.beams;
  g.max_length = o.max_length;
  if (o.max_new_tokens > 0) g.max_new_tokens = o.max_new_tokens;
  g.eos_token_id = m.config.eos_token_id;
  g.more_eos_token_ids = m.config.eos_token_ids;
  nlohmann::json out = {{"generations", nlohmann::json::array()}, {"targets", nlohmann::json::array()}};
  for (const auto& p : probes) {
    auto ids = m.tokenizer->encode_prompt(p);
    auto result = generate(*m.model, ids, g);
    out["generations"].push_back({{"prompt", p},
                                  {"continuation", m.tokenizer->decode_continuation(
                                                       ids, std::span(result.ids).subspan(ids.size()))}});
  }
  if (requests.empty()) return out;
  std::vector<ScoreRequest> scores;
  for (const auto& r : requests) {
    scores.push_back({r.sentence(), r.target_new});
    if (!r.target_true.empty()) scores.push_back({r.sentence(), r.target_true});
  }
  auto s = score_targets(*m.model, *m.tokenizer, scores);
  size_t k = 0;
  for (const auto& r : requests) {
    nlohmann::json t = {{"case_id", r.case_id},
                        {"prompt", r.sentence()},
                        {"target_new", r.target_new},
                        {"p_new", std::exp(-s[k++].nll)}};
    if (!r.target_true.empty()) {
      t["target_true"] = r.target_true;
      t["p_true"] = std::exp(-s[k++].nll);
    }
    out["targets"].push_back(t);
  }
  return out;
}

std::unique_ptr<Editor> make_cli_editor(LoadedModel& m, const EditCliOptions& o) {
  RomeSetupOptions setup;
  if (!o.cache_dir.empty()) setup.cache_dir = o.cache_dir;
  setup.use_cache = !o.no_cache;
  setup.context_templates_file = o.context_templates;
  setup.template_seed = o.template_seed;
  setup.stats_file = o.stats_file;
  setup.stats_corpus = o.stats_corpus;
  setup.hparams_dir = std::filesystem::path(o.hparams).parent_path();
  setup.setting_names = flag_names({{"stats_file", "--stats"}});
  if (o.samples > 0) setup.samples = o.samples;
  setup.log = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
  setup.stats_progress = stderr_stats_progress();
  const auto method = *parse_edit_method(o.method);
  setup.inference = prepare_inference_editing(method, m);
  if (method == EditMethod::ike && !o.edit_file.empty()) {
    setup.inference->facts = ike_facts(load_json_records(o.edit_file, "edit file"));  // demonstrations: the other edits
  }
  auto editor = make_editor(*parse_edit_method(o.method), read_hparams_file(o.hparams), o.hparams, *m.model,
                            *m.tokenizer, m.fingerprint(), setup);
  if (!o.save_context_templates.empty() && editor->context_templates()) {
    save_context_templates(o.save_context_templates, *editor->context_templates());
  }
  return editor;
}

void print_probes(const nlohmann::json& j) {
  const auto& before = j["before"];
  const auto& after = j["after"];
  for (size_t i = 0; i < before["targets"].size(); ++i) {
    const auto& b = before["targets"][i];
    const auto& a = after["targets"][i];
    fmt::print("edit {}: \"{}\" -> \"{}\"\n", b["case_id"].get<std::string>(), b["prompt"].get<std::string>(),
               b["target_new"].get<std::string>());
    fmt::print("  p(new)  {:.4g} -> {:.4g}\n", b["p_new"].get<double>(), a["p_new"].get<double>());
    if (b.contains("p_true")) {
      fmt::print("  p(true) {:.4g} -> {:.4g}  (\"{}\")\n", b["p_true"].get<double>(), a["p_true"].get<double>(),
                 b["target_true"].get<std::string>());
    }
  }
  fmt::print("\ngenerations (beams {}, before -> after):\n", j["beams"].get<int64_t>());
  for (size_t i = 0; i < before["generations"].size(); ++i) {
    const auto& prompt = before["generations"][i]["prompt"].get<std::string>();
    fmt::print("  {}\n    before: {}{}\n    after:  {}{}\n", prompt, prompt,
               before["generations"][i]["continuation"].get<std::string>(), prompt,
               after["generations"][i]["continuation"].get<std::string>());
  }
  fmt::print("\n");
}

void print_text(const nlohmann::json& j) {
  if (j.contains("before")) {
    print_probes(j);
  } else {
    for (const auto& r : j["requests"]) {
      fmt::print("edit {}: \"{}\" -> \"{}\"\n", r["case_id"].get<std::string>(), r["prompt"].get<std::string>(),
                 r["target_new"].get<std::string>());
    }
  }
  std::string setup;
  for (const auto& [part, seconds] : j["seconds"]["setup"].items()) {
    if (part != "total") setup += fmt::format("{}{} {:.2f} s", setup.empty() ? "" : ", ", part, seconds.get<double>());
  }
  fmt::print("setup {:.2f} s{}\n", j["seconds"]["setup"]["total"].get<double>(),
             setup.empty() ? std::string() : " (" + setup + ")");
  fmt::print("{} in {:.2f} s{}\n", j["method"].get<std::string>(), j["seconds"]["edit"].get<double>(),
             j.contains("before") ? fmt::format(" (probes {:.2f} s)", j["seconds"]["probes"].get<double>())
                                  : std::string(" (no probes: --probe-edits or --probe TEXT to see generations)"));
  for (const auto& e : j["edits"]) {
    if (e["method"] == "ike") {
      fmt::print("  context: {} characters, {} facts to draw demonstrations from (weights unchanged)\n",
                 e["diagnostics"]["context_characters"].get<int64_t>(),
                 e["diagnostics"]["demonstration_pool"].get<int64_t>());
      continue;
    }
    if (e["method"] == "rome-patch") {
      for (const auto& l : e["diagnostics"]["layers"]) {
        const auto& losses = l["losses"];
        fmt::print("  layer {}: delta loss {:.4f} -> {:.4f} in {} evaluations, |delta| {:.3g}, added at inference at "
                   "the subject's last token (weights unchanged)\n",
                   l["layer"].get<int64_t>(), losses.front()["loss"].get<double>(), losses.back()["loss"].get<double>(),
                   losses.size(), l["delta_norm"].get<double>());
      }
      continue;
    }
    if (e["diagnostics"].contains("z_layer")) {  // MEMIT, EMMET, AlphaEdit: one batch
      const auto& d = e["diagnostics"];
      for (const auto& z : d["z"]) {
        const auto& losses = z["losses"];
        fmt::print("  edit {}: z loss {:.4f} -> {:.4f} in {} evaluations{} at layer {}, |delta| {:.3g}\n",
                   z["case_id"].get<std::string>(), losses.front()["loss"].get<double>(),
                   losses.back()["loss"].get<double>(), losses.size(), z["early_stop"].get<bool>() ? " (early stop)" : "",
                   d["z_layer"].get<int64_t>(), z["delta_norm"].get<double>());
      }
      for (const auto& l : d["layers"]) {
        fmt::print("  layer {}: z error {:.4g} before its update, |dW| {:.4g}, |W| after {:.4g}\n",
                   l["layer"].get<int64_t>(), l["z_error"].get<double>(), l["update_norm"].get<double>(),
                   l["weight_norm"].get<double>());
      }
      fmt::print("  z {:.2f} s, layers {:.2f} s\n", d["seconds"]["z"].get<double>(),
                 d["seconds"]["total"].get<double>() - d["seconds"]["z"].get<double>());
      continue;
    }
    if (!e["diagnostics"].contains("layers")) {  // FT: mean loss per pass over the requests
      const auto& losses = e["diagnostics"]["losses"];
      fmt::print("  loss {:.4f} -> {:.4f} in {} passes, {} optimizer steps, max |dW| {:.3g}\n",
                 losses.front().get<double>(), losses.back().get<double>(), losses.size(),
                 e["diagnostics"]["optimizer_steps"].get<int64_t>(),
                 e["diagnostics"]["max_abs_weight_change"].get<double>());
      continue;
    }
    for (const auto& l : e["diagnostics"]["layers"]) {
      const auto& losses = l["losses"];
      const auto& s = l["seconds"];
      fmt::print(
          "  layer {}: v loss {:.4f} -> {:.4f} in {} evaluations{}, |delta| {:.3g}, |v| {:.3g}; compute_u {:.2f} s, "
          "compute_v {:.2f} s (prepare {:.2f}, forward {:.2f}, backward {:.2f})\n",
          l["layer"].get<int64_t>(), losses.front()["loss"].get<double>(), losses.back()["loss"].get<double>(),
          losses.size(), l["early_stop"].get<bool>() ? " (early stop)" : "", l["delta_norm"].get<double>(),
          l["v_norm"].get<double>(), s["compute_u"].get<double>(), s["total"].get<double>(), s["prepare"].get<double>(),
          s["forward"].get<double>(), s["backward"].get<double>());
    }
  }
}

void run_edit(const EditCliOptions& o, const GlobalOptions& global) {
  if (!o.save_dir.empty() && is_inference_method(*parse_edit_method(o.method))) {
    fail("--save: {} does not change the weights (it edits at inference), so there is no edited model to save",
         o.method);
  }
  auto m = load(global, o.model_dir);
  const auto device = m.model->device();
  reset_peak_device_memory(device);  // the peak below: the weights, the statistics and the edit
  auto requests = requests_of(o);
  // Probes run only when asked, so that the command's time is the edit's.
  const bool probing = o.probe_edits || !o.probes.empty();
  std::vector<std::string> probes;
  if (o.probe_edits) {
    for (const auto& r : requests) probes.push_back(r.sentence());
  }
  probes.insert(probes.end(), o.probes.begin(), o.probes.end());
  const std::vector<EditRequest> scored = o.probe_edits ? requests : std::vector<EditRequest>{};
  nlohmann::json before, after;
  double probe_seconds = 0;
  auto t = Clock::now();
  if (probing) before = observe(m, scored, probes, o);
  probe_seconds += seconds_since(t);
  t = Clock::now();
  auto editor = make_cli_editor(m, o);
  nlohmann::json setup_seconds = editor->setup_seconds();
  synchronize_device(device);  // a GPU's queued work counts where it was queued
  setup_seconds["total"] = seconds_since(t);
  t = Clock::now();
  auto edits = editor->apply(requests);
  synchronize_device(device);
  const double edit_seconds = seconds_since(t);
  const auto memory = device_memory(device);
  t = Clock::now();
  if (probing) after = observe(m, scored, probes, o);
  probe_seconds += seconds_since(t);
  nlohmann::json j = {{"method", o.method},
                      {"requests", nlohmann::json::array()},
                      {"edits", nlohmann::json::array()},
                      {"seconds", {{"setup", setup_seconds}, {"edit", edit_seconds}, {"probes", probe_seconds}}}};
  if (memory) {
    const int64_t weight_bytes = parameter_bytes(*m.model);
    j["device_memory"] = {{"device", device.str()},
                          {"weights_bytes", weight_bytes},
                          {"peak_allocated_bytes", memory->peak_allocated_bytes},
                          {"peak_reserved_bytes", memory->peak_reserved_bytes},
                          {"peak_vs_weights", static_cast<double>(memory->peak_allocated_bytes) / weight_bytes}};
  }
  for (const auto& r : requests) {
    j["requests"].push_back({{"case_id", r.case_id},
                             {"prompt", r.sentence()},
                             {"target_new", r.target_new},
                             {"target_true", r.target_true}});
  }
  if (probing) {
    j["beams"] = o.beams;
    j["before"] = std::move(before);
    j["after"] = std::move(after);
  }
  for (const auto& e : edits) {
    nlohmann::json ej = {{"method", std::string(method_name(e.method))},
                         {"seconds", e.seconds},
                         {"diagnostics", e.diagnostics},
                         {"weights", nlohmann::json::array()}};
    for (const auto& c : e.changes) ej["weights"].push_back(c.name);
    j["edits"].push_back(ej);
  }
  if (!o.save_dir.empty()) {
    save_loaded_model(m, o.save_dir);
    j["saved"] = o.save_dir;
  }
  if (o.json) {
    print_json(j);
  } else {
    print_text(j);
    if (!o.save_dir.empty()) fmt::print("edited model saved to {}\n", o.save_dir);
  }
}

}  // namespace

void setup_edit(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<EditCliOptions>();
  auto* sub = app.add_subcommand(
      "edit",
      "apply edits (ROME, r-ROME, MEMIT, EMMET, AlphaEdit, rome-patch, IKE, FT, FT-L); optionally probe and save");
  sub->footer(
      "apply ROME, r-ROME, MEMIT, EMMET, AlphaEdit, FT or FT-L edits: diagnostics and times; with --probe-edits / "
      "--probe, generations and target probabilities before and after; with --save, the edited model as a Hugging "
      "Face directory. ROME and r-ROME apply the requests one after another; MEMIT, EMMET and AlphaEdit edit them "
      "as one batch; FT trains on all of them together.");
  sub->add_option("--model", o->model_dir, "Hugging Face model directory")->required();
  sub->add_option("--method", o->method, fmt::format("{}", fmt::join(edit_method_names(), ", ")))
      ->check(CLI::IsMember(edit_method_names()))
      ->capture_default_str();
  sub->add_option("--hparams", o->hparams, "hyperparameters in ROME's JSON format (see configs/)")
      ->required()
      ->check(CLI::ExistingFile);
  auto* edit = sub->add_option("--edit", o->edit_file, "edit specs: a CounterFact record, a JSON array, or JSON Lines")
                   ->check(CLI::ExistingFile);
  sub->add_option("--prompt", o->prompt, "prompt with {} for the subject, e.g. \"{} is located in\"")->excludes(edit);
  sub->add_option("--subject", o->subject, "the subject, e.g. \"The Louvre\"")->excludes(edit);
  sub->add_option("--target-new", o->target_new, "the new object, e.g. Rome")->excludes(edit);
  sub->add_option("--target-true", o->target_true, "the true object, e.g. Paris (optional)")->excludes(edit);
  sub->add_flag("--probe-edits", o->probe_edits,
                "probe each edit's prompt before and after: its beam-search generation and the probabilities of "
                "target_new and target_true");
  sub->add_option("--probe", o->probes, "a prompt to generate from before and after the edit (repeatable)");
  sub->add_option("--beams", o->beams, "beam-search beams for the probes (1 = greedy)")
      ->check(CLI::Range(int64_t{1}, int64_t{64}))
      ->capture_default_str();
  auto* ml = sub->add_option("--max-length", o->max_length, "generation length incl. the prompt")
                 ->check(kPositive)
                 ->capture_default_str();
  sub->add_option("--max-new-tokens", o->max_new_tokens, "new tokens per generation (overrides --max-length)")
      ->check(kPositive)
      ->excludes(ml);
  sub->add_option("--save", o->save_dir, "write the edited model as a Hugging Face directory (any family; tokenizer files copied)");
  sub->add_flag("--json", o->json, "machine-readable output");
  sub->add_option("--stats", o->stats_file,
                  "ROME and the MEMIT family: second-moment statistics of the edited layer, when it is one (ROME's .npz or editlab's .safetensors)")
      ->check(CLI::ExistingFile);
  sub->add_option("--stats-corpus", o->stats_corpus, "ROME and the MEMIT family: compute the statistics of every edited layer from this corpus, in one pass (cached; default: the hyperparameters' mom2_dataset when it is a file, relative to the hparams file or the working directory)")
      ->check(CLI::ExistingFile);
  sub->add_option("--samples", o->samples, "ROME and the MEMIT family: texts of the corpus to use (default: mom2_n_samples)")
      ->check(kPositive);
  sub->add_option("--context-templates", o->context_templates, "ROME and the MEMIT family: context templates to use (JSON list; MEMIT's must include \"{}\")")
      ->check(CLI::ExistingFile);
  sub->add_option("--save-context-templates", o->save_context_templates, "ROME and the MEMIT family: write the templates used (JSON list)");
  sub->add_option("--template-seed", o->template_seed, "ROME and the MEMIT family: seed of the sampled context templates")
      ->capture_default_str();
  sub->add_option("--cache-dir", o->cache_dir,
                  "cache directory (default: $XDG_CACHE_HOME/editlab or ~/.cache/editlab)");
  sub->add_flag("--no-cache", o->no_cache, "neither read nor write cached statistics and templates");
  sub->callback([o, &global] { run_edit(*o, global); });
}

}  // namespace editlab::cli
