// editlab trace: causal tracing (ROME's Figures 1-2) of one prompt or of a dataset's records.
#include <chrono>
#include <filesystem>

#include "common.h"
#include "editlab/probe/record.h"
#include "editlab/trace/causal_trace.h"
#include "editlab/util/atomic_file.h"
#include "editlab/util/error.h"
#include "editlab/util/progress.h"
#include "editlab/util/rng.h"
#include "editlab/util/steady_clock.h"

namespace editlab::cli {
namespace {

struct TraceCliOptions {
  std::string model_dir, prompt, subject, answer, dataset, out;
  int64_t limit = 0;
  std::vector<std::string> kinds{"hidden", "mlp", "attn"};
  int64_t samples = 10;
  double noise_level = 3.0;
  double embedding_std = 0;
  int64_t window = 0;
  uint64_t seed = 0;
  bool include_unknown = false;
  bool json = false;
};

std::vector<TraceInput> inputs_of(const TraceCliOptions& opt) {
  std::vector<TraceInput> inputs;
  if (opt.dataset.empty()) {
    inputs.push_back({"", opt.prompt, opt.subject, opt.answer});
    return inputs;
  }
  const auto records = load_dataset(opt.dataset);
  for (size_t i = 0; i < records.size(); ++i) {
    const auto request = parse_edit_request(records[i], fmt::format("{}: record {}", opt.dataset, i));
    if (request.target_true.empty()) {
      fail("{}: record {} (case_id {}) has no target_true, the answer to trace", opt.dataset, i, request.case_id);
    }
    inputs.push_back({request.case_id, request.sentence(), request.subject, request.target_true});
  }
  if (inputs.empty()) fail("{}: the dataset has no records", opt.dataset);
  return inputs;
}

void print_grid(const PromptTrace& t, const Tokenizer& tokenizer) {
  fmt::print("{} -> \"{}\"  p_clean {:.4f}  p_corrupt {:.4f}{}\n", nlohmann::json(t.input.prompt).dump(),
             tokenizer.token_bytes(t.answer_id), t.p_clean, t.p_corrupt,
             known(t) ? "" : fmt::format("  (top-1 is \"{}\")", tokenizer.token_bytes(t.predicted_id)));
  for (size_t k = 0; k < t.kinds.size(); ++k) {
    const auto& grid = t.restored[k];
    fmt::print("  IE, {} (rows: tokens, columns: layers; * subject)\n", trace_kind_name(t.kinds[k]));
    for (int64_t i = 0; i < grid.size(0); ++i) {
      const bool subject = i >= t.subject_begin && i < t.subject_end;
      const auto token = nlohmann::json(replace_invalid_utf8(tokenizer.token_bytes(t.ids[i]))).dump();
      fmt::print("    {:>14}{} ", token, subject ? "*" : " ");
      for (int64_t l = 0; l < grid.size(1); ++l) fmt::print(" {:+.3f}", grid[i][l].item<double>() - t.p_corrupt);
      fmt::print("\n");
    }
  }
}

void print_summary(const TraceSummary& s) {
  fmt::print("{} of {} prompts averaged ({}); mean p_clean {:.4f}, p_corrupt {:.4f}\n", s.averaged, s.prompts,
             s.include_unknown ? "all" : "known facts", s.p_clean_mean, s.p_corrupt_mean);
  for (const auto& k : s.kinds) {
    fmt::print("  {:<6} last subject token: IE peaks at layer {} ({:+.4f}); last token there {:+.4f}\n",
               trace_kind_name(k.kind), k.peak_layer, k.peak_ie, k.last_token_ie_at_peak);
    for (size_t g = 0; g < kTraceGroups.size(); ++g) {
      fmt::print("    {:<17}", kTraceGroups[g]);
      for (double v : k.mean_ie[g]) fmt::print(" {:+.3f}", v);
      fmt::print("  ({} rows)\n", k.rows[g]);
    }
  }
}

// Long (about 100 lines) on purpose: the command's two forms (one prompt, a dataset) share the
// model, the noise level and the output writing, in the order the user reads them.
void run_trace(const TraceCliOptions& opt, const GlobalOptions& global) {
  const auto start = std::chrono::steady_clock::now();
  if (opt.dataset.empty() == opt.prompt.empty()) fail("trace needs either --prompt and --subject, or --dataset");
  if (!opt.prompt.empty() && opt.subject.empty()) fail("--prompt needs --subject (the tokens to corrupt)");
  if (!opt.dataset.empty() && (!opt.subject.empty() || !opt.answer.empty())) {
    fail("--subject and --answer go with --prompt; a dataset's records carry their own");
  }
  TraceOptions options;
  options.kinds.clear();
  for (const auto& k : opt.kinds) {
    const auto kind = parse_trace_kind(k);
    if (std::find(options.kinds.begin(), options.kinds.end(), kind) != options.kinds.end()) {
      fail("trace kind \"{}\" is given twice", k);
    }
    options.kinds.push_back(kind);
  }
  options.samples = opt.samples;
  options.noise_level = opt.noise_level;
  options.window = opt.window;
  auto inputs = inputs_of(opt);  // before loading the model: bad input fails fast

  auto loaded = load(global, opt.model_dir);
  auto& model = *loaded.model;
  const auto& tokenizer = *loaded.tokenizer;
  if (opt.embedding_std > 0) {
    options.embedding_std = opt.embedding_std;
  } else {
    std::vector<std::string> subjects;  // every record's, also beyond --limit (the reference uses all)
    for (const auto& in : inputs) subjects.push_back(in.subject);
    options.embedding_std = subject_embedding_std(model, tokenizer, subjects);
  }
  if (opt.limit > 0 && static_cast<size_t>(opt.limit) < inputs.size()) inputs.resize(opt.limit);
  const CausalTracer tracer(model, tokenizer, options);
  const double setup_s = seconds_since(start);

  std::vector<PromptTrace> traces;
  nlohmann::json skipped = nlohmann::json::array();
  Progress progress("trace", static_cast<int64_t>(inputs.size()) * tracer.forwards_per_prompt(), "forwards");
  int64_t done = 0;
  const auto trace_start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const uint64_t seed = mix_seed(opt.seed ^ mix_seed(i));
    try {
      traces.push_back(tracer.trace(inputs[i], seed, [&] { progress.update(++done); }));
    } catch (const Error& e) {
      if (opt.dataset.empty()) throw;
      // One bad record (a subject ROME cannot locate) is named and skipped, not the whole run.
      fmt::print(stderr, "editlab: warning: {}: record {} (case_id {}) skipped: {}\n", opt.dataset, i,
                 inputs[i].case_id, e.what());
      skipped.push_back({{"index", i}, {"case_id", inputs[i].case_id}, {"error", e.what()}});
      done += tracer.forwards_per_prompt();
      progress.update(done);
    }
  }
  progress.finish();
  const double trace_s = seconds_since(trace_start);
  if (traces.empty()) fail("{}: no record could be traced", opt.dataset);
  const auto summary = summarize_traces(traces, opt.include_unknown);

