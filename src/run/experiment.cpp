#include "editlab/run/experiment.h"
#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)

#include <algorithm>
#include <fstream>
#include <set>

#include "editlab/edit/request.h"
#include "editlab/model/device.h"
#include "editlab/util/error.h"
#include "editlab/util/json_file.h"

namespace editlab {
namespace {

using Json = nlohmann::ordered_json;

// Reads typed fields of one JSON object and rejects the ones nobody read.
class Fields {
 public:
  // `known`: the fields this object may have; any other is an error (checked first, so a typo
  // is reported as such and not as the missing field it was meant to be).
  Fields(const Json& j, std::string where, std::initializer_list<const char*> known) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) fail("{}: expected a JSON object, found {}", where_, j_.type_name());
    for (const auto& item : j_.items()) {
      const auto& k = item.key();  // not a structured binding: clang 14 cannot capture one
      if (std::none_of(known.begin(), known.end(), [&](const char* name) { return k == name; })) {
        fail("{}: unknown field \"{}\" (known: {})", where_, k, fmt::join(known, ", "));
      }
    }
  }
  const Json* find(const std::string& key) {
    const auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  std::string name(const std::string& key) const { return fmt::format("{}: field \"{}\"", where_, key); }

  std::optional<std::string> string(const std::string& key) {
    const auto* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) fail("{} must be a string, found {}", name(key), v->dump());
    return v->get<std::string>();
  }
  std::optional<int64_t> integer(const std::string& key, int64_t lo, int64_t hi) {
    const auto* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) fail("{} must be an integer, found {}", name(key), v->dump());
    const auto x = v->get<int64_t>();
    if (x < lo || x > hi) fail("{} must be in [{}, {}], found {}", name(key), lo, hi, x);
    return x;
  }
  std::optional<double> number(const std::string& key, double lo, double hi) {
    const auto* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_number()) fail("{} must be a number, found {}", name(key), v->dump());
    const auto x = v->get<double>();
    if (!(x > lo && x < hi)) fail("{} must be in ({}, {}), found {}", name(key), lo, hi, x);
    return x;
  }
  std::optional<bool> boolean(const std::string& key) {
    const auto* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) fail("{} must be true or false, found {}", name(key), v->dump());
    return v->get<bool>();
  }
  std::optional<std::vector<std::string>> strings(const std::string& key) {
    const auto* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_array()) fail("{} must be a list of strings", name(key));
    std::vector<std::string> out;
    for (const auto& x : *v) {
      if (!x.is_string() && !x.is_number_integer()) fail("{} must be a list of strings, found {}", name(key), x.dump());
      out.push_back(x.is_string() ? x.get<std::string>() : x.dump());
    }
    return out;
  }

 private:
  const Json& j_;
  std::string where_;
};

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
  if (p.empty()) return {};
  std::filesystem::path path(p);
  return path.is_absolute() ? path : base / path;
}

}  // namespace

