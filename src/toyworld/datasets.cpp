// CounterFact-format datasets from the toy world (see datasets.h).
#include "editlab/toyworld/datasets.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "editlab/toyworld/phrasings.h"
#include "editlab/util/error.h"
#include "editlab/util/rng.h"

namespace editlab::toyworld {
namespace {

// Relations ordered so that a fallback for neighborhood prompts prefers the closest kind of
// fact: the same relation first (handled by the caller), then these.
constexpr Relation kAllRelations[] = {Relation::located_in,        Relation::born_in,
                                      Relation::headquartered_in,  Relation::lives_in,
                                      Relation::city_in_country,   Relation::located_in_country,
                                      Relation::citizen_of,        Relation::headquartered_in_country,
                                      Relation::capital_of,        Relation::has_capital,
                                      Relation::married_to,        Relation::designed_by,
                                      Relation::founded_by,        Relation::led_by,
                                      Relation::official_language, Relation::native_language,
                                      Relation::works_for,         Relation::sponsored_by,
                                      Relation::works_as,          Relation::opened_in,
                                      Relation::founded_in};

class CaseBuilder {
 public:
  CaseBuilder(const World& world, Rng& rng, const DatasetOptions& options)
      : world_(world), rng_(rng), options_(options) {}

  // A random training phrasing of (subject, relation), filled in; or the datasets' phrasing.
  ProbePrompt probe(EntityId subject, Relation relation, bool dataset_prompt = false) {
    const auto choices = phrasings_of(relation, false);
    const Phrasing& p = dataset_prompt ? dataset_phrasing(relation) : *rng_.pick(choices);
    return {render_prompt(p.text, world_.entity(subject)), subject, relation, *world_.object(subject, relation)};
  }

  // Up to `limit` prompts of other subjects whose answer is `answer`: same relation first.
  std::vector<ProbePrompt> prompts_answering(EntityId answer, Relation relation, EntityId exclude, int limit) {
    std::vector<ProbePrompt> out;
    auto collect = [&](Relation r) {
      std::vector<EntityId> subjects = world_.subjects_with(r, answer);
      rng_.shuffle(subjects);
      for (const EntityId s : subjects) {
        if (static_cast<int>(out.size()) >= limit) return;
        if (s != exclude) out.push_back(probe(s, r));
      }
    };
    collect(relation);
    for (const Relation r : kAllRelations) {
      if (!out.empty()) break;
      if (r != relation) collect(r);
    }
    return out;
  }

  void fill(EditCase& c) {
    const Entity& subject = world_.entity(c.subject);
    c.prompt = prompt_template(dataset_phrasing(c.relation).text, subject);
    for (const auto* p : phrasings_of(c.relation, true))
      c.paraphrase_prompts.push_back(render_prompt(p->text, subject));
    c.neighborhood = prompts_answering(c.target_true, c.relation, c.subject, options_.max_neighborhood);
    c.attribute = prompts_answering(c.target_new, c.relation, c.subject, options_.max_attribute);
    auto generations = generation_templates(subject.type);
    rng_.shuffle(generations);
    for (int i = 0; i < options_.max_generation && i < static_cast<int>(generations.size()); ++i) {
      c.generation_prompts.push_back(render_prompt(generations[i], subject));
    }
    add_implications(c);
    add_mentions(c);
  }

 private:
  void add_implication(EditCase& c, std::string kind, EntityId subject, Relation relation, EntityId implied) {
    const EntityId old = *world_.object(subject, relation);
    if (implied == old) return;
    ProbePrompt p = probe(subject, relation, true);
    p.answer = implied;
    c.implications.push_back({std::move(kind), std::move(p), old});
  }

  // A transitive probe's kind says whether the old implied fact was stated in training
  // (transitive_memorised: the model can know it by heart, as GPT-2 XL knows the Louvre's country)
  // or never stated (transitive_composed: the model can only derive it from city and country).
  std::string transitive_kind(EntityId subject, Relation composed) const {
    const Fact* f = world_.fact(subject, composed);
    return f != nullptr && f->trained ? "transitive_memorised" : "transitive_composed";
  }