  std::vector<std::string> kind_names;
  for (auto k : options.kinds) kind_names.emplace_back(trace_kind_name(k));
  nlohmann::json prompts = nlohmann::json::array();
  for (const auto& t : traces) prompts.push_back(prompt_trace_json(t, tokenizer));
  // No clock readings in the file: the same inputs and seed give the same bytes.
  const nlohmann::json doc = {
      {"schema", "editlab.trace/1"},
      {"editlab_version", EDITLAB_VERSION},
      {"model", {{"dir", loaded.dir.string()}, {"n_layer", model.shape().n_layer}, {"dtype", global.dtype}}},
      {"input", opt.dataset.empty() ? nlohmann::json{{"prompt", opt.prompt}}
                                    : nlohmann::json{{"dataset", opt.dataset}, {"limit", opt.limit}}},
      {"parameters",
       {{"kinds", kind_names},
        {"samples", options.samples},
        {"noise_level", options.noise_level},
        {"embedding_std", options.embedding_std},
        {"noise_std", options.noise_level * options.embedding_std},
        {"window", tracer.window()},
        {"seed", opt.seed},
        {"noise_site", "token embeddings (wte output) of the subject's tokens"},
        {"answer", opt.dataset.empty() && opt.answer.empty() ? "model top-1" : "first token of \" \" + answer"}}},
      {"summary", trace_summary_json(summary)},
      {"skipped", skipped},
      {"prompts", prompts}};
  std::filesystem::create_directories(opt.out);
  const auto path = std::filesystem::path(opt.out) / "trace.json";
  write_file_atomically(path, doc.dump(1) + "\n");

