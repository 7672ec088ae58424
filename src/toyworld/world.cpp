// The toy world's generator and its world.json (see world.h).
#include "editlab/toyworld/world.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "editlab/toyworld/phrasings.h"
#include "editlab/util/error.h"
#include "editlab/util/rng.h"
#include "names.h"

namespace editlab::toyworld {
namespace {

using R = Relation;
using T = EntityType;

constexpr RelationSpec kRelations[] = {
    {R::located_in, "located_in", T::landmark, T::city, std::nullopt, false, std::nullopt,
     "the city a landmark or museum is in"},
    {R::located_in_country, "located_in_country", T::landmark, T::country, std::nullopt, false,
     std::pair{R::located_in, R::city_in_country}, "the country a landmark is in, through its city"},
    {R::city_in_country, "city_in_country", T::city, T::country, std::nullopt, false, std::nullopt,
     "the country a city is in"},
    {R::capital_of, "capital_of", T::city, T::country, R::has_capital, false, std::nullopt,
     "the country whose capital a city is (capitals only)"},
    {R::has_capital, "has_capital", T::country, T::city, R::capital_of, false, std::nullopt,
     "a country's capital city"},
    {R::born_in, "born_in", T::person, T::city, std::nullopt, false, std::nullopt, "a person's birthplace"},
    {R::citizen_of, "citizen_of", T::person, T::country, std::nullopt, false, std::pair{R::born_in, R::city_in_country},
     "a person's country, through the birthplace"},
    {R::married_to, "married_to", T::person, T::person, std::nullopt, true, std::nullopt, "a person's spouse"},
    {R::headquartered_in, "headquartered_in", T::company, T::city, std::nullopt, false, std::nullopt,
     "the city of a company's headquarters"},
    {R::headquartered_in_country, "headquartered_in_country", T::company, T::country, std::nullopt, false,
     std::pair{R::headquartered_in, R::city_in_country}, "the country of a company's headquarters, through its city"},
    {R::official_language, "official_language", T::country, T::language, std::nullopt, false, std::nullopt,
     "a country's (first) official language"},
    {R::lives_in, "lives_in", T::person, T::city, std::nullopt, false, std::nullopt, "the city a person lives in"},
    {R::works_for, "works_for", T::person, T::company, std::nullopt, false, std::nullopt, "a person's employer"},
    {R::works_as, "works_as", T::person, T::profession, std::nullopt, false, std::nullopt, "a person's profession"},
    {R::native_language, "native_language", T::person, T::language, std::nullopt, false, std::nullopt,
     "a person's native language (the official language of the birth country)"},
    {R::designed_by, "designed_by", T::landmark, T::person, std::nullopt, false, std::nullopt,
     "the architect or builder of a landmark"},
    {R::opened_in, "opened_in", T::landmark, T::year, std::nullopt, false, std::nullopt, "the year a landmark opened"},
    {R::sponsored_by, "sponsored_by", T::landmark, T::company, std::nullopt, false, std::nullopt,
     "a landmark's main sponsor"},
    {R::founded_by, "founded_by", T::company, T::person, std::nullopt, false, std::nullopt, "a company's founder"},
    {R::founded_in, "founded_in", T::company, T::year, std::nullopt, false, std::nullopt,
     "the year a company was founded"},
    {R::led_by, "led_by", T::company, T::person, std::nullopt, false, std::nullopt, "a company's chief executive"},
};

// Every entity type and its name in world.json: type_name and entity_type_from_name read this.
constexpr std::pair<EntityType, std::string_view> kEntityTypeNames[] = {
    {T::country, "country"}, {T::city, "city"},     {T::language, "language"},     {T::landmark, "landmark"},
    {T::company, "company"}, {T::person, "person"}, {T::profession, "profession"}, {T::year, "year"}};

// Professions: each starts with a consonant ("works as a {o}").
constexpr std::string_view kProfessions[] = {"teacher",   "doctor",     "lawyer",     "painter",  "chef",
                                             "pilot",     "nurse",      "farmer",     "writer",   "singer",
                                             "banker",    "dentist",    "journalist", "baker",    "plumber",
                                             "carpenter", "pharmacist", "surgeon",    "novelist", "sculptor"};

std::vector<std::string_view> split_bars(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t start = 0;;) {
    const size_t bar = s.find('|', start);
    out.push_back(s.substr(start, bar - start));
    if (bar == std::string_view::npos) return out;
    start = bar + 1;
  }
}

// "Sacré-Cœur Basilica" -> "sacré-cœur-basilica": ASCII lowercased, spaces and punctuation to
// '-', other UTF-8 bytes kept, so ids stay readable and unique per name.
std::string make_id(EntityType type, std::string_view name) {
  std::string out(type_name(type));
  out += ':';
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || std::isalnum(u)) {
      out += u < 0x80 ? static_cast<char>(std::tolower(u)) : c;
    } else if (!out.empty() && out.back() != '-' && out.back() != ':') {
      out += '-';
    }
  }
  while (out.back() == '-') out.pop_back();
  return out;
}

