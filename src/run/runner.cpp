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
#include "editlab/edit/inference_edit.h"
#include "editlab/edit/request.h"
#include "editlab/model/model_dir.h"
#include "editlab/probe/record.h"
#include "editlab/probe/suites.h"
#include "editlab/run/journal.h"
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

// The ROME edits' time split summed over the records (compute_u; compute_v's pass without delta,
// its steps' forward and backward); null when no record holds a ROME edit.
Json rome_time_split(const std::vector<nlohmann::json>& records) {
  double u = 0, prepare = 0, forward = 0, backward = 0;
  bool any = false;
  auto add = [&](const nlohmann::json& edit) {
    if (!edit.is_object() || !edit.contains("layers")) return;
    for (const auto& layer : edit["layers"]) {
      if (!layer.contains("seconds")) continue;
      const auto& s = layer["seconds"];
      any = true;
      u += s.value("compute_u", 0.0);
      prepare += s.value("prepare", 0.0);
      forward += s.value("forward", 0.0);
      backward += s.value("backward", 0.0);
    }
  };
  for (const auto& r : records) {
    const auto d = r.find("details");
    if (d == r.end() || !d->is_object()) continue;
    if (d->contains("edits")) {
      for (const auto& e : (*d)["edits"]) add(e);
    } else if (d->contains("edit")) {
      add((*d)["edit"]);
    }
  }
  if (!any) return nullptr;
  return {{"compute_u", u}, {"v_prepare", prepare}, {"v_forward", forward}, {"v_backward", backward}};
}

// The records this process runs: all it is assigned for a sequential run (which keeps no journal;
// resumed, it starts its edits over); otherwise those the journal (opened here, resumed or fresh)
// does not hold.
std::vector<int64_t> records_to_run(const ExperimentConfig& config, const RunOptions& options,
                                    const std::vector<int64_t>& assigned, const std::string& id,
                                    std::optional<Journal>& journal) {
  std::vector<int64_t> todo;
  if (config.sequential) {
    const auto steps = config.out / "sequential.jsonl";
    if (!options.resume && fs::is_regular_file(steps) && fs::file_size(steps) > 0)
      fail(
          "{} already holds a sequential run; choose another output directory ({}), or {} to run it again "
          "from its saved baseline",
          steps.string(), setting_name(options.setting_names, "out"), setting_name(options.setting_names, "resume"));
    return assigned;
  }
  const Json header = {{"journal", kJournalSchema}, {"run_id", id}, {"shard", report::shard_json(options.shard)}};
  journal.emplace(config.out / "journal.jsonl", header, options.resume, options.setting_names);
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
               journal->path().string());
  }
  return todo;
}

// The editor of the config's method, with ROME's resources as the config's "rome" names them.
std::unique_ptr<Editor> make_run_editor(const ExperimentConfig& config, const nlohmann::json& hparams_json,
                                        LoadedModel& model, const std::vector<nlohmann::json>& dataset) {
  RomeSetupOptions setup;
  // rome-patch and ike wrap the model or the tokenizer (before the loop takes them from `model`);
  // IKE's demonstrations come from the dataset's records.
  setup.inference = prepare_inference_editing(*config.method, model);
  if (config.method == EditMethod::ike) setup.inference->facts = ike_facts(dataset);
  if (!config.cache_dir.empty()) setup.cache_dir = config.cache_dir;
  setup.use_cache = config.cache;
  setup.context_templates_file = config.context_templates;
  setup.template_seed = config.template_seed;
  setup.stats_file = config.stats;
  setup.stats_corpus = config.stats_corpus;
  setup.hparams_dir = config.hparams.parent_path();
  setup.setting_names = [](std::string_view field) {
    return fmt::format("\"rome\": {{\"{}\": FILE}} in the experiment config", field == "stats_file" ? "stats" : field);
  };
  setup.samples = config.samples;
  setup.log = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
  setup.stats_progress = stderr_stats_progress();
  return make_editor(*config.method, hparams_json, config.hparams.string(), *model.model, *model.tokenizer,
                     model.fingerprint(), setup);
}

