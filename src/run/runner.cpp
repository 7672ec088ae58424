#include "editlab/run/runner.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "editlab/edit/editor.h"
#include "editlab/edit/hparams.h"
#include "editlab/edit/request.h"
#include "editlab/model/model_dir.h"
#include "editlab/probe/record.h"
#include "editlab/probe/suites.h"
#include "editlab/util/atomic_file.h"
#include "editlab/util/error.h"
#include "editlab/util/hash.h"
#include "editlab/util/model_clock.h"
#include "editlab/util/progress.h"
#include "editlab/util/rng.h"
#include "editlab/util/steady_clock.h"
#include "loop.h"

namespace editlab {
namespace fs = std::filesystem;
namespace {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;
constexpr const char* kJournalSchema = "editlab.journal/1";

std::atomic<int> g_interrupts{0};
extern "C" void on_signal(int) { g_interrupts.fetch_add(1); }

// Installs the handlers for the run and restores the previous ones after it.
class SignalScope {
 public:
  explicit SignalScope(bool active) : active_(active) {
    if (!active_) return;
    g_interrupts = 0;
    old_int_ = std::signal(SIGINT, on_signal);
    old_term_ = std::signal(SIGTERM, on_signal);
  }
  ~SignalScope() {
    if (!active_) return;
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }

 private:
  bool active_;
  void (*old_int_)(int) = SIG_DFL;
  void (*old_term_)(int) = SIG_DFL;
};

Json shard_json(const std::optional<Shard>& shard) {
  if (!shard) return nullptr;
  return {{"index", shard->index}, {"count", shard->count}};
}

// The journal: a header line, then one record per line, each flushed as it is written.
class Journal {
 public:
  Journal(const fs::path& path, const Json& header, bool resume) : path_(path) {
    std::vector<std::string> lines;
    size_t good_bytes = 0;
    if (fs::exists(path)) {
      std::ifstream in(path, std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      // Complete lines only: a line without its newline was cut short by a crash.
      for (size_t start = 0; start < text.size();) {
        const auto nl = text.find('\n', start);
        if (nl == std::string::npos) break;
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
        good_bytes = start;
      }
    }
    Json h;
    if (!lines.empty()) {
      try {
        h = Json::parse(lines[0]);
      } catch (const nlohmann::json::exception&) {
        fail("{}: not an editlab journal (bad header line)", path.string());
      }
      if (h.value("journal", "") != kJournalSchema) fail("{}: not an editlab journal", path.string());
      if (lines.size() > 1 && !resume) {
        fail("{} already holds {} finished records: pass --resume to continue that run, or choose another --out",
             path.string(), lines.size() - 1);
      }
      if (lines.size() == 1 && !resume) lines.clear();  // a header alone: nothing to keep
    }
    if (!lines.empty()) {
      if (h["run_id"] != header["run_id"] || h["shard"] != header["shard"]) {
        fail(
            "{}: the journal belongs to a different run (another config, model, dataset, hyperparameters or "
            "shard); choose another --out",
            path.string());
      }
      for (size_t i = 1; i < lines.size(); ++i) {
        try {
          records_.push_back(nlohmann::json::parse(lines[i]));
        } catch (const nlohmann::json::exception& e) {
          fail("{}: line {} is not valid JSON ({}); the journal is damaged", path.string(), i + 1, e.what());
        }
      }
      fs::resize_file(path, good_bytes);
    }
    file_ = std::fopen(path.c_str(), "ab");
    if (!file_) fail("{}: cannot open the journal for writing", path.string());
    if (lines.empty()) {
      if (fs::file_size(path) > 0) fs::resize_file(path, 0);
      append(header);
    }
  }
  ~Journal() {
    if (file_) std::fclose(file_);
  }
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  template <typename J>
  void append(const J& j) {
    const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
      fail("{}: cannot write the journal (disk full?)", path_.string());
    }
  }
  std::vector<nlohmann::json>& records() { return records_; }

