// Writes the toy world's files (see toy_world.h).
#include "editlab/toyworld/toy_world.h"

#include <system_error>

#include "editlab/toyworld/datasets.h"
#include "editlab/util/atomic_file.h"
#include "editlab/util/error.h"

namespace editlab::toyworld {
namespace {

std::string compact(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::strict);
}

std::string array_lines(const nlohmann::ordered_json& array, std::string_view indent) {
  if (array.empty()) return "[]";
  std::string out = "[\n";
  for (size_t i = 0; i < array.size(); ++i) {
    out += indent;
    out += "  ";
    out += compact(array[i]);
    out += i + 1 < array.size() ? ",\n" : "\n";
  }
  out += indent;
  out += "]";
  return out;
}


}  // namespace

std::string dump_one_per_line(const nlohmann::ordered_json& j) {
  if (j.is_array()) return array_lines(j, "") + "\n";
  if (!j.is_object()) return compact(j) + "\n";
  std::string out = "{\n";
  size_t i = 0;
  for (const auto& [key, value] : j.items()) {
    out += "  " + compact(key) + ": ";
    out += value.is_array() && !value.empty() && value.front().is_structured() ? array_lines(value, "  ") : compact(value);
    out += ++i < j.size() ? ",\n" : "\n";
  }
  return out + "}\n";
}

ToyWorldSummary write_toy_world(const std::filesystem::path& out_dir, const ToyWorldOptions& options) {
  prepare_output_dir(out_dir);
  ToyWorldSummary summary;
  auto write = [&](const std::string& name, const std::string& contents) {
    write_file_atomically(out_dir / name, contents);
    summary.files.emplace_back(name, static_cast<int64_t>(contents.size()));
  };

  WorldOptions world_options = options.world;
  world_options.seed = options.seed;
  const World world = generate_world(world_options);
  const auto world_json = world.to_json();
  summary.counts = world_json.at("counts");
  write("world.json", dump_one_per_line(world_json));

  for (const bool training : {true, false}) {
    CorpusOptions corpus_options;
    corpus_options.seed = options.seed;
    corpus_options.purpose = training ? "train" : "stats";
    corpus_options.documents = training ? options.train_documents : options.stats_documents;
    corpus_options.bridge_probability = options.bridge_probability;
    corpus_options.biography_share = options.biography_share;
    corpus_options.alias_probability = options.alias_probability;
    const Corpus corpus = generate_corpus(world, corpus_options);
    (training ? summary.train : summary.stats) = corpus.stats;
    write(training ? "train.txt" : "stats.txt", corpus.text);
  }

  DatasetOptions dataset_options;
  dataset_options.seed = options.seed;
  dataset_options.records = options.records;
  auto records = nlohmann::ordered_json::array();
  for (const auto& c : make_counterfact_cases(world, dataset_options)) records.push_back(to_counterfact_json(world, c));
  summary.records = static_cast<int>(records.size());
  write("counterfact.json", dump_one_per_line(records));

  auto seed_records = nlohmann::ordered_json::array();
  for (const auto& c : make_seed_cases(world, options.seed)) seed_records.push_back(to_counterfact_json(world, c));
  summary.seed_examples = static_cast<int>(seed_records.size());
  write("seed-examples.json", dump_one_per_line(seed_records));

  ImplicationDatasetOptions implication_options;
  implication_options.dataset.seed = options.seed;
  implication_options.probes_per_kind = options.implication_probes;
  auto implication_records = nlohmann::ordered_json::array();
  for (const auto& c : make_implication_cases(world, implication_options)) {
    implication_records.push_back(to_counterfact_json(world, c));
  }
  summary.implication_records = static_cast<int>(implication_records.size());
  write("implications.json", dump_one_per_line(implication_records));
  return summary;
}

}  // namespace editlab::toyworld