EntityId add_named(World& w, EntityType type, std::string_view name, bool article, bool generated = false) {
  return w.add_entity(Entity{make_id(type, name), type, std::string(name), article, generated, {}});
}

// Countries, their languages and cities, and the facts among them (all trained).
void add_places(World& w) {
  for (const auto& row : names::countries()) {
    if (!w.find(T::language, row.language)) add_named(w, T::language, row.language, false);
  }
  for (const auto& row : names::countries()) {
    const EntityId country = add_named(w, T::country, row.name, row.article);
    w.add_fact({country, R::official_language, w.get(T::language, row.language), true});
    bool capital = true;  // the first city listed is the capital
    for (const auto city_name : split_bars(row.cities)) {
      const EntityId city = add_named(w, T::city, city_name, false);
      w.add_fact({city, R::city_in_country, country, true});
      if (capital) {
        w.add_fact({city, R::capital_of, country, true});
        w.add_fact({country, R::has_capital, city, true});
        capital = false;
      }
    }
  }
}

void add_landmarks_and_companies(World& w) {
  for (const auto& row : names::landmarks()) {
    const EntityId landmark = add_named(w, T::landmark, row.name, row.article);
    w.add_fact({landmark, R::located_in, w.get(T::city, row.city), true});
  }
  for (const auto& row : names::companies()) {
    const EntityId company = add_named(w, T::company, row.name, false);
    w.add_fact({company, R::headquartered_in, w.get(T::city, row.city), true});
  }
}

// Real people, then generated ones named from their country's pool and born in one of its
// cities. Returns the couples (each once).
std::vector<std::pair<EntityId, EntityId>> add_people(World& w, Rng& rng) {
  for (const auto& row : names::people()) {
    const EntityId person = add_named(w, T::person, row.name, false);
    w.add_fact({person, R::born_in, w.get(T::city, row.birth_city), true});
  }
  std::vector<std::pair<EntityId, EntityId>> couples;
  for (const auto& row : names::people()) {
    if (!row.spouse.empty() && row.name < row.spouse) {
      couples.emplace_back(w.get(T::person, row.name), w.get(T::person, row.spouse));
    }
  }
  std::vector<EntityId> generated;
  const auto countries = names::countries();
  for (int i = 0; i < w.options.generated_people; ++i) {
    const auto& country = countries[rng.below(countries.size())];
    const auto pool = std::find_if(names::name_pools().begin(), names::name_pools().end(),
                                   [&](const auto& p) { return p.key == country.name_pool; });
    if (pool == names::name_pools().end()) fail("internal error: no name pool \"{}\"", country.name_pool);
    const auto first = split_bars(pool->first_names), last = split_bars(pool->last_names);
    std::string name;
    for (int attempt = 0; attempt < 1000 && (name.empty() || w.find(T::person, name)); ++attempt) {
      name = std::string(first[rng.below(first.size())]) + " " + std::string(last[rng.below(last.size())]);
    }
    if (w.find(T::person, name))
      fail("cannot name {} generated people uniquely from the pools", w.options.generated_people);
    const EntityId person = add_named(w, T::person, name, false, true);
    const auto cities = split_bars(country.cities);
    w.add_fact({person, R::born_in, w.get(T::city, cities[rng.below(cities.size())]), true});
    generated.push_back(person);
  }
  rng.shuffle(generated);
  const auto pairs =
      static_cast<size_t>(std::lround(w.options.married_fraction * static_cast<double>(generated.size()) / 2));
  for (size_t i = 0; i < pairs && 2 * i + 1 < generated.size(); ++i) {
    couples.emplace_back(generated[2 * i], generated[2 * i + 1]);
  }
  return couples;
}