 private:
  fs::path path_;
  std::FILE* file_ = nullptr;
  std::vector<nlohmann::json> records_;
};

// Undoes the edits when it goes out of scope, however the record ends.
struct UndoGuard {
  std::vector<EditResult>& edits;
  ~UndoGuard() {
    for (auto it = edits.rbegin(); it != edits.rend(); ++it) undo(*it);
  }
};

// The independent loop: per record, probe the unedited model, apply the record's edits, probe,
// undo; each result appended to the journal as it is finished.
run_detail::LoopResult run_independent(const run_detail::LoopContext& ctx, const std::vector<int64_t>& todo,
                                       Journal& journal, const std::string& label) {
  using namespace run_detail;
  const auto& config = ctx.config;
  auto& model = *ctx.model.model;
  auto& tokenizer = *ctx.model.tokenizer;
  LoopResult out;
  RunningMeans means;
  int64_t failed = 0;
  for (const auto& r : journal.records()) {
    means.add(r);
    failed += r.value("status", "") != "ok";
  }
  Progress progress(label, static_cast<int64_t>(todo.size()), "records");
  for (int64_t index : todo) {
    if (ctx.stop_requested()) {
      out.interrupted = true;
      break;
    }
    const auto record_start = Clock::now();
    nlohmann::json result = {{"index", index}, {"case_id", case_id_of(ctx.dataset[index], index)}};
    double edit_seconds = 0, probe_seconds = 0;
    try {
      const auto record = parse_record(ctx, index);
      const RecordProbes probes(record, config.suites);
      const uint64_t seed = record_seed(config, index);
      auto t = Clock::now();
      const auto before = probes.observe(model, tokenizer, seed);
      probe_seconds += seconds_since(t);
      std::vector<EditResult> edits;
      nlohmann::json metrics;
      {
        UndoGuard guard{edits};
        if (ctx.editor) {
          t = Clock::now();
          edits = ctx.editor->apply(record.requests);
          edit_seconds = seconds_since(t);
          t = Clock::now();
          const auto after = probes.observe(model, tokenizer, seed);
          probe_seconds += seconds_since(t);
          metrics = probes.metrics(before, after);
        } else {
          metrics = probes.metrics(before, before);
        }
      }
      result["status"] = "ok";
      result["metrics"] = std::move(metrics["metrics"]);
      result["details"] = std::move(metrics["details"]);
      if (!edits.empty()) result["details"]["edit"] = edits.front().diagnostics;
      if (edits.size() > 1) {
        for (const auto& e : edits) result["details"]["edits"].push_back(e.diagnostics);
      }
    } catch (const std::exception& e) {
      mark_failed(result, e);
    }
    if (result["status"] == "failed") {
      ++failed;
      fmt::print(stderr, "\nrecord {} (case_id {}) failed: {}\n", index, result["case_id"].get<std::string>(),
                 result["error"].get<std::string>());
    }
    const double total = seconds_since(record_start);
    result["seconds"] = {
        {"edit", edit_seconds}, {"probe", probe_seconds}, {"other", total - edit_seconds - probe_seconds}};
    journal.append(result);
    means.add(result);
    journal.records().push_back(std::move(result));
    ++out.processed;
    progress.update(out.processed, means.text(failed));
  }
  if (ctx.stop_requested() && out.processed < static_cast<int64_t>(todo.size())) out.interrupted = true;
  progress.finish(means.text(failed));
  out.records = journal.records();
  return out;
}

}  // namespace

namespace run_detail {

std::string case_id_of(const nlohmann::json& record, int64_t index) {
  if (record.is_object() && record.contains("case_id") && !record["case_id"].is_null()) {
    return case_id_text(record["case_id"]);
  }
  return "#" + std::to_string(index);
}

uint64_t record_seed(const ExperimentConfig& config, int64_t index) {
  return mix_seed(config.seed ^ mix_seed(static_cast<uint64_t>(index)));
}

ProbeRecord parse_record(const LoopContext& ctx, int64_t index) {
  return parse_probe_record(ctx.dataset[index], fmt::format("{}: record {}", ctx.config.dataset.string(), index));
}

void mark_failed(nlohmann::json& result, const std::exception& e) {
  result["status"] = "failed";
  if (const auto* t = dynamic_cast<const c10::Error*>(&e)) {
    result["error"] = std::string("libtorch: ") + t->what_without_backtrace();
  } else {
    result["error"] = e.what();
  }
}

namespace {
const std::vector<std::pair<std::string, std::string>> kHeadline = {{"efficacy/success", "ES"},
                                                                    {"paraphrase/success", "PS"},
                                                                    {"specificity/NS", "NS"},
                                                                    {"specificity_plus/NS+", "NS+"},
                                                                    {"loud/rate", "loud"}};
}  // namespace

void RunningMeans::add(const nlohmann::json& record) {
  for (const auto& [name, label] : kHeadline) {
    if (const auto m = report::record_mean(record, name)) {
      auto& [sum, n] = sums_[name];
      sum += *m;
      ++n;
    }
  }
}

std::string RunningMeans::text(int64_t failed) const {
  std::string out;
  for (const auto& [name, label] : kHeadline) {
    const auto it = sums_.find(name);
    if (it != sums_.end()) out += fmt::format("{} {:.2f}  ", label, it->second.first / it->second.second);
  }
  if (failed > 0) out += fmt::format("failed {}", failed);
  return out;
}

}  // namespace run_detail

Shard Shard::parse(const std::string& text) {
  Shard s;
  const auto slash = text.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    size_t used = 0;
    s.index = std::stoll(text.substr(0, slash), &used);
    if (used != slash) throw std::invalid_argument("index");
    const auto rest = text.substr(slash + 1);
    s.count = std::stoll(rest, &used);
    if (used != rest.size()) throw std::invalid_argument("count");
  } catch (const std::exception&) {
    fail("--shard {}: expected K/N, e.g. 2/8", text);
  }
  if (s.count < 1 || s.index < 1 || s.index > s.count) fail("--shard {}: need 1 <= K <= N", text);
  return s;
}