// The report's "timings": `clock` (wall, setup, loop), the records' edit / probe / other sums,
// model time, the splits and the rates.
Json run_timings(const std::vector<nlohmann::json>& records, Json clock, double model_seconds, int64_t processed,
                 Json setup_split) {
  double edit = 0, probe = 0, other = 0;
  for (const auto& r : records) {
    edit += r["seconds"]["edit"].get<double>();
    probe += r["seconds"]["probe"].get<double>();
    other += r["seconds"]["other"].get<double>();
  }
  Json t = std::move(clock);
  t["edit"] = edit;
  t["probe"] = probe;
  t["other"] = other;
  t["model"] = model_seconds;
  t["records_processed"] = processed;
  t["setup_split"] = std::move(setup_split);
  if (auto split = rome_time_split(records); !split.is_null()) t["rome_split"] = std::move(split);
  report::add_rates(t, processed);
  return t;
}

// Undoes the edits when it goes out of scope, however the record ends.
struct UndoGuard {
  std::vector<EditResult>& edits;
  ~UndoGuard() {
    for (auto it = edits.rbegin(); it != edits.rend(); ++it) undo(*it);
  }
};

// A record's edit diagnostics in its result: several edits' under "edits", one edit's under "edit".
void attach_edit_details(nlohmann::json& result, nlohmann::json details) {
  if (details.contains("edits")) {
    result["details"]["edits"] = std::move(details["edits"]);
    details.erase("edits");
  }
  if (!details.is_null() && !details.empty()) result["details"]["edit"] = std::move(details);
}

struct Slot {
  int64_t index = 0;
  bool wanted = false;  // not yet in the journal
  nlohmann::json result;
  std::optional<ProbeRecord> record;
  std::optional<RecordProbes> probes;
  Observation before;
  uint64_t seed = 0;
  double edit_seconds = 0, probe_seconds = 0;
  std::optional<double> other_seconds;  // a group's share; else the record's own wall time less the rest
  Clock::time_point start;
};

// Records probed together: the independent loop with edit_batch 1 and record_batch > 1.
bool records_probed_together(const ExperimentConfig& config) {
  return !config.sequential && config.edit_batch <= 1 && config.record_batch > 1;
}

// Consecutive selected records handled together: an edit batch, or a group probed together.
// Shards take whole groups, and a resumed run forms the same groups, so the floating-point
// rounding of the shared batches is the same whichever way the run is cut.
int64_t group_size(const ExperimentConfig& config) {
  return records_probed_together(config) ? config.record_batch : std::max<int64_t>(1, config.edit_batch);
}

// The rank-one updates of a ROME / r-ROME edit ({layer, u, v} per layer); nullopt for the edits
// that are not only those (FT, MEMIT, editing at inference), which must be probed on the model.
std::optional<std::vector<RowEdits::Update>> rank_one_updates(const std::vector<EditResult>& edits) {
  std::vector<RowEdits::Update> out;
  for (const auto& e : edits) {
    if ((e.method != EditMethod::rome && e.method != EditMethod::r_rome) || e.rome.size() != e.changes.size() ||
        e.on_undo) {
      return std::nullopt;
    }
    for (const auto& r : e.rome) out.push_back({r.layer, r.u, r.v});
  }
  return out;
}