// married_to in both directions; for a share of the couples only one direction is trained.
void add_marriages(World& w, std::vector<std::pair<EntityId, EntityId>> couples, Rng& rng) {
  const std::vector<EntityId> always_both = {w.get(T::person, "Barack Obama"), w.get(T::person, "Donald Trump")};
  rng.shuffle(couples);
  const auto both =
      static_cast<size_t>(std::lround(w.options.both_directions_fraction * static_cast<double>(couples.size())));
  for (size_t i = 0; i < couples.size(); ++i) {
    auto [a, b] = couples[i];
    const bool seed_couple = std::ranges::count(always_both, a) + std::ranges::count(always_both, b) > 0;
    const bool both_trained = seed_couple || i < both;
    if (rng.chance(0.5)) std::swap(a, b);  // which direction a one-way couple is shown in
    w.add_fact({a, R::married_to, b, true});
    w.add_fact({b, R::married_to, a, both_trained});
  }
}

// Where every person lives, works and what they do and speak (all trained), from a random
// stream of its own.
void add_person_attributes(World& w) {
  Rng rng(w.options.seed, "world:person-attributes");
  std::vector<EntityId> professions;
  for (const auto name : kProfessions) professions.push_back(add_named(w, T::profession, name, false));
  const auto cities = w.of_type(T::city), companies = w.of_type(T::company);
  for (const EntityId person : w.of_type(T::person)) {
    const EntityId birth_city = *w.object(person, R::born_in);
    const EntityId home = rng.chance(0.5) ? birth_city : cities[rng.below(cities.size())];
    w.add_fact({person, R::lives_in, home, true});
    w.add_fact({person, R::works_for, companies[rng.below(companies.size())], true});
    w.add_fact({person, R::works_as, professions[rng.below(professions.size())], true});
    const EntityId country = *w.object(birth_city, R::city_in_country);
    w.add_fact({person, R::native_language, *w.object(country, R::official_language), true});
  }
}

EntityId year_entity(World& w, int year) {
  const std::string name = std::to_string(year);
  if (const auto id = w.find(T::year, name)) return *id;
  return add_named(w, T::year, name, false);
}

// Landmarks' architects, opening years and sponsors, and companies' founders, founding years and
// chief executives (all trained; drawn at random: the toy world's facts beyond the seed's are
// fictional). Architects, founders and chief executives are generated people, so that no real
// person gets an invented career.
void add_landmark_and_company_attributes(World& w) {
  Rng rng(w.options.seed, "world:landmark-company-attributes");
  std::vector<EntityId> generated;
  for (const EntityId person : w.of_type(T::person)) {
    if (w.entity(person).generated) generated.push_back(person);
  }
  if (generated.empty()) fail("toy world: architects and founders are generated people; need generated_people >= 1");
  const auto companies = w.of_type(T::company);
  for (const EntityId landmark : w.of_type(T::landmark)) {
    w.add_fact({landmark, R::designed_by, generated[rng.below(generated.size())], true});
    w.add_fact({landmark, R::opened_in, year_entity(w, rng.between(1700, 2015)), true});
    w.add_fact({landmark, R::sponsored_by, companies[rng.below(companies.size())], true});
  }
  for (const EntityId company : companies) {
    w.add_fact({company, R::founded_by, generated[rng.below(generated.size())], true});
    w.add_fact({company, R::founded_in, year_entity(w, rng.between(1850, 2015)), true});
    w.add_fact({company, R::led_by, generated[rng.below(generated.size())], true});
  }
}