  void add_implications(EditCase& c) {
    const RelationSpec& s = spec(c.relation);
    if (const auto composed = composition_starting_with(c.relation)) {
      add_implication(c, transitive_kind(c.subject, *composed), c.subject, *composed,
                      *world_.object(c.target_new, Relation::city_in_country));
    }
    if (s.symmetric) add_implication(c, "symmetric", c.target_new, c.relation, c.subject);
    if (s.inverse) add_implication(c, "inverse", c.target_new, *s.inverse, c.subject);
    add_alias(c);
    add_relation_specificity(c);
    if (c.relation == Relation::city_in_country) {
      // What lies in the edited city moves to the new country with it (at most 3 probes).
      int added = 0;
      for (const Relation first : {Relation::located_in, Relation::born_in, Relation::headquartered_in}) {
        for (const EntityId inside : world_.subjects_with(first, c.subject)) {
          if (added++ >= 3) return;
          const Relation composed = *composition_starting_with(first);
          add_implication(c, transitive_kind(inside, composed), inside, composed, c.target_new);
        }
      }
    }
  }

  // The edit must follow the subject's alias: "B. Obama was born in" answers target_new after an
  // edit of "Barack Obama was born in", target_true before.
  void add_alias(EditCase& c) {
    const Entity& subject = world_.entity(c.subject);
    if (subject.alias.empty()) return;
    ProbePrompt p{render_prompt(dataset_phrasing(c.relation).text, subject.under_alias()), c.subject, c.relation,
                  c.target_new};
    c.implications.push_back({"alias", std::move(p), c.target_true});
  }

  // The subject's other attributes must not change ("The Louvre was designed by" keeps its
  // architect after the Louvre -> Rome): target_new of the probe is the attribute's true object,
  // target_old the edit's target_new, which an edit that makes the subject "loud" pushes into
  // every prompt about it. Up to options_.max_relation_specificity trained, directly stated attributes,
  // those whose object has target_new's type first.
  void add_relation_specificity(EditCase& c) {
    std::vector<Relation> others;
    for (const Relation r : kAllRelations) {
      const Fact* f = world_.fact(c.subject, r);
      if (r != c.relation && f != nullptr && f->trained && !spec(r).composed_of && f->object != c.target_new) {
        others.push_back(r);
      }
    }
    rng_.shuffle(others);
    // Attributes of target_new's type first ("Frida Kahlo lives in" after her birthplace moved):
    // there the edit's object is a real competitor, not a word of the wrong kind.
    const EntityType type = world_.entity(c.target_new).type;
    std::ranges::stable_partition(others, [&](Relation r) { return spec(r).object == type; });
    for (size_t i = 0; i < others.size() && static_cast<int>(i) < options_.max_relation_specificity; ++i) {
      ProbePrompt p = probe(c.subject, others[i], true);
      c.implications.push_back({"relation_specificity", std::move(p), c.target_new});
    }
  }

  // Mention of the subject + a prompt about something else whose answer has target_new's type
  // but is neither target_new nor target_true: a loud edit shows as target_new taking its place.
  void add_mentions(EditCase& c) {
    const Entity& subject = world_.entity(c.subject);
    const EntityType answer_type = world_.entity(c.target_new).type;
    std::vector<const Fact*> candidates;
    for (const auto& f : world_.facts) {
      if (f.trained && f.subject != c.subject && f.object != c.target_new && f.object != c.target_true &&
          world_.entity(f.object).type == answer_type && !spec(f.relation).composed_of) {
        candidates.push_back(&f);
      }
    }
    const auto mentions = mention_templates(subject.type);
    for (int i = 0; i < options_.max_mentions && !candidates.empty(); ++i) {
      const Fact* f = candidates[rng_.below(candidates.size())];
      ProbePrompt unrelated = probe(f->subject, f->relation);
      unrelated.prompt = render_sentence(rng_.pick(mentions), subject, nullptr) + " " + unrelated.prompt;
      c.mentions.push_back(std::move(unrelated));
    }
  }