  const double per_prompt = trace_s / static_cast<double>(inputs.size());
  if (opt.json) {
    auto j = trace_summary_json(summary);
    j["trace"] = path.string();
    j["skipped"] = skipped.size();
    j["seconds"] = {{"setup", setup_s}, {"trace", trace_s}, {"per_prompt", per_prompt}};
    print_json(j);
    return;
  }
  if (traces.size() == 1) print_grid(traces[0], tokenizer);
  print_summary(summary);
  fmt::print("wrote {} ({} traced, {} skipped; {:.2f} s per prompt, setup {:.1f} s)\n", path.string(), traces.size(),
             skipped.size(), per_prompt, setup_s);
}

}  // namespace

void setup_trace(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<TraceCliOptions>();
  auto* sub = app.add_subcommand(
      "trace",
      "causal tracing: where the model recalls a fact");
  sub->footer(
      "causal tracing (ROME, Meng et al. 2022): corrupt the subject's token embeddings with noise, restore one "
      "clean state at a time (hidden: the residual after a block; mlp / attn: a window of MLP / attention outputs) "
      "and measure p(answer); writes OUT/trace.json"
      "\n\n"
      "Indirect effect IE(token, layer) = p_restored - p_corrupt. Over a dataset, the known facts (the model's "
      "top-1 is the answer) are averaged per layer for ROME's six token groups, and the layer where the last "
      "subject token's IE peaks is reported per kind. scripts/plot_trace.py draws the heatmaps.");
  sub->add_option("--model", opt->model_dir, "Hugging Face model directory")->required();
  sub->add_option("--prompt", opt->prompt, "a prompt with the subject in it, e.g. \"The Louvre is located in\"");
  sub->add_option("--subject", opt->subject, "the subject in --prompt (its first occurrence is corrupted)");
  sub->add_option("--answer", opt->answer, "the answer whose first token is traced (default: the model's top-1)");
  sub->add_option("--dataset", opt->dataset,
                  "CounterFact-style records (JSON, JSON Lines): each record's rewrite prompt, subject and "
                  "target_true");
  sub->add_option("--limit", opt->limit, "trace the first N records only")->check(kNonNegative);
  sub->add_option("--kinds", opt->kinds, "states to restore, comma-separated: hidden, mlp, attn")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--samples", opt->samples, "noise draws per prompt")->capture_default_str();
  sub->add_option("--noise-level", opt->noise_level, "noise std in units of the subjects' embedding std")
      ->capture_default_str();
  sub->add_option("--embedding-std", opt->embedding_std,
                  "the embedding std itself (default: measured over the dataset's subjects, or --subject)");
  sub->add_option("--window", opt->window,
                  "layers restored together for mlp and attn (default: max(1, round(10 n_layer / 48)), 10 for "
                  "GPT-2 XL)")
      ->check(kPositive);
  sub->add_option("--seed", opt->seed, "noise seed (each prompt draws its own stream from it)")->capture_default_str();
  sub->add_flag("--include-unknown", opt->include_unknown,
                "average every prompt, not only those whose answer is the model's top-1");
  sub->add_option("--out", opt->out, "directory for trace.json")->required();
  sub->add_flag("--json", opt->json, "print the summary as JSON on stdout");
  sub->callback([opt, &global] { run_trace(*opt, global); });
}

}  // namespace editlab::cli