// People's aliases: the first name's initial and the last name ("B. Obama"), for every person
// whose alias would be unique and whose name has exactly two words.
void add_aliases(World& w) {
  std::map<std::string, std::vector<EntityId>> by_alias;
  for (const EntityId person : w.of_type(T::person)) {
    const std::string& name = w.entity(person).name;
    const size_t space = name.find(' ');
    if (space == std::string::npos || name.find(' ', space + 1) != std::string::npos) continue;
    const auto first = static_cast<unsigned char>(name[0]);
    if (first >= 0x80 || !std::isalpha(first)) continue;
    by_alias[name.substr(0, 1) + ". " + name.substr(space + 1)].push_back(person);
  }
  for (auto& [alias, people] : by_alias) {
    if (people.size() == 1) w.entities[static_cast<size_t>(people.front())].alias = alias;
  }
}

// The composed country facts; trained for an exact share of each subject type, drawn at random
// except for the seed's landmarks.
void add_compositions(World& w, Rng& rng) {
  for (const auto& relation_spec : kRelations) {
    if (!relation_spec.composed_of) continue;
    const auto [first, second] = *relation_spec.composed_of;
    std::vector<EntityId> subjects = w.of_type(relation_spec.subject);
    rng.shuffle(subjects);
    const auto stated =
        static_cast<size_t>(std::lround(w.options.country_stated_fraction * static_cast<double>(subjects.size())));
    std::vector<std::pair<EntityId, bool>> chosen;
    for (size_t i = 0; i < subjects.size(); ++i) chosen.emplace_back(subjects[i], i < stated);
    std::ranges::sort(chosen);
    for (auto [subject, trained] : chosen) {
      const auto& e = w.entity(subject);
      if (e.type == T::landmark && (e.name == "Louvre" || e.name == "Colosseum")) trained = false;
      if (e.type == T::landmark && e.name == "British Museum") trained = true;
      const EntityId middle = *w.object(subject, first);
      w.add_fact({subject, relation_spec.relation, *w.object(middle, second), trained});
    }
  }
}

// The relations that have facts in `w`.
std::vector<const RelationSpec*> used_relations(const World& w) {
  std::vector<const RelationSpec*> out;
  for (const auto& r : kRelations) {
    if (std::ranges::any_of(w.facts, [&](const Fact& f) { return f.relation == r.relation; })) out.push_back(&r);
  }
  return out;
}

nlohmann::ordered_json relations_json(const World& w) {
  auto out = nlohmann::ordered_json::array();
  for (const auto* rp : used_relations(w)) {
    const auto& r = *rp;
    nlohmann::ordered_json j = {{"id", r.id},
                                {"subject_type", type_name(r.subject)},
                                {"object_type", type_name(r.object)},
                                {"description", r.description}};
    // Filled before insertion: a reference into an ordered_json dies when a key is added.
    auto train = nlohmann::ordered_json::array(), held_out = nlohmann::ordered_json::array();
    for (const auto* p : phrasings_of(r.relation, false)) train.push_back(p->text);
    for (const auto* p : phrasings_of(r.relation, true)) held_out.push_back(p->text);
    j["phrasings"] = {{"train", std::move(train)}, {"held_out", std::move(held_out)}};
    out.push_back(std::move(j));
  }
  return out;
}