// One group of records probed together. Every record of the group is parsed, probed and edited,
// also those a resumed run has journaled already (they are computed again, not journaled), so
// that the shared batches are the same as in an uninterrupted run. The unedited observations of
// the whole group go through shared batches; then each record is edited and undone at once, its
// rank-one update kept, and all the updates are probed together, each on its own rows. A record
// whose edit is not rank-one is probed alone on the edited model before its undo. If a shared
// batch fails (one record's prompt too long, say), its records are probed one at a time so that
// only the guilty one fails.
void probe_record_group(const run_detail::LoopContext& ctx, std::vector<Slot>& slots) {
  using namespace run_detail;
  // Each record's "other" seconds: its share of the group's time that is neither edit nor probe.
  struct OtherShare {
    std::vector<Slot>& slots;
    Clock::time_point start = Clock::now();
    ~OtherShare() {
      double rest = seconds_since(start);
      for (const auto& s : slots) rest -= s.edit_seconds + s.probe_seconds;
      for (auto& s : slots) s.other_seconds = std::max(0.0, rest) / static_cast<double>(slots.size());
    }
  } other_share{slots};
  const auto& config = ctx.config;
  auto& model = *ctx.model.model;
  auto& tokenizer = *ctx.model.tokenizer;
  std::vector<Slot*> live;
  for (auto& s : slots) {
    s.start = Clock::now();
    s.result = {{"index", s.index}, {"case_id", case_id_of(ctx.dataset[s.index], s.index)}};
    try {
      s.record = parse_record(ctx, s.index);
      s.probes.emplace(*s.record, config.suites);
      s.seed = record_seed(config, s.index);
      live.push_back(&s);
    } catch (const std::exception& e) {
      mark_failed(s.result, e);
      s.probes.reset();
    }
  }
  // observe for `group` (each with its updates, or none), shared or, if that fails, one by one.
  auto observe_group = [&](const std::vector<Slot*>& group, const std::vector<std::vector<RowEdits::Update>>* updates,
                           std::vector<Observation>& out) -> std::vector<bool> {
    std::vector<const RecordProbes*> probes;
    std::vector<uint64_t> seeds;
    for (auto* s : group) {
      probes.push_back(&*s->probes);
      seeds.push_back(s->seed);
    }
    const auto t = Clock::now();
    std::vector<bool> ok(group.size(), true);
    try {
      out = RecordProbes::observe_many(probes, model, tokenizer, seeds, updates);
    } catch (const std::exception&) {
      out.assign(group.size(), Observation{});
      for (size_t k = 0; k < group.size(); ++k) {
        try {
          const std::vector<const RecordProbes*> one = {probes[k]};
          const std::vector<uint64_t> one_seed = {seeds[k]};
          std::vector<std::vector<RowEdits::Update>> one_update;
          if (updates) one_update = {(*updates)[k]};
          out[k] = RecordProbes::observe_many(one, model, tokenizer, one_seed, updates ? &one_update : nullptr).at(0);
        } catch (const std::exception& e) {
          mark_failed(group[k]->result, e);
          ok[k] = false;
        }
      }
    }
    const double share = seconds_since(t) / static_cast<double>(std::max<size_t>(1, group.size()));
    for (auto* s : group) s->probe_seconds += share;
    return ok;
  };
  auto finish = [&](Slot& s, const Observation& after, const std::vector<EditResult>* edits) {
    try {
      auto metrics = s.probes->metrics(s.before, after);
      s.result["status"] = "ok";
      s.result["metrics"] = std::move(metrics["metrics"]);
      s.result["details"] = std::move(metrics["details"]);
      if (edits != nullptr) {
        BatchEdits one;
        one.all = *edits;
        one.of_record.emplace_back(0, one.all.size());
        attach_edit_details(s.result, one.details_of(0, *s.record));
      }
    } catch (const std::exception& e) {
      mark_failed(s.result, e);
    }
  };

  std::vector<Observation> befores;
  const auto seen = observe_group(live, nullptr, befores);
  std::vector<Slot*> probed;
  for (size_t k = 0; k < live.size(); ++k) {
    if (!seen[k]) continue;
    live[k]->before = std::move(befores[k]);
    probed.push_back(live[k]);
  }
  if (!ctx.editor) {
    for (auto* s : probed) finish(*s, s->before, nullptr);
    return;
  }
  std::vector<Slot*> rank_one;
  std::vector<std::vector<RowEdits::Update>> updates;
  std::vector<std::vector<EditResult>> kept;
  // The records of one request, edited together where the method allows (ROME's v optimisations
  // in shared batches, nothing written); if that fails, record by record below, so that only the
  // guilty record fails.
  std::vector<Slot*> rest;
  {
    std::vector<Slot*> single;
    std::vector<EditRequest> requests;
    for (auto* s : probed) {
      if (s->record->requests.size() == 1) {
        single.push_back(s);
        requests.push_back(s->record->requests.front());
      } else {
        rest.push_back(s);
      }
    }
    std::optional<std::vector<EditResult>> together;
    const auto t = Clock::now();
    if (!single.empty()) {
      try {
        together = ctx.editor->updates_independent(requests);
      } catch (const std::exception&) {
        together.reset();
      }
    }
    if (together && together->size() == single.size()) {
      const double share = seconds_since(t) / static_cast<double>(single.size());
      for (size_t k = 0; k < single.size(); ++k) {
        auto& result = (*together)[k];
        std::vector<RowEdits::Update> u;
        for (const auto& r : result.rome) u.push_back({r.layer, r.u, r.v});
        single[k]->edit_seconds = share;
        rank_one.push_back(single[k]);
        updates.push_back(std::move(u));
        kept.push_back({std::move(result)});
      }
    } else {
      rest.insert(rest.begin(), single.begin(), single.end());
    }
  }
  // The others edited and undone one at a time; a rank-one update is kept for the shared probes.
  for (auto* s : rest) {
    std::vector<EditResult> edits;
    UndoGuard guard{edits};
    const auto t = Clock::now();
    try {
      edits = ctx.editor->apply(s->record->requests);
    } catch (const std::exception& e) {
      s->edit_seconds = seconds_since(t);
      mark_failed(s->result, e);
      continue;
    }
    s->edit_seconds = seconds_since(t);
    if (auto u = rank_one_updates(edits)) {
      rank_one.push_back(s);
      updates.push_back(std::move(*u));
      for (auto it = edits.rbegin(); it != edits.rend(); ++it) undo(*it);
      for (auto& e : edits) e.changes.clear();  // undone: only the diagnostics are kept, not the weights' copies
      kept.push_back(std::move(edits));
      edits.clear();
    } else {
      // Probed alone on the edited model, then undone by the guard.
      std::vector<Observation> after;
      if (observe_group({s}, nullptr, after).at(0)) finish(*s, after[0], &edits);
    }
  }
  std::vector<Observation> afters;
  const auto measured = observe_group(rank_one, &updates, afters);
  for (size_t k = 0; k < rank_one.size(); ++k) {
    if (measured[k]) finish(*rank_one[k], afters[k], &kept[k]);
  }
}

