// CounterFact-format edit datasets made from the toy world: counterfact.json (random edits of
// the world's facts) and seed-examples.json (the seed's own cases).
//
// A record (one JSON object; see to_counterfact_json):
//   case_id, requested_rewrite {prompt ("{}" for the subject), subject, target_new {str, id},
//   target_true {str, id}, relation_id}, paraphrase_prompts (held-out phrasings, subject filled
//   in), neighborhood_prompts (other subjects whose true object is target_true), attribute_prompts
//   (other subjects whose true object is target_new), generation_prompts, and editlab's
//   implications [{kind, prompt, target_new, target_old}] and mention_prompts (a sentence that
//   only mentions the subject, then an unrelated prompt: "The Louvre is cool. Barack Obama is
//   from").
// Targets are written as inside a sentence ("the United Kingdom"), with no leading space (scoring
// adds " " + target); prompts never end with a space.
//
// Neighborhood and attribute prompts use the same relation first. A relation whose objects are
// unique (has_capital, capital_of) has no such subjects, so other relations with the same object
// take their place ("The Louvre is located in" for an edit of "The capital of France is" Paris):
// every neighborhood prompt's true answer is target_true, as Specificity assumes. Facts whose
// true object answers no other prompt (a capital without landmarks, a language of one country)
// are not edited. married_to is the exception: nobody else is married to the same person, so
// its neighborhood lists are empty.
//
// Implications (kind, what is probed):
//   transitive: an edit of located_in / born_in / headquartered_in moves the subject's country
//     ("The Louvre is located in the country of": Italy after Paris -> Rome, France before); an
//     edit of city_in_country moves the country of what lies in that city;
//   symmetric: married_to (A -> B gives "B is married to" A; target_old is B's spouse);
//   inverse: capital_of <-> has_capital (Paris capital_of -> Italy gives "The capital of Italy
//     is" Paris; target_old is Rome);
//   alias: the subject under its alias ("B. Obama was born in": target_new after an edit of
//     Barack Obama's birthplace, target_true before);
//   relation_specificity: up to two other attributes of the edited subject, which must not change
//     ("The Louvre was designed by": its true architect is the probe's target_new, the edit's
//     target_new its target_old, so success means the attribute held against the edit).
// Only implications whose target_new differs from target_old are listed.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "editlab/toyworld/world.h"

namespace editlab::toyworld {

// A filled-in prompt with its subject and its true answer in the unedited world.
struct ProbePrompt {
  std::string prompt;
  EntityId subject;
  Relation relation;
  EntityId answer;
};

struct Implication {
  std::string kind;   // "transitive", "symmetric", "inverse", "alias", "relation_specificity"
  ProbePrompt probe;  // probe.answer is the implied answer after the edit (target_new)
  EntityId target_old;
};

struct EditCase {
  int case_id = 0;
  EntityId subject = -1;
  Relation relation{};
  std::string prompt;  // "The {} is located in"
  EntityId target_true = -1, target_new = -1;
  std::vector<std::string> paraphrase_prompts;
  std::vector<ProbePrompt> neighborhood, attribute;
  std::vector<std::string> generation_prompts;
  std::vector<Implication> implications;
  std::vector<ProbePrompt> mentions;  // prompt = mention + " " + unrelated prompt; answer: the latter's
};

struct DatasetOptions {
  uint64_t seed = 1;
  int records = 600;
  int max_neighborhood = 10;
  int max_attribute = 10;
  int max_mentions = 5;
  int max_generation = 3;
  // Relation-specificity probes per record (each costs two beam searches in the implication suite).
  int max_relation_specificity = 2;
};

// Random edits of distinct facts, case_id 0..n-1. Throws Error if the world has too few editable
// facts for options.records.
std::vector<EditCase> make_counterfact_cases(const World& world, const DatasetOptions& options);

// The seed's cases: the Louvre -> Rome (transitive probe "The Louvre is located in the country
// of": Italy vs France; the loud-fact prompt "The Louvre is cool. Barack Obama is from"), the
// British Museum -> Paris, the Colosseum -> Paris, and the Obamas' and Trumps' marriages swapped
// in both directions ("Michelle Obama is married to" Donald Trump, ...).
std::vector<EditCase> make_seed_cases(const World& world, uint64_t seed);

// The implication kinds implications.json is built for, scarcest first.
inline constexpr const char* kImplicationKinds[] = {"symmetric", "inverse", "transitive_composed",
                                                    "transitive_memorised", "alias"};

struct ImplicationDatasetOptions {
  DatasetOptions dataset;    // its `records` is not used
  int probes_per_kind = 120;  // at least this many probes of each of kImplicationKinds
};

// implications.json: edits chosen for what they imply, so that every kind of kImplicationKinds has
// at least options.probes_per_kind probes (counterfact.json's random edits give a handful of
// symmetric and inverse ones). Only facts stated in training are edited; a fact is edited again
// with another target_new when its kind needs more probes than it has facts (58 marriages give 116
// symmetric probes). Records are built as counterfact.json's (same fields and probes, but no
// relation_specificity probes: counterfact.json has them), shuffled so that the kinds are
// interleaved, with case_id 0..n-1. Throws Error when the world cannot give that many probes of a kind.
std::vector<EditCase> make_implication_cases(const World& world, const ImplicationDatasetOptions& options);

nlohmann::ordered_json to_counterfact_json(const World& world, const EditCase& edit);

}  // namespace editlab::toyworld