// The logic, in a form a checker can apply: every relation is functional; the rest as listed.
nlohmann::ordered_json rules_json(const World& w) {
  auto out = nlohmann::ordered_json::array();
  auto functional = nlohmann::ordered_json::array();
  const auto used = used_relations(w);
  for (const auto* r : used) functional.push_back(r->id);
  out.push_back({{"kind", "functional"}, {"relations", functional}});
  for (const auto* rp : used) {
    const auto& r = *rp;
    if (r.symmetric) out.push_back({{"kind", "symmetric"}, {"relation", r.id}});
    if (r.inverse && r.relation < *r.inverse) {
      out.push_back({{"kind", "inverse"}, {"relation", r.id}, {"inverse", spec(*r.inverse).id}});
    }
    if (r.composed_of) {
      out.push_back({{"kind", "composition"},
                     {"relation", r.id},
                     {"path", {spec(r.composed_of->first).id, spec(r.composed_of->second).id}}});
    }
  }
  return out;
}

}  // namespace

std::string_view type_name(EntityType type) {
  for (const auto& [t, name] : kEntityTypeNames) {
    if (t == type) return name;
  }
  return "unknown";
}

std::optional<EntityType> entity_type_from_name(std::string_view name) {
  for (const auto& [type, type_name] : kEntityTypeNames) {
    if (type_name == name) return type;
  }
  return std::nullopt;
}

std::string Entity::mid() const { return article ? "the " + name : name; }
std::string Entity::start() const { return article ? "The " + name : name; }

Entity Entity::under_alias() const {
  Entity out = *this;
  out.name = alias;
  out.article = false;
  return out;
}

std::span<const RelationSpec> relations() { return kRelations; }

const RelationSpec& spec(Relation relation) {
  for (const auto& r : kRelations) {
    if (r.relation == relation) return r;
  }
  fail("internal error: relation {} has no spec", static_cast<int>(relation));
}

std::optional<Relation> relation_from_id(std::string_view id) {
  for (const auto& r : kRelations) {
    if (r.id == id) return r.relation;
  }
  return std::nullopt;
}

std::optional<Relation> composition_starting_with(Relation relation) {
  for (const auto& r : kRelations) {
    if (r.composed_of && r.composed_of->first == relation) return r.relation;
  }
  return std::nullopt;
}

// ---- World ----

