// The sequential loop of `editlab run` ("sequential" in the experiment config): the selected
// records' edits accumulate in dataset order, nothing is undone, and after every `every` edits
// (and after the last) every record edited so far is probed again and scored against its
// baseline: its probes on the *unedited* model, observed once before any edit. Scoring against
// the model as it was just before the record's own edit (already edited by the records before
// it) would hide the drift that sequential editing causes in locality (NKL, loud facts); editlab
// never does that.
//
// The baseline's next-token distributions (for NKL) go to out/baseline.bin as they are observed
// and are read back record by record when metrics are computed (baseline_file.h): memory holds
// one record group's distributions at a time, whatever the number of records. A resumed run
// reuses the file when it is complete and was written for the same run; the edits start over.
#include <fstream>
#include <memory>
#include <optional>

#include "baseline_file.h"
#include "editlab/probe/suites.h"
#include "editlab/report/report.h"
#include "editlab/util/error.h"
#include "editlab/util/hash.h"
#include "editlab/util/progress.h"
#include "editlab/util/steady_clock.h"
#include "loop.h"

namespace editlab::run_detail {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace {

struct Item {
  int64_t index = 0;
  nlohmann::json result;
  std::optional<ProbeRecord> record;
  std::unique_ptr<RecordProbes> probes;
  Observation baseline;  // trimmed (trim_baseline): its distributions are in the baseline file
  SpilledRows spilled;
  uint64_t seed = 0;
  nlohmann::json edit_diagnostics;
  double edit_seconds = 0, probe_seconds = 0;
  int64_t measured_after = 0;  // the number of edits in the model when its metrics were taken
};

// The items' observations on the model as it is, in shared batches (RecordProbes::observe_many);
// if that fails, one by one, so that only the failing record's is missing (its result marked
// failed with the error).
std::vector<std::optional<Observation>> observe_items(const std::vector<Item*>& group, LanguageModel& model,
                                                      const Tokenizer& tokenizer) {
  std::vector<std::optional<Observation>> out(group.size());
  std::vector<const RecordProbes*> probes;
  std::vector<uint64_t> seeds;
  for (auto* it : group) {
    probes.push_back(it->probes.get());
    seeds.push_back(it->seed);
  }
  try {
    auto observations = RecordProbes::observe_many(probes, model, tokenizer, seeds);
    for (size_t k = 0; k < group.size(); ++k) out[k] = std::move(observations[k]);
    return out;
  } catch (const std::exception&) {
  }
  for (size_t k = 0; k < group.size(); ++k) {
    try {
      out[k] = group[k]->probes->observe(model, tokenizer, group[k]->seed);
    } catch (const std::exception& e) {
      mark_failed(group[k]->result, e);
    }
  }
  return out;
}

// A record before its baseline: parsed and planned, or failed.
Item make_item(const LoopContext& ctx, int64_t index) {
  Item it;
  it.index = index;
  it.result = {{"index", index}, {"case_id", case_id_of(ctx.dataset[index], index)}};
  try {
    it.record = parse_record(ctx, index);
    it.probes = std::make_unique<RecordProbes>(*it.record, ctx.config.suites);
    it.seed = record_seed(ctx.config, index);
  } catch (const std::exception& e) {
    mark_failed(it.result, e);
    it.probes.reset();
  }
  return it;
}

// What determines the baseline: the run (config, model, dataset, hparams), its records in their
// order, and what changes its rounding: record_batch (shared batches), the dtype and the device.
std::string baseline_key(const LoopContext& ctx, const std::vector<int64_t>& order) {
  const nlohmann::json key = {{"run_id", ctx.run_id},
                              {"records", order},
                              {"record_batch", ctx.config.record_batch},
                              {"dtype", c10::toString(ctx.config.dtype)},
                              {"device", ctx.config.device.str()}};
  return hash_bytes(key.dump());
}

// A record's entry in the baseline file's index: what the loop keeps of its baseline, or its error.
nlohmann::json baseline_entry(const Item& it) {
  nlohmann::json e = {{"index", it.index}};
  if (it.probes) {
    e["rows"] = BaselineFile::rows_json(it.spilled);
    e["observation"] = baseline_json(it.baseline);
    e["probe_seconds"] = it.probe_seconds;
  } else {
    e["error"] = it.result.value("error", "");
  }
  return e;
}

// The records' states from a complete baseline file (a resumed run): parsed and planned again,
// their kept baselines and failures as the file holds them.
std::vector<Item> items_from_file(const LoopContext& ctx, const std::vector<int64_t>& order, const BaselineFile& file) {
  const auto& entries = file.records();
  if (entries.size() != order.size())
    fail("{}: {} records, the run has {}", file.path().string(), entries.size(), order.size());
  std::vector<Item> items;
  for (size_t p = 0; p < order.size(); ++p) {
    auto& it = items.emplace_back(make_item(ctx, order[p]));
    const auto& e = entries[p];
    if (e.value("index", int64_t{-1}) != it.index)
      fail("{}: entry {} is record {}, the run's is {}", file.path().string(), p, e.value("index", int64_t{-1}),
           it.index);
    if (!it.probes) continue;  // its record failed to parse or plan, again
    if (e.contains("observation")) {
      it.baseline = baseline_of(e["observation"]);
      it.spilled = BaselineFile::rows_of(e);
      it.probe_seconds = e.value("probe_seconds", 0.0);
    } else {
      it.result["status"] = "failed";
      it.result["error"] = e.value("error", "the baseline probes failed");
      it.probes.reset();
    }
  }
  return items;
}

}  // namespace

// Long (about 210 lines) on purpose: its three phases (baseline, edits, measurement steps) share
// the record states and the step bookkeeping; split, they would pass most of this scope around.
LoopResult run_sequential(const LoopContext& ctx, const std::vector<int64_t>& order) {
  const auto& config = ctx.config;
  const auto& seq = *config.sequential;
  auto& model = *ctx.model.model;
  auto& tokenizer = *ctx.model.tokenizer;
  LoopResult out;

  // The steps as they are measured, one JSON line each, so a long run shows its curve early.
  const fs::path steps_path = config.out / "sequential.jsonl";
  std::ofstream steps_file(steps_path, std::ios::trunc);
  if (!steps_file) fail("{}: cannot write", steps_path.string());

  // 1. The baseline: every record's probes on the unedited model, record_batch records at a time,
  // their distributions spilled to the baseline file; or all of it read back from that file.
  const fs::path spill_path = config.out / "baseline.bin";
  const std::string key = baseline_key(ctx, order);
  std::optional<BaselineFile> spill;
  if (ctx.resume) {
    std::string why;
    if (auto opened = BaselineFile::open(spill_path, key, why)) {
      spill.emplace(std::move(*opened));
      fmt::print(stderr, "resuming: the baseline of {} records is read from {}; the edits start over\n", order.size(),
                 spill_path.string());
    } else {
      fmt::print(stderr, "resuming: the baseline is observed again ({}: {}); the edits start over\n",
                 spill_path.string(), why);
    }
  }
  std::vector<Item> items;
  if (spill) {
    items = items_from_file(ctx, order, *spill);
  } else {
    spill.emplace(BaselineFile::create(spill_path, key));
    Progress progress("sequential: baseline", static_cast<int64_t>(order.size()), "records");
    const auto group = static_cast<size_t>(std::max<int64_t>(1, config.record_batch));
    for (size_t b = 0; b < order.size(); b += group) {
      if (ctx.stop_requested()) {
        out.interrupted = true;
        spill.reset();
        std::error_code ec;
        fs::remove(spill_path, ec);  // incomplete: no run could use it
        return out;
      }
      const size_t first = items.size();
      for (size_t p = b; p < std::min(order.size(), b + group); ++p) items.push_back(make_item(ctx, order[p]));
      std::vector<Item*> group_items;
      for (size_t k = first; k < items.size(); ++k) {
        if (items[k].probes) group_items.push_back(&items[k]);
      }
      const auto t = Clock::now();
      auto observations = observe_items(group_items, model, tokenizer);
      const double share = seconds_since(t) / static_cast<double>(std::max<size_t>(1, group_items.size()));
      for (size_t k = 0; k < group_items.size(); ++k) {
        group_items[k]->probe_seconds += share;
        if (observations[k]) {
          group_items[k]->spilled = spill->append(observations[k]->next_logprobs);
          trim_baseline(*observations[k]);
          group_items[k]->baseline = std::move(*observations[k]);
        } else {
          group_items[k]->probes.reset();
        }
      }
      progress.update(static_cast<int64_t>(items.size()));
    }
    spill->finish(items.size(), [&](size_t k) { return baseline_entry(items[k]); });
    progress.finish();
  }

  // 2. The edits, with a measurement of all edited records after every `every` of them.
  std::vector<size_t> edited;  // positions in items, in edit order
  Json steps = Json::array();
  RunningMeans last_means;
  int64_t failed = 0;
  for (const auto& it : items) failed += it.result.value("status", "") == "failed";
  auto measure = [&](int64_t edits) {
    std::vector<nlohmann::json> all, first;
    // Every edited record probed on the model as it now is, record_batch records at a time, and
    // scored against its baseline as soon as its group is observed.
    const auto group = static_cast<size_t>(std::max<int64_t>(1, config.record_batch));
    for (size_t b = 0; b < edited.size(); b += group) {
      std::vector<Item*> group_items;
      for (size_t p = b; p < std::min(edited.size(), b + group); ++p) group_items.push_back(&items[edited[p]]);
      const auto t = Clock::now();
      auto afters = observe_items(group_items, model, tokenizer);
      const double share = seconds_since(t) / static_cast<double>(group_items.size());
      for (size_t p = 0; p < group_items.size(); ++p) {
        auto& it = *group_items[p];
        it.probe_seconds += share;
        try {
          if (!afters[p]) throw Error(it.result.value("error", "the probes failed"));
          // The record's distributions, read back for its metrics only.
          struct Attached {
            Observation& o;
            ~Attached() { o.next_logprobs = torch::Tensor(); }
          } attached{it.baseline};
          it.baseline.next_logprobs = spill->read(it.spilled);
          auto metrics = it.probes->metrics(it.baseline, *afters[p]);
          it.result["status"] = "ok";
          it.result["metrics"] = std::move(metrics["metrics"]);
          it.result["details"] = std::move(metrics["details"]);
          it.result["details"]["edit"] = it.edit_diagnostics;
          it.result.erase("error");
        } catch (const std::exception& e) {
          mark_failed(it.result, e);
        }
        afters[p].reset();
        if (it.measured_after == 0 && it.result.value("status", "") == "ok") {
          // The other protocol the field reports: each record scored at the first step after its
          // own edit (with every == edit_batch: right after its batch), against the same baseline.
          it.result["at_own_edit"] = {{"measured_after_edits", edits}, {"metrics", it.result["metrics"]}};
        }
        it.measured_after = edits;
        it.result["measured_after_edits"] = edits;
        all.push_back(it.result);
        if (static_cast<int64_t>(first.size()) < seq.first) first.push_back(it.result);
      }
    }
    Json step = {{"edits", edits},
                 {"records", all.size()},
                 {"all", report::aggregate(all, config.bootstrap)},
                 {"first", {{"records", first.size()}, {"aggregates", report::aggregate(first, config.bootstrap)}}}};
    steps_file << step.dump() << '\n' << std::flush;
    if (!steps_file) fail("{}: cannot write (disk full?)", steps_path.string());
    last_means = RunningMeans{};
    for (const auto& r : all) last_means.add(r);
    steps.push_back(std::move(step));
  };

  Progress progress(fmt::format("sequential {}", config.method_label()), static_cast<int64_t>(items.size()), "edits");
  int64_t edits = 0, done = 0;
  const auto batch_size = static_cast<size_t>(std::max<int64_t>(1, config.edit_batch));
  for (size_t b = 0; b < items.size(); b += batch_size) {
    if (ctx.stop_requested()) {
      out.interrupted = true;
      break;
    }
    const size_t end = std::min(items.size(), b + batch_size);
    std::vector<const ProbeRecord*> batch;
    std::vector<size_t> batch_items;
    for (size_t k = b; k < end; ++k) {
      if (items[k].probes) {
        batch.push_back(&*items[k].record);
        batch_items.push_back(k);
      }
    }
    done += static_cast<int64_t>(end - b);
    if (batch.empty()) {
      progress.update(done, last_means.text(failed));
      continue;
    }
    const auto t = Clock::now();
    const int64_t before = edits;
    try {
      auto results = apply_batch(*ctx.editor, batch);  // kept: never undone
      for (size_t i = 0; i < batch.size(); ++i) {
        items[batch_items[i]].edit_diagnostics = results.details_of(i, *batch[i]);
        edited.push_back(batch_items[i]);
      }
      edits += static_cast<int64_t>(batch.size());
    } catch (const std::exception& e) {
      for (size_t k : batch_items) {
        mark_failed(items[k].result, e);
        ++failed;
      }
      fmt::print(stderr, "\nedit batch of records {}..{} failed: {}\n", items[b].index, items[end - 1].index, e.what());
    }
    const double seconds = seconds_since(t) / static_cast<double>(batch.size());
    for (size_t k : batch_items) items[k].edit_seconds = seconds;
    // A step whenever the number of edits reaches the next multiple of `every`.
    if (edits > before && edits / seq.every > before / seq.every) measure(edits);
    progress.update(done, last_means.text(failed));
  }
  const bool measured_last = !steps.empty() && steps.back()["edits"].get<int64_t>() == edits;
  if (!out.interrupted && edits > 0 && !measured_last) measure(edits);
  progress.finish(last_means.text(failed));

  // The report's records: every record measured (at the last step), and those that failed. An
  // interrupt leaves out the records edited after the last measurement.
  int64_t unmeasured = 0;
  for (auto& it : items) {
    const bool is_failed = it.result.value("status", "") == "failed";
    if (!is_failed && it.measured_after == 0) {
      unmeasured += it.probes != nullptr;
      continue;
    }
    it.result["seconds"] = {{"edit", it.edit_seconds}, {"probe", it.probe_seconds}, {"other", 0.0}};
    out.records.push_back(std::move(it.result));
  }
  if (out.interrupted && unmeasured > 0)
    fmt::print(stderr, "interrupted: {} records not measured since their edit are left out of the report\n",
               unmeasured);
  out.processed = done;
  // A run that went to its end has no use for its baseline file (see the docs' "Sequential
  // editing"); the runner removes it once the report is written. An interrupted run keeps it for
  // --resume.
  if (!out.interrupted) out.spill_file = spill_path;
  // The aggregates under the other protocol: each record's metrics from its first step after its
  // own edit (the report's records and aggregates are every record on the final model).
  std::vector<nlohmann::json> at_own_edit;
  for (const auto& r : out.records) {
    if (r.contains("at_own_edit")) at_own_edit.push_back({{"status", "ok"}, {"metrics", r["at_own_edit"]["metrics"]}});
  }
  out.sequential = {{"every", seq.every},
                    {"first", seq.first},
                    {"edit_batch", config.edit_batch},
                    {"baseline", "unedited model"},
                    {"protocol",
                     "records and aggregates: every edited record scored on the final model; at_own_edit: each "
                     "record scored at the first step after its own edit; both against the unedited model's "
                     "baseline"},
                    {"edits", edits},
                    {"at_own_edit", report::aggregate(at_own_edit, config.bootstrap)},
                    {"steps", std::move(steps)}};
  return out;
}

}  // namespace editlab::run_detail
