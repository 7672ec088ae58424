// The toy world: a deterministic, seeded world of real names and facts with known logic, from
// which editlab makes its training corpus, its BPE and its CounterFact-format edit datasets
// (see docs/architecture.md, "The toy world").
//
// What it holds (toy world 2, world.json version 2):
//   countries (49, each with a capital and an official language), their cities (213, capitals
//   marked), languages, professions, years, and subjects: landmarks and museums (in their real
//   cities), companies (at their real headquarters) and people (real ones born where they were
//   born, plus generated ones with random birthplaces and marriages). Every subject has at least
//   five attributes; those beyond the seed's real ones (a landmark's city, a company's
//   headquarters, a real person's birthplace and marriage) are drawn at random.
// Relations (every one is functional: one object per subject):
//   located_in (landmark -> city)            city_in_country (city -> country)
//   located_in_country = located_in, then city_in_country          (composition)
//   designed_by (landmark -> person)         opened_in (landmark -> year)
//   sponsored_by (landmark -> company)
//   capital_of (capital city -> country) = inverse of has_capital (country -> city)
//   born_in (person -> city)                  citizen_of = born_in, then city_in_country
//   married_to (person -> person, symmetric)
//   lives_in (person -> city)                 works_for (person -> company)
//   works_as (person -> profession)           native_language (person -> language: the official
//                                                               language of the birth country)
//   headquartered_in (company -> city)        headquartered_in_country = headquartered_in, then
//                                                                       city_in_country
//   founded_by, led_by (company -> person)    founded_in (company -> year)
//   official_language (country -> language)
// Architects, founders and chief executives are generated people. People whose two-word name
// gives a unique initial form have that alias ("B. Obama"), used for some of their facts in the
// corpus and by the alias implication probes.
//
// What the model is shown (Fact::trained): every base fact; a composed (country) fact only for
// the subjects drawn into the "country stated" group (about half), so that the model's answers
// for the others measure composition; married_to in both directions for most couples and in one
// direction for the rest. The seed's subjects are fixed: the Louvre's and the Colosseum's
// countries are never stated (their transitive probes test composition), the British Museum's
// is; the Obamas' and the Trumps' marriages are stated both ways.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace editlab::toyworld {

enum class EntityType { country, city, language, landmark, company, person, profession, year };
std::string_view type_name(EntityType type);
std::optional<EntityType> entity_type_from_name(std::string_view name);  // type_name's inverse

using EntityId = int;  // index into World::entities

struct Entity {
  std::string id;  // stable and readable: "landmark:louvre", "country:united-kingdom"
  EntityType type;
  std::string name;        // "Louvre", "United Kingdom"
  bool article = false;    // written with "the": "the Louvre", "the United Kingdom"
  bool generated = false;  // a generated person (random facts), not a real one
  std::string alias;       // another name for the same subject ("B. Obama"); empty: none

  // The name as written inside a sentence ("the Louvre") and at its start ("The Louvre").
  // Targets of edits and probes are the mid-sentence form.
  std::string mid() const;
  std::string start() const;
  // The same entity named by its alias, without an article: what a sentence or a prompt that
  // uses the alias names ("B. Obama was born in").
  Entity under_alias() const;
};

enum class Relation {
  located_in,
  located_in_country,
  city_in_country,
  capital_of,
  has_capital,
  born_in,
  citizen_of,
  married_to,
  headquartered_in,
  headquartered_in_country,
  official_language,
  lives_in,         // person -> city
  works_for,        // person -> company
  works_as,         // person -> profession
  native_language,  // person -> language: the official language of the birth country
  designed_by,      // landmark -> person (its architect or builder)
  opened_in,        // landmark -> year
  sponsored_by,     // landmark -> company (its main sponsor)
  founded_by,       // company -> person
  founded_in,       // company -> year
  led_by,           // company -> person (its chief executive)
};

struct RelationSpec {
  Relation relation;
  std::string_view id;  // "located_in": the relation_id of dataset records
  EntityType subject, object;
  std::optional<Relation> inverse;  // capital_of <-> has_capital
  bool symmetric = false;           // married_to
  // A composed relation: subject -first-> x -second-> object (e.g. located_in, city_in_country).
  std::optional<std::pair<Relation, Relation>> composed_of;
  std::string_view description;
};

std::span<const RelationSpec> relations();
const RelationSpec& spec(Relation relation);
std::optional<Relation> relation_from_id(std::string_view id);
// The composed relation whose first step is `relation` (located_in -> located_in_country).
std::optional<Relation> composition_starting_with(Relation relation);

struct Fact {
  EntityId subject;
  Relation relation;
  EntityId object;
  bool trained;  // stated directly in train.txt (see the header comment)
};

struct WorldOptions {
  uint64_t seed = 1;
  int generated_people = 80;               // people with random names, birthplaces and marriages
  double married_fraction = 0.6;           // of the generated people
  double country_stated_fraction = 0.5;    // subjects whose composed country fact is trained
  double both_directions_fraction = 0.85;  // couples whose marriage is trained both ways
};

class World {
 public:
  WorldOptions options;
  std::vector<Entity> entities;
  std::vector<Fact> facts;

  const Entity& entity(EntityId id) const { return entities.at(static_cast<size_t>(id)); }
  std::optional<EntityId> find(EntityType type, std::string_view name) const;
  EntityId get(EntityType type, std::string_view name) const;  // throws Error when missing
  std::vector<EntityId> of_type(EntityType type) const;

  const Fact* fact(EntityId subject, Relation relation) const;
  std::optional<EntityId> object(EntityId subject, Relation relation) const;
  // Subjects whose `relation` object is `object`, in entity order.
  const std::vector<EntityId>& subjects_with(Relation relation, EntityId object) const;
  std::vector<const Fact*> facts_of(Relation relation) const;

  // Adds a fact (and indexes it); the generator's only way to add facts.
  void add_fact(const Fact& fact);
  EntityId add_entity(Entity entity);

  // world.json: format, seed and options, relations and logic rules, phrasings, entities,
  // facts (with "trained"), and which subjects have their country stated directly.
  nlohmann::ordered_json to_json() const;

 private:
  std::map<std::pair<EntityType, std::string>, EntityId, std::less<>> by_name_;
  std::set<std::string, std::less<>> ids_;
  std::map<std::pair<EntityId, Relation>, size_t> fact_index_;
  std::map<std::pair<Relation, EntityId>, std::vector<EntityId>> subjects_index_;
};

// Builds the world for options.seed. Same options -> identical world (and world.json bytes).
World generate_world(const WorldOptions& options);

}  // namespace editlab::toyworld