std::optional<EntityId> World::find(EntityType type, std::string_view name) const {
  const auto it = by_name_.find(std::pair{type, std::string(name)});
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

EntityId World::get(EntityType type, std::string_view name) const {
  const auto id = find(type, name);
  if (!id) fail("toy world: no {} named \"{}\"", type_name(type), name);
  return *id;
}

std::vector<EntityId> World::of_type(EntityType type) const {
  std::vector<EntityId> out;
  for (size_t i = 0; i < entities.size(); ++i) {
    if (entities[i].type == type) out.push_back(static_cast<EntityId>(i));
  }
  return out;
}

const Fact* World::fact(EntityId subject, Relation relation) const {
  const auto it = fact_index_.find({subject, relation});
  return it == fact_index_.end() ? nullptr : &facts[it->second];
}

std::optional<EntityId> World::object(EntityId subject, Relation relation) const {
  const Fact* f = fact(subject, relation);
  if (f == nullptr) return std::nullopt;
  return f->object;
}

const std::vector<EntityId>& World::subjects_with(Relation relation, EntityId object) const {
  static const std::vector<EntityId> kNone;  // immutable
  const auto it = subjects_index_.find({relation, object});
  return it == subjects_index_.end() ? kNone : it->second;
}

std::vector<const Fact*> World::facts_of(Relation relation) const {
  std::vector<const Fact*> out;
  for (const auto& f : facts) {
    if (f.relation == relation) out.push_back(&f);
  }
  return out;
}

EntityId World::add_entity(Entity entity) {
  const auto id = static_cast<EntityId>(entities.size());
  if (!by_name_.emplace(std::pair{entity.type, entity.name}, id).second) {
    fail("toy world: the {} \"{}\" is listed twice", type_name(entity.type), entity.name);
  }
  if (!ids_.insert(entity.id).second) fail("toy world: two entities would get the id \"{}\"", entity.id);
  entities.push_back(std::move(entity));
  return id;
}

void World::add_fact(const Fact& f) {
  const auto& s = spec(f.relation);
  if (entity(f.subject).type != s.subject || entity(f.object).type != s.object) {
    fail("toy world: {} -{}-> {} has the wrong entity types", entity(f.subject).id, s.id, entity(f.object).id);
  }
  if (!fact_index_.emplace(std::pair{f.subject, f.relation}, facts.size()).second) {
    fail("toy world: {} has two {} facts (relations are functional)", entity(f.subject).id, s.id);
  }
  subjects_index_[{f.relation, f.object}].push_back(f.subject);
  facts.push_back(f);
}

nlohmann::ordered_json World::to_json() const {
  nlohmann::ordered_json j;
  j["format"] = "editlab-toy-world";
  j["version"] = 2;
  j["seed"] = options.seed;
  j["options"] = {{"generated_people", options.generated_people},
                  {"married_fraction", options.married_fraction},
                  {"country_stated_fraction", options.country_stated_fraction},
                  {"both_directions_fraction", options.both_directions_fraction}};
  nlohmann::ordered_json counts;
  for (const auto type : {T::country, T::city, T::language, T::landmark, T::company, T::person}) {
    counts[std::string(type_name(type))] = of_type(type).size();
  }
  counts["profession"] = of_type(T::profession).size();
  counts["year"] = of_type(T::year).size();
  counts["aliases"] = std::ranges::count_if(entities, [](const Entity& e) { return !e.alias.empty(); });
  counts["facts"] = facts.size();
  counts["trained_facts"] = std::ranges::count_if(facts, [](const Fact& f) { return f.trained; });
  j["counts"] = std::move(counts);
  j["relations"] = relations_json(*this);
  j["rules"] = rules_json(*this);
  // Each list is filled before insertion: a reference into an ordered_json dies when a key is added.
  auto stated = nlohmann::ordered_json::array(), not_stated = nlohmann::ordered_json::array();
  for (const auto& f : facts) {
    if (spec(f.relation).composed_of) (f.trained ? stated : not_stated).push_back(entity(f.subject).id);
  }
  j["country_stated"] = std::move(stated);
  j["country_not_stated"] = std::move(not_stated);
  auto entity_list = nlohmann::ordered_json::array();
  for (const auto& e : entities) {
    nlohmann::ordered_json item = {{"id", e.id}, {"type", type_name(e.type)}, {"name", e.name}};
    if (e.article) item["article"] = "the";
    if (e.generated) item["generated"] = true;
    if (!e.alias.empty()) item["alias"] = e.alias;
    entity_list.push_back(std::move(item));
  }
  j["entities"] = std::move(entity_list);
  auto fact_list = nlohmann::ordered_json::array();
  for (const auto& f : facts) {
    fact_list.push_back({{"subject", entity(f.subject).id},
                         {"relation", spec(f.relation).id},
                         {"object", entity(f.object).id},
                         {"trained", f.trained}});
  }
  j["facts"] = std::move(fact_list);
  return j;
}

World generate_world(const WorldOptions& options) {
  if (options.generated_people < 0) fail("toy world: generated_people must be >= 0, got {}", options.generated_people);
  for (const double fraction :
       {options.married_fraction, options.country_stated_fraction, options.both_directions_fraction}) {
    if (!(fraction >= 0 && fraction <= 1)) fail("toy world: fractions must lie in [0, 1], got {}", fraction);
  }
  World w;
  w.options = options;
  Rng rng(options.seed, "world");
  add_places(w);
  add_landmarks_and_companies(w);
  auto couples = add_people(w, rng);
  add_marriages(w, std::move(couples), rng);
  add_compositions(w, rng);
  add_person_attributes(w);
  add_landmark_and_company_attributes(w);
  add_aliases(w);
  return w;
}

}  // namespace editlab::toyworld