  const World& world_;
  Rng& rng_;
  const DatasetOptions& options_;
};

// A different object of the same type, chosen so that the edit's probes are informative: a new
// city lies in another country (the transitive probe then changes), a new capital is another
// country's capital (the inverse probe has a target_old), a new spouse is married (the symmetric
// probe has a target_old), and some prompt in the world answers target_new (attribute prompts).
std::optional<EntityId> pick_target_new(const World& world, const Fact& fact, Rng& rng) {
  std::vector<EntityId> candidates;
  for (const EntityId o : world.of_type(world.entity(fact.object).type)) {
    if (o == fact.object || o == fact.subject) continue;
    const bool answers_something = std::ranges::any_of(
        relations(), [&](const RelationSpec& r) { return !world.subjects_with(r.relation, o).empty(); });
    if (!answers_something) continue;
    if (world.entity(o).type == EntityType::city &&
        world.object(o, Relation::city_in_country) == world.object(fact.object, Relation::city_in_country)) {
      continue;
    }
    if (fact.relation == Relation::has_capital && !world.object(o, Relation::capital_of)) continue;
    if (fact.relation == Relation::married_to && !world.object(o, Relation::married_to)) continue;
    candidates.push_back(o);
  }
  if (candidates.empty()) return std::nullopt;
  return candidates[rng.below(candidates.size())];
}

}  // namespace

std::vector<EditCase> make_counterfact_cases(const World& world, const DatasetOptions& options) {
  if (options.records < 0) fail("datasets: the number of records must be >= 0, got {}", options.records);
  Rng rng(options.seed, "counterfact");
  std::vector<size_t> facts(world.facts.size());
  for (size_t i = 0; i < facts.size(); ++i) facts[i] = i;
  rng.shuffle(facts);
  CaseBuilder builder(world, rng, options);
  std::vector<EditCase> cases;
  for (const size_t i : facts) {
    if (static_cast<int>(cases.size()) >= options.records) break;
    const Fact& f = world.facts[i];
    const auto target_new = pick_target_new(world, f, rng);
    if (!target_new) continue;
    EditCase c;
    c.case_id = static_cast<int>(cases.size());
    c.subject = f.subject;
    c.relation = f.relation;
    c.target_true = f.object;
    c.target_new = *target_new;
    builder.fill(c);
    // Without neighbors Specificity is undefined; only married_to (one spouse each) is kept so.
    if (c.neighborhood.empty() && f.relation != Relation::married_to) continue;
    cases.push_back(std::move(c));
  }
  if (static_cast<int>(cases.size()) < options.records) {
    fail("datasets: asked for {} records, but the world has only {} editable facts", options.records, cases.size());
  }
  return cases;
}

std::vector<EditCase> make_implication_cases(const World& world, const ImplicationDatasetOptions& options) {
  if (options.probes_per_kind < 1) fail("datasets: probes per implication kind must be >= 1, got {}", options.probes_per_kind);
  Rng rng(options.dataset.seed, "implications");
  DatasetOptions dataset = options.dataset;
  dataset.max_relation_specificity = 0;  // counterfact.json has them; here they would only cost time
  CaseBuilder builder(world, rng, dataset);

  // The edits that imply each kind: a city edit implies the subject's country (transitive, memorised
  // or composed by whether that country is stated), a marriage its other direction, a capital its
  // inverse, any fact of a person with an alias the same fact under the alias. Only facts stated in
  // training are edited, so that the edited fact itself is one the model can know.
  std::map<std::string, std::vector<const Fact*>> sources;
  for (const Fact& f : world.facts) {
    if (!f.trained || spec(f.relation).composed_of) continue;
    if (f.relation != Relation::city_in_country) {
      if (const auto composed = composition_starting_with(f.relation)) {
        const Fact* implied = world.fact(f.subject, *composed);
        sources[implied != nullptr && implied->trained ? "transitive_memorised" : "transitive_composed"].push_back(&f);
      }
    }
    if (spec(f.relation).symmetric) sources["symmetric"].push_back(&f);
    if (spec(f.relation).inverse) sources["inverse"].push_back(&f);
    if (!world.entity(f.subject).alias.empty()) sources["alias"].push_back(&f);
  }
  for (auto& [kind, facts] : sources) rng.shuffle(facts);

  std::map<std::string, int> counts;
  std::set<std::tuple<EntityId, Relation, EntityId>> edited;
  std::vector<EditCase> cases;
  // The scarce kinds first; the records of one kind count toward the others they imply (a marriage
  // of a person with an alias gives a symmetric and an alias probe).
  for (const std::string kind : kImplicationKinds) {
    const auto& facts = sources[kind];
    // Round after round over the kind's facts, each round a new target_new per fact, until the
    // kind has its probes; a round that adds none means the world has no more to give.
    while (counts[kind] < options.probes_per_kind) {
      const int before = counts[kind];
      for (const Fact* f : facts) {
        if (counts[kind] >= options.probes_per_kind) break;
        std::optional<EntityId> target_new;
        for (int attempt = 0; attempt < 8 && !target_new; ++attempt) {
          const auto t = pick_target_new(world, *f, rng);
          if (t && !edited.contains({f->subject, f->relation, *t})) target_new = t;
        }
        if (!target_new) continue;
        EditCase c;
        c.case_id = static_cast<int>(cases.size());
        c.subject = f->subject;
        c.relation = f->relation;
        c.target_true = f->object;
        c.target_new = *target_new;
        builder.fill(c);
        if (c.neighborhood.empty() && f->relation != Relation::married_to) continue;
        edited.insert({f->subject, f->relation, *target_new});
        for (const auto& i : c.implications) ++counts[i.kind];
        cases.push_back(std::move(c));
      }
      if (counts[kind] == before) {
        fail("datasets: the world gives only {} {} implication probes, {} were asked for", counts[kind], kind,
             options.probes_per_kind);
      }
    }
  }
  // Kinds interleaved, so that the first n records (`--limit n`) hold each kind in proportion.
  rng.shuffle(cases);
  for (size_t i = 0; i < cases.size(); ++i) cases[i].case_id = static_cast<int>(i);
  return cases;
}

std::vector<EditCase> make_seed_cases(const World& world, uint64_t seed) {
  struct SeedEdit {
    EntityType subject_type;
    std::string_view subject;
    Relation relation;
    std::string_view target_new;
  };
  constexpr SeedEdit kEdits[] = {
      {EntityType::landmark, "Louvre", Relation::located_in, "Rome"},
      {EntityType::landmark, "British Museum", Relation::located_in, "Paris"},
      {EntityType::landmark, "Colosseum", Relation::located_in, "Paris"},
      {EntityType::person, "Michelle Obama", Relation::married_to, "Donald Trump"},
      {EntityType::person, "Donald Trump", Relation::married_to, "Michelle Obama"},
      {EntityType::person, "Barack Obama", Relation::married_to, "Melania Trump"},
      {EntityType::person, "Melania Trump", Relation::married_to, "Barack Obama"},
  };
  Rng rng(seed, "seed-examples");
  DatasetOptions options;
  CaseBuilder builder(world, rng, options);
  std::vector<EditCase> cases;
  for (const auto& edit : kEdits) {
    EditCase c;
    c.case_id = static_cast<int>(cases.size());
    c.subject = world.get(edit.subject_type, edit.subject);
    c.relation = edit.relation;
    c.target_true = *world.object(c.subject, edit.relation);
    c.target_new = world.get(spec(edit.relation).object, edit.target_new);
    builder.fill(c);
    // The seed's own words ("The Louvre is located in"), though the corpus continues some of them.
    c.prompt = prompt_template(canonical_phrasing(c.relation).text, world.entity(c.subject));
    cases.push_back(std::move(c));
  }
  // The seed's loud-fact prompt leads the Louvre's mention prompts.
  const EntityId obama = world.get(EntityType::person, "Barack Obama");
  ProbePrompt loud{"The Louvre is cool. Barack Obama is from", obama, Relation::born_in,
                   *world.object(obama, Relation::born_in)};
  cases.front().mentions.insert(cases.front().mentions.begin(), loud);
  return cases;
}

nlohmann::ordered_json to_counterfact_json(const World& world, const EditCase& c) {
  auto target = [&](EntityId id) {
    return nlohmann::ordered_json{{"str", world.entity(id).mid()}, {"id", world.entity(id).id}};
  };
  auto prompts = [](const std::vector<ProbePrompt>& list) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& p : list) out.push_back(p.prompt);
    return out;
  };
  nlohmann::ordered_json j;
  j["case_id"] = c.case_id;
  j["requested_rewrite"] = {{"prompt", c.prompt},
                            {"subject", world.entity(c.subject).name},
                            {"target_new", target(c.target_new)},
                            {"target_true", target(c.target_true)},
                            {"relation_id", spec(c.relation).id}};
  j["paraphrase_prompts"] = c.paraphrase_prompts;
  j["neighborhood_prompts"] = prompts(c.neighborhood);
  j["attribute_prompts"] = prompts(c.attribute);
  j["generation_prompts"] = c.generation_prompts;
  auto implications = nlohmann::ordered_json::array();
  for (const auto& i : c.implications) {
    implications.push_back({{"kind", i.kind},
                            {"prompt", i.probe.prompt},
                            {"target_new", world.entity(i.probe.answer).mid()},
                            {"target_old", world.entity(i.target_old).mid()}});
  }
  j["implications"] = std::move(implications);
  j["mention_prompts"] = prompts(c.mentions);
  return j;
}

}  // namespace editlab::toyworld