ExperimentConfig ExperimentConfig::from_json(const Json& j, const std::string& source,
                                             const std::filesystem::path& base) {
  ExperimentConfig c;
  c.raw = j;
  c.base = base;
  Fields f(j, source,
           {"model", "method", "hparams", "dataset", "select", "suites", "loud_templates", "generation", "fluency",
            "rome", "seed", "threads", "dtype", "device", "bootstrap", "sequential", "edit_batch", "record_batch", "details", "out"});
  const auto model = f.string("model");
  if (!model) fail("{}: field \"model\" is required (a Hugging Face GPT-2 directory)", source);
  c.model = resolve(base, *model);
  const auto dataset = f.string("dataset");
  if (!dataset) fail("{}: field \"dataset\" is required (CounterFact records, JSON or JSON Lines)", source);
  c.dataset = resolve(base, *dataset);
  const auto method = f.string("method").value_or("rome");
  if (method == "none") {
    c.method = std::nullopt;
  } else if (!(c.method = parse_edit_method(method))) {
    fail("{} must be {} or none, found \"{}\"", f.name("method"), fmt::join(edit_method_names(), ", "), method);
  }
  if (auto h = f.string("hparams")) c.hparams = resolve(base, *h);
  if (c.method && c.hparams.empty()) {
    fail("{}: field \"hparams\" is required for method \"{}\" (see configs/{}/)", source, method, method);
  }
  if (const auto* sel = f.find("select")) {
    Fields s(*sel, source + ": select", {"range", "case_ids", "limit"});
    if (const auto* r = s.find("range")) {
      if (!r->is_array() || r->size() != 2 || !(*r)[0].is_number_integer() || !(*r)[1].is_number_integer() ||
          (*r)[0].get<int64_t>() < 0 || (*r)[1].get<int64_t>() < (*r)[0].get<int64_t>()) {
        fail("{}: select: field \"range\" must be [start, end] with 0 <= start <= end, found {}", source, r->dump());
      }
      c.range = std::pair((*r)[0].get<int64_t>(), (*r)[1].get<int64_t>());
    }
    if (auto ids = s.strings("case_ids")) c.case_ids = *ids;
    c.limit = s.integer("limit", 1, INT64_MAX);
  }
  if (auto suites = f.strings("suites")) {
    if (suites->empty()) fail("{} is empty: choose at least one suite", f.name("suites"));
    c.suites.suites.clear();
    for (const auto& s : *suites) {
      const auto suite = parse_suite(s);
      if (!suite) fail("{}: unknown suite \"{}\" (known: {})", f.name("suites"), s, fmt::join(suite_names(), ", "));
      c.suites.suites.push_back(*suite);
    }
  }
  if (auto t = f.strings("loud_templates")) {
    for (const auto& s : *t) {
      if (s.find("{}") == std::string::npos)
        fail("{}: template \"{}\" has no {{}} for the subject", f.name("loud_templates"), s);
    }
    c.suites.loud_templates = *t;
  }
  c.suites.details = f.boolean("details").value_or(false);
  if (const auto* g = f.find("generation")) {
    Fields gf(*g, source + ": generation", {"beams", "max_length"});
    c.suites.beams = gf.integer("beams", 1, 64).value_or(c.suites.beams);
    c.suites.max_length = gf.integer("max_length", 2, 1 << 20).value_or(c.suites.max_length);
  }
  if (const auto* fl = f.find("fluency")) {
    Fields ff(*fl, source + ": fluency", {"max_length", "top_k"});
    c.suites.fluency_max_length = ff.integer("max_length", 2, 1 << 20).value_or(c.suites.fluency_max_length);
    c.suites.fluency_top_k = ff.integer("top_k", 1, 1 << 20).value_or(c.suites.fluency_top_k);
  }
  if (const auto* r = f.find("rome")) {
    Fields rf(*r, source + ": rome",
              {"stats", "stats_corpus", "context_templates", "cache_dir", "samples", "template_seed", "cache"});
    if (auto s = rf.string("stats")) c.stats = resolve(base, *s);
    if (auto s = rf.string("stats_corpus")) c.stats_corpus = resolve(base, *s);
    if (auto s = rf.string("context_templates")) c.context_templates = resolve(base, *s);
    if (auto s = rf.string("cache_dir")) c.cache_dir = resolve(base, *s);
    c.samples = rf.integer("samples", 1, INT64_MAX);
    c.template_seed = rf.integer("template_seed", 0, INT64_MAX).value_or(0);
    c.cache = rf.boolean("cache").value_or(true);
  }
  c.seed = f.integer("seed", 0, INT64_MAX).value_or(0);
  c.bootstrap.seed = c.seed;
  c.threads = static_cast<int>(f.integer("threads", 0, 4096).value_or(0));
  c.dtype = parse_compute_dtype(f.string("dtype").value_or("float32"), f.name("dtype"));
  c.device = parse_device(f.string("device").value_or("cpu"), f.name("device"));
  if (const auto* b = f.find("bootstrap")) {
    Fields bf(*b, source + ": bootstrap", {"resamples", "level"});
    c.bootstrap.resamples = bf.integer("resamples", 1, static_cast<int64_t>(report::kMaxBootstrapResamples)).value_or(c.bootstrap.resamples);
    c.bootstrap.level = bf.number("level", 0, 1).value_or(c.bootstrap.level);
  }
  if (const auto* q = f.find("sequential")) {
    if (q->is_boolean()) {
      if (q->get<bool>()) c.sequential = SequentialOptions{};
    } else {
      Fields qf(*q, source + ": sequential", {"every", "first"});
      SequentialOptions s;
      s.every = qf.integer("every", 1, INT64_MAX).value_or(s.every);
      s.first = qf.integer("first", 1, INT64_MAX).value_or(s.first);
      c.sequential = s;
    }
    if (c.sequential && !c.method)
      fail("{}: a sequential run needs an edit method (method is \"none\")", f.name("sequential"));
  }
  c.edit_batch = f.integer("edit_batch", 1, INT64_MAX).value_or(1);
  c.record_batch = f.integer("record_batch", 1, 1 << 20).value_or(c.record_batch);
  if (c.edit_batch > 1 && !c.method) fail("{}: edit_batch needs an edit method (method is \"none\")", f.name("edit_batch"));
  c.out = resolve(base, f.string("out").value_or("out/run"));
  return c;
}