std::string run_id(const ExperimentConfig& config, const std::string& model_fingerprint,
                   const std::string& dataset_hash, const nlohmann::json& hparams) {
  const Json key = {{"config", config.result_fields()},
                    {"model", model_fingerprint},
                    {"dataset", dataset_hash},
                    {"hparams", hparams}};
  return hash_bytes(key.dump());
}

RunOutcome run_experiment(const ExperimentConfig& config, const RunOptions& options) {
  const auto wall_start = Clock::now();
  SignalScope signals(options.handle_signals);

  const auto dataset = load_dataset(config.dataset);
  const auto dataset_hash = hash_file(config.dataset);
  const auto selected = select_records(config, dataset);
  std::vector<int64_t> assigned;
  const Shard shard = options.shard.value_or(Shard{});
  for (size_t p = 0; p < selected.size(); ++p) {
    if (static_cast<int64_t>(p) % shard.count == shard.index - 1) assigned.push_back(selected[p]);
  }

  if (config.sequential && shard.count > 1)
    fail("a sequential run cannot be sharded: every edit applies to the model the edits before it left");
  if (config.sequential && options.resume)
    fail("a sequential run cannot --resume: the earlier edits lived only in the interrupted process's model");

  LoadOptions load_options;
  load_options.dtype = config.dtype == "float64" ? torch::kFloat64 : torch::kFloat32;
  load_options.device = torch::Device(config.device);
  auto model = load_model(config.model, load_options);
  const auto fingerprint = model.fingerprint();
  nlohmann::json hparams_json = nullptr;
  if (config.method != "none") hparams_json = read_json_file(config.hparams, "hyperparameter file");
  const auto id = run_id(config, fingerprint, dataset_hash, hparams_json);

  fs::create_directories(config.out);
  std::optional<Journal> journal;
  std::vector<int64_t> todo;
  if (config.sequential) {
    // The run cannot resume: the earlier records' edits live only in the model's memory.
    const auto steps = config.out / "sequential.jsonl";
    if (fs::exists(steps) && fs::file_size(steps) > 0)
      fail("{} already holds a sequential run; choose another --out", steps.string());
    todo = assigned;
  } else {
    const Json header = {{"journal", kJournalSchema}, {"run_id", id}, {"shard", shard_json(options.shard)}};
    journal.emplace(config.out / "journal.jsonl", header, options.resume);
    std::set<int64_t> done;
    for (const auto& r : journal->records()) done.insert(r["index"].get<int64_t>());
    const std::set<int64_t> assigned_set(assigned.begin(), assigned.end());
    for (int64_t index : done) {
      if (!assigned_set.count(index))
        fail("{}: the journal holds record {}, which this run does not select", config.out.string(), index);
    }
    for (int64_t index : assigned) {
      if (!done.count(index)) todo.push_back(index);
    }
    if (!done.empty()) {
      fmt::print(stderr, "resuming: {} of {} records already in {}\n", done.size(), assigned.size(),
                 (config.out / "journal.jsonl").string());
    }
  }

  std::unique_ptr<Editor> editor;
  if (config.method != "none" && !todo.empty()) {
    RomeSetupOptions setup;
    if (!config.cache_dir.empty()) setup.cache_dir = config.cache_dir;
    setup.use_cache = config.cache;
    setup.context_templates_file = config.context_templates;
    setup.template_seed = config.template_seed;
    setup.stats_file = config.stats;
    setup.stats_corpus = config.stats_corpus;
    setup.samples = config.samples;
    setup.log = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
    setup.stats_progress = stderr_stats_progress();
    editor = make_editor(config.method, hparams_json, config.hparams.string(), *model.model, *model.tokenizer,
                         fingerprint, setup);
  }
  const double setup_seconds = seconds_since(wall_start);

  const run_detail::LoopContext ctx{config, dataset, model, editor.get(), [] { return g_interrupts.load() > 0; }};
  const auto loop_start = Clock::now();
  const double model_start = ModelClock::seconds();
  auto loop = config.sequential
                  ? run_detail::run_sequential(ctx, todo)
                  : run_independent(
                        ctx, todo, *journal,
                        fmt::format("{} {}", config.method,
                                    shard.count > 1 ? fmt::format("shard {}/{}", shard.index, shard.count) : "run"));
  const bool interrupted = loop.interrupted;
  const int64_t processed = loop.processed;
  if (interrupted) fmt::print(stderr, "interrupted: writing a partial report ({} records)\n", loop.records.size());
  const double loop_seconds = seconds_since(loop_start);
  const double model_seconds = ModelClock::seconds() - model_start;

  // The report: records by dataset index.
  auto records = std::move(loop.records);
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
    return a["index"].template get<int64_t>() < b["index"].template get<int64_t>();
  });
  double edit_total = 0, probe_total = 0, other_total = 0;
  int64_t ok = 0;
  for (const auto& r : records) {
    edit_total += r["seconds"]["edit"].get<double>();
    probe_total += r["seconds"]["probe"].get<double>();
    other_total += r["seconds"]["other"].get<double>();
    ok += r["status"] == "ok";
  }
  Json report;
  report["schema"] = report::kSchema;
  report["editlab_version"] = EDITLAB_VERSION;
  report["created"] = report::utc_now_iso8601();
  report["complete"] = !interrupted && records.size() == assigned.size();
  report["run_id"] = id;
  report["config"] = config.raw;
  report["model"] = {{"dir", config.model.string()},
                     {"fingerprint", fingerprint},
                     {"n_layer", model.config.n_layer},
                     {"n_embd", model.config.n_embd},
                     {"vocab_size", model.config.vocab_size}};
  report["hparams"] = editor ? editor->hparams() : hparams_json;
  report["dataset"] = {{"path", config.dataset.string()}, {"hash", dataset_hash}, {"records", dataset.size()}};
  report["selection"] = {{"total", selected.size()}, {"indices", assigned}};
  report["shard"] = shard_json(options.shard);
  report["bootstrap"] = {
      {"seed", config.bootstrap.seed}, {"resamples", config.bootstrap.resamples}, {"level", config.bootstrap.level}};
  report["summary"] = {{"records", records.size()}, {"ok", ok}, {"failed", static_cast<int64_t>(records.size()) - ok}};
  report["aggregates"] = report::aggregate(records, config.bootstrap);
  const double wall = seconds_since(wall_start);
  report["timings"] = {{"wall", wall},
                       {"setup", setup_seconds},
                       {"loop", loop_seconds},
                       {"edit", edit_total},
                       {"probe", probe_total},
                       {"other", other_total},
                       {"model", model_seconds},
                       {"model_share", loop_seconds > 0 ? model_seconds / loop_seconds : 0.0},
                       {"records_processed", processed},
                       {"records_per_second", loop_seconds > 0 ? processed / loop_seconds : 0.0}};
  if (!loop.sequential.is_null()) report["sequential"] = std::move(loop.sequential);
  report["records"] = records;
  write_file_atomically(config.out / "report.json", report::report_text(report));
  write_file_atomically(config.out / "summary.md", report::markdown_table({report}, {config.method}));
  return {std::move(report), interrupted};
}

}  // namespace editlab
