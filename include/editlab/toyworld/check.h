// How well a model knows the toy world (`editlab toy-world check`): top-1 greedy accuracy,
// teacher-forced (an answer is right when every token of " " + answer is the argmax after the
// prompt and the answer's previous tokens; probe/scoring.h's greedy_correct), on:
//
//   train_phrasings      every trained fact (Fact::trained) with each training phrasing of its
//                        relation                                              target >= 95%
//   held_out_phrasings   every trained fact with each held-out phrasing         target >= 80%
//   transitive_stated    "X is located in the country of" for the landmarks whose country is
//                        stated in training (memorisation)
//   transitive_unstated  the same for the landmarks whose country is never stated: the model
//                        must compose located_in and city_in_country           target >= 90%
//   marriages            "A is married to" -> B for both directions of every couple
//                                                                              target >= 90%
// and, for each dataset in CheckOptions::datasets, the same on the dataset's own prompts;
// and, without targets: the composed facts of every subject type whose country is never stated
// (landmarks, companies, people; canonical phrasing), and the marriages whose direction is
// never stated (the reverse of a one-way couple). Per relation: training and held-out phrasings
// over trained facts, and (composed relations) the unstated facts.
//
// Everything is read from world.json (its entities, facts and phrasings), so a model is checked
// against the world it was trained on, whatever the generator's current tables say.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "editlab/model/language_model.h"
#include "editlab/model/tokenizer.h"

namespace editlab::toyworld {

struct Tally {
  int64_t correct = 0;
  int64_t total = 0;
  double share() const { return total == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(total); }
};

struct CheckMiss {
  std::string prompt;
  std::string expected;   // the answer, as written inside a sentence ("the United Kingdom")
  std::string predicted;  // the model's greedy first token after the prompt
};

struct CheckFigure {
  std::string key;          // "train_phrasings"
  std::string description;  // one line for the table
  Tally tally;
  std::optional<double> target;  // the bar, if this figure has one
  std::vector<CheckMiss> misses;  // the first few wrong answers
  bool passed() const { return !target || tally.share() >= *target; }
};

struct CheckRelationRow {
  std::string relation;
  Tally train, held_out;
  std::optional<Tally> unstated;  // composed relations only
};

// One phrasing's accuracy over the trained facts of its relation.
struct CheckPhrasingRow {
  std::string relation, phrasing;
  bool held_out = false;
  Tally tally;
};

struct CheckResult {
  std::vector<CheckFigure> figures;  // the ones with targets first
  std::vector<CheckRelationRow> relations;
  std::vector<CheckPhrasingRow> phrasings;
  int64_t prompts = 0;
  double seconds = 0;
  const CheckFigure& figure(const std::string& key) const;  // throws Error when missing
};

// A dataset whose own prompts are checked too (`--dataset`): its records as load_dataset reads them.
struct CheckDataset {
  std::string name;  // the file's stem, "counterfact": figure keys are "counterfact/rewrite", ...
  std::vector<nlohmann::json> records;
};

struct CheckOptions {
  int max_misses = 5;  // wrong answers kept per figure
  int64_t max_batch_tokens = 4096;
  // Each adds figures on the dataset's own prompts (issue 25's bars in parentheses):
  //   <name>/rewrite        the rewrite prompt answers target_true               (>= 95%)
  //   <name>/paraphrase     every paraphrase prompt answers target_true          (>= 85%)
  //   <name>/neighborhood   every neighbourhood prompt answers target_true
  //   <name>/implied/<kind> every implication probe answers its target_old, the implied fact
  //                         before the edit: transitive_memorised and inverse (>= 90%, memorised
  //                         facts), symmetric (>= 90%, marriages), transitive_composed (>= 70%),
  //                         alias and the rest without a bar; relation_specificity's fact is the
  //                         probe's target_new (the attribute that must hold)
  std::vector<CheckDataset> datasets;
};

// world.json as written by `editlab toy-world generate`; throws Error naming the file and field.
nlohmann::json read_world_json(const std::filesystem::path& path);

CheckResult check_model(LanguageModel& model, const Tokenizer& tokenizer, const nlohmann::json& world,
                        const CheckOptions& options = {});

nlohmann::ordered_json to_json(const CheckResult& result);

}  // namespace editlab::toyworld