// The independent loop: per edit batch (one record unless edit_batch says more), probe the
// unedited model, apply the batch's edits, probe, undo; each record's result appended to the
// journal as its batch is finished. Batches are consecutive runs of edit_batch records of
// `assigned`, so a resumed run edits the same batches (a batch cut by an interrupt is edited
// again whole, and only its missing records are journaled).
run_detail::LoopResult run_independent(const run_detail::LoopContext& ctx, const std::vector<int64_t>& assigned,
                                       const std::vector<int64_t>& todo, Journal& journal, const std::string& label) {
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
  const std::set<int64_t> pending(todo.begin(), todo.end());
  const bool record_groups = records_probed_together(config);
  const auto batch_size = static_cast<size_t>(group_size(config));
  Progress progress(label, static_cast<int64_t>(todo.size()), "records");
  for (size_t b = 0; b < assigned.size(); b += batch_size) {
    std::vector<Slot> slots;
    for (size_t p = b; p < std::min(assigned.size(), b + batch_size); ++p) {
      Slot s;
      s.index = assigned[p];
      s.wanted = pending.count(s.index) > 0;
      slots.push_back(std::move(s));
    }
    if (std::none_of(slots.begin(), slots.end(), [](const Slot& s) { return s.wanted; })) continue;
    if (ctx.stop_requested()) {
      out.interrupted = true;
      break;
    }
    if (record_groups) {
      probe_record_group(ctx, slots);
    } else {
      // Parse every record of the batch (the batch edits them all); probe the wanted ones unedited.
      std::vector<const ProbeRecord*> editable;
      std::vector<size_t> editable_slot;
      for (size_t k = 0; k < slots.size(); ++k) {
        auto& s = slots[k];
        s.start = Clock::now();
        s.result = {{"index", s.index}, {"case_id", case_id_of(ctx.dataset[s.index], s.index)}};
        try {
          s.record = parse_record(ctx, s.index);
          if (s.wanted) {
            s.probes.emplace(*s.record, config.suites);
            s.seed = record_seed(config, s.index);
            const auto t = Clock::now();
            s.before = s.probes->observe(model, tokenizer, s.seed);
            s.probe_seconds += seconds_since(t);
          }
        } catch (const std::exception& e) {
          mark_failed(s.result, e);
          s.probes.reset();
        }
        if (s.record) {
          editable.push_back(&*s.record);
          editable_slot.push_back(k);
        }
      }
      {
        BatchEdits edits;
        UndoGuard guard{edits.all};
        bool edit_failed = false;
        if (ctx.editor && !editable.empty()) {
          const auto t = Clock::now();
          try {
            edits = apply_batch(*ctx.editor, editable);
          } catch (const std::exception& e) {
            edit_failed = true;
            for (auto& s : slots) {
              if (s.wanted && s.probes) mark_failed(s.result, e);
            }
          }
          const double seconds = seconds_since(t) / static_cast<double>(editable.size());
          for (size_t k : editable_slot) slots[k].edit_seconds = seconds;
        }
        for (size_t e = 0; e < editable.size() && !edit_failed; ++e) {
          auto& s = slots[editable_slot[e]];
          if (!s.wanted || !s.probes) continue;
          try {
            nlohmann::json metrics;
            if (ctx.editor) {
              const auto t = Clock::now();
              const auto after = s.probes->observe(model, tokenizer, s.seed);
              s.probe_seconds += seconds_since(t);
              metrics = s.probes->metrics(s.before, after);
            } else {
              metrics = s.probes->metrics(s.before, s.before);
            }
            s.result["status"] = "ok";
            s.result["metrics"] = std::move(metrics["metrics"]);
            s.result["details"] = std::move(metrics["details"]);
            if (ctx.editor) {
              attach_edit_details(s.result, edits.details_of(e, *s.record));
            }
          } catch (const std::exception& ex) {
            mark_failed(s.result, ex);
          }
        }
      }
    }
    for (auto& s : slots) {
      if (!s.wanted) continue;
      if (s.result.value("status", "") != "ok") {
        ++failed;
        fmt::print(stderr, "\nrecord {} (case_id {}) failed: {}\n", s.index, s.result["case_id"].get<std::string>(),
                   s.result["error"].get<std::string>());
      }
      const double total = seconds_since(s.start);
      s.result["seconds"] = {
          {"edit", s.edit_seconds},
          {"probe", s.probe_seconds},
          {"other", s.other_seconds.value_or(std::max(0.0, total - s.edit_seconds - s.probe_seconds))}};
      journal.append(s.result);
      means.add(s.result);
      journal.records().push_back(std::move(s.result));
      ++out.processed;
    }
    progress.update(out.processed, means.text(failed));
  }
  if (ctx.stop_requested() && out.processed < static_cast<int64_t>(todo.size())) out.interrupted = true;
  progress.finish(means.text(failed));
  out.records = journal.records();
  return out;
}

}  // namespace

