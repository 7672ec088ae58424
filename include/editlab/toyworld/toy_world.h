// `editlab toy-world generate` as a library call: the world, its two corpora and its datasets,
// written into one directory.
//
//   world.json           the world (world.h), with phrasings and logic rules
//   train.txt            the training corpus (corpus.h), documents separated by a blank line
//   stats.txt            a second corpus from another random stream, for second-moment
//                        statistics; held apart from training
//   counterfact.json     CounterFact-format edit records (datasets.h), a JSON array
//   seed-examples.json   the seed's own cases, in the same format
//   implications.json    edits chosen for what they imply, >= implication_probes probes of each
//                        implication kind, in the same format
// JSON files hold one record (entity, fact, relation) per line, so they diff well. Each file is
// written atomically. Same options -> byte-identical files.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "editlab/toyworld/corpus.h"
#include "editlab/toyworld/world.h"

namespace editlab::toyworld {

struct ToyWorldOptions {
  uint64_t seed = 1;
  WorldOptions world;          // its seed is replaced by `seed`
  int train_documents = 9000;  // about 2 MB of text
  int stats_documents = 2000;
  double bridge_probability = 1.0;  // see corpus.h
  double biography_share = 0.5;     // see corpus.h
  double alias_probability = 0.2;   // see corpus.h
  int records = 600;
  int implication_probes = 120;  // per implication kind in implications.json (see datasets.h)
};

struct ToyWorldSummary {
  nlohmann::ordered_json counts;  // world.json's "counts"
  CorpusStats train, stats;
  int records = 0;
  int seed_examples = 0;
  int implication_records = 0;
  std::vector<std::pair<std::string, int64_t>> files;  // name, bytes
};

ToyWorldSummary write_toy_world(const std::filesystem::path& out_dir, const ToyWorldOptions& options);

// JSON with one element of each top-level array per line (compact elements, UTF-8 as is).
std::string dump_one_per_line(const nlohmann::ordered_json& j);

}  // namespace editlab::toyworld