ExperimentConfig ExperimentConfig::load(const std::filesystem::path& path) {
  return from_json(read_ordered_json_file(path, "experiment config"), path.string(),
                   path.parent_path().empty() ? "." : path.parent_path());
}

ExperimentConfig ExperimentConfig::with(const std::string& field, const Json& value) const {
  Json j = raw;
  if (field == "limit") {
    j["select"]["limit"] = value;
  } else {
    j[field] = value;
  }
  auto c = from_json(j, "the experiment config (with --" + field + ")", base);
  // A path given on the command line is relative to the working directory, not to the config.
  c.command_line_paths = command_line_paths;
  if (field == "out" || field == "hparams") c.command_line_paths[field] = value.get<std::string>();
  for (const auto& [name, path] : c.command_line_paths) (name == "out" ? c.out : c.hparams) = path;
  return c;
}

Json ExperimentConfig::result_fields() const {
  Json j = raw;
  j.erase("out");
  j.erase("threads");
  // The device changes results only by rounding: a run started on a CPU may resume, or its shards
  // merge, on a GPU.
  j.erase("device");
  return j;
}

std::vector<int64_t> select_records(const ExperimentConfig& config, const std::vector<nlohmann::json>& dataset) {
  const auto n = static_cast<int64_t>(dataset.size());
  int64_t start = 0, end = n;
  if (config.range) {
    start = std::min(config.range->first, n);
    end = std::min(config.range->second, n);
  }
  std::vector<int64_t> out;
  if (config.case_ids.empty()) {
    for (int64_t i = start; i < end; ++i) out.push_back(i);
  } else {
    std::set<std::string> wanted(config.case_ids.begin(), config.case_ids.end()), found;
    for (int64_t i = start; i < end; ++i) {
      const auto& r = dataset[i];
      if (!r.is_object() || !r.contains("case_id")) continue;
      const auto id = case_id_text(r["case_id"]);
      if (wanted.count(id)) {
        out.push_back(i);
        found.insert(id);
      }
    }
    for (const auto& id : wanted) {
      if (!found.count(id))
        fail("select: case_id {} is not in the dataset{}", id, config.range ? " (within the range)" : "");
    }
  }
  if (config.limit && static_cast<int64_t>(out.size()) > *config.limit) out.resize(*config.limit);
  return out;
}

}  // namespace editlab