namespace run_detail {

BatchEdits apply_batch(Editor& editor, const std::vector<const ProbeRecord*>& records) {
  BatchEdits out;
  if (is_batch_method(editor.method())) {
    std::vector<EditRequest> requests;
    for (const auto* r : records) requests.insert(requests.end(), r->requests.begin(), r->requests.end());
    out.all = editor.apply(requests);
    out.shared = true;
    for (size_t i = 0; i < records.size(); ++i) out.of_record.emplace_back(0, out.all.size());
    return out;
  }
  for (const auto* r : records) {
    auto results = editor.apply(r->requests);
    const size_t begin = out.all.size();
    for (auto& e : results) out.all.push_back(std::move(e));
    out.of_record.emplace_back(begin, out.all.size());
  }
  return out;
}

nlohmann::json BatchEdits::details_of(size_t record, const ProbeRecord& r) const {
  const auto [begin, end] = of_record.at(record);
  if (begin == end) return nullptr;
  if (!shared) {
    nlohmann::json d = all[begin].diagnostics;
    if (end - begin > 1) {
      d = {{"edits", nlohmann::json::array()}};
      for (size_t i = begin; i < end; ++i) d["edits"].push_back(all[i].diagnostics);
    }
    return d;
  }
  // One result for the batch: its layers, and the z diagnostics of this record's own requests.
  nlohmann::json d = all[begin].diagnostics;
  if (d.contains("z")) {
    nlohmann::json own = nlohmann::json::array();
    for (const auto& z : d["z"]) {
      for (const auto& q : r.requests) {
        if (z.value("case_id", "") == q.case_id) {
          own.push_back(z);
          break;
        }
      }
    }
    d["z"] = std::move(own);
  }
  d["batch_records"] = of_record.size();
  return d;
}

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

std::string run_id(const ExperimentConfig& config, const std::string& model_fingerprint,
                   const std::string& dataset_hash, const nlohmann::json& hparams) {
  const Json key = {{"config", config.result_fields()},
                    {"model", model_fingerprint},
                    {"dataset", dataset_hash},
                    {"hparams", hparams}};
  return hash_bytes(key.dump());
}

// About 90 lines on purpose: the run's steps in the order they happen (select, load, journal,
// editor, loop, report), each of them a function above or in its own file.
RunOutcome run_experiment(const ExperimentConfig& config, const RunOptions& options) {
  const auto wall_start = Clock::now();
  SignalScope signals(options.handle_signals);

  const auto dataset = load_dataset(config.dataset);
  const auto dataset_hash = hash_file(config.dataset);
  const auto selected = select_records(config, dataset);
  std::vector<int64_t> assigned;
  const Shard shard = options.shard.value_or(Shard{});
  // Shards take whole groups (edit batches, or records probed together) in turn.
  for (size_t p = 0; p < selected.size(); ++p) {
    const auto batch = static_cast<int64_t>(p) / group_size(config);
    if (batch % shard.count == shard.index - 1) assigned.push_back(selected[p]);
  }

  if (config.sequential && shard.count > 1)
    fail("a sequential run cannot be sharded: every edit applies to the model the edits before it left");

  LoadOptions load_options;
  load_options.dtype = config.dtype;
  load_options.device = config.device;
  auto model = load_model(config.model, load_options);
  Json setup_split = {{"load", seconds_since(wall_start)}};
  const auto fingerprint = model.fingerprint();
  nlohmann::json hparams_json = nullptr;
  if (config.method) hparams_json = read_hparams_file(config.hparams);
  const auto id = run_id(config, fingerprint, dataset_hash, hparams_json);

  fs::create_directories(config.out);
  std::optional<Journal> journal;
  const auto todo = records_to_run(config, options, assigned, id, journal);

  std::unique_ptr<Editor> editor;
  if (config.method && !todo.empty()) {
    editor = make_run_editor(config, hparams_json, model, dataset);
    const auto editor_setup = editor->setup_seconds();  // items() of a temporary would dangle
    for (const auto& [part, seconds] : editor_setup.items()) setup_split[part] = seconds;
  }
  const double setup_seconds = seconds_since(wall_start);

  run_detail::LoopContext ctx{config, dataset, model, editor.get(), [] { return g_interrupts.load() > 0; }};
  ctx.run_id = id;
  ctx.resume = options.resume;
  const auto loop_start = Clock::now();
  const double model_start = ModelClock::seconds();
  auto loop = config.sequential
                  ? run_detail::run_sequential(ctx, todo)
                  : run_independent(
                        ctx, assigned, todo, *journal,
                        fmt::format("{} {}", config.method_label(),
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
  // A resumed run with nothing left to edit makes no editor; its report holds the same hparams.
  report["hparams"] = editor            ? editor->hparams()
                      : config.method ? normalized_hparams(*config.method, hparams_json, config.hparams.string())
                                      : hparams_json;
  report["dataset"] = {{"path", config.dataset.string()}, {"hash", dataset_hash}, {"records", dataset.size()}};
  report["selection"] = {{"total", selected.size()}, {"indices", assigned}};
  report["shard"] = report::shard_json(options.shard);
  report["bootstrap"] = {
      {"seed", config.bootstrap.seed}, {"resamples", config.bootstrap.resamples}, {"level", config.bootstrap.level}};
  report["summary"] = report::summarize(records);
  report["aggregates"] = report::aggregate(records, config.bootstrap);
  const double wall = seconds_since(wall_start);
  report["timings"] = run_timings(records, {{"wall", wall}, {"setup", setup_seconds}, {"loop", loop_seconds}},
                                  model_seconds, processed, std::move(setup_split));
  if (!loop.sequential.is_null()) report["sequential"] = std::move(loop.sequential);
  report["records"] = records;
  write_file_atomically(config.out / "report.json", report::report_text(report));
  write_file_atomically(config.out / "summary.md", report::markdown_table({report}, {config.method_label()}));
  if (!loop.spill_file.empty()) {
    std::error_code ec;
    fs::remove(loop.spill_file, ec);
  }
  return {std::move(report), interrupted};
}

}  // namespace editlab
