// How well a model knows the toy world (see check.h).
#include "editlab/toyworld/check.h"

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "editlab/probe/record.h"
#include "editlab/probe/scoring.h"
#include "editlab/toyworld/phrasings.h"
#include "editlab/util/error.h"
#include "editlab/util/json_file.h"
#include "editlab/util/steady_clock.h"

namespace editlab::toyworld {
namespace {

using nlohmann::json;

const json& field(const json& object, const char* key, const std::string& where) {
  if (!object.is_object() || !object.contains(key)) fail("world.json: {} has no \"{}\"", where, key);
  return object.at(key);
}

std::string string_field(const json& object, const char* key, const std::string& where) {
  const json& value = field(object, key, where);
  if (!value.is_string()) fail("world.json: {}.{} must be a string, found {}", where, key, value.type_name());
  return value.get<std::string>();
}

EntityType parse_type(const std::string& name, const std::string& where) {
  if (const auto type = entity_type_from_name(name)) return *type;
  fail("world.json: {}: unknown entity type \"{}\"", where, name);
}

struct WorldRelation {
  std::string id;
  std::vector<std::string> train, held_out;  // phrasing templates; train[0] is the canonical one
  bool composed = false;
  size_t first_hop = 0;  // composed relations: the path's first relation (landmark -> city)
};

struct WorldFact {
  size_t subject, object;
  size_t relation;  // index into relations
  bool trained;
};

// The parts of world.json the check needs, validated.
struct ParsedWorld {
  std::vector<Entity> entities;
  std::vector<WorldRelation> relations;
  std::vector<WorldFact> facts;

  explicit ParsedWorld(const json& world) {
    std::map<std::string, size_t> entity_index, relation_index;
    const json& entity_list = field(world, "entities", "the top level");
    if (!entity_list.is_array()) fail("world.json: \"entities\" must be an array");
    for (size_t i = 0; i < entity_list.size(); ++i) {
      const std::string where = fmt::format("entities[{}]", i);
      const json& e = entity_list[i];
      Entity entity;
      entity.id = string_field(e, "id", where);
      entity.type = parse_type(string_field(e, "type", where), where);
      entity.name = string_field(e, "name", where);
      entity.article = e.contains("article");
      if (e.contains("alias")) entity.alias = string_field(e, "alias", where);
      if (!entity_index.emplace(entity.id, entities.size()).second)
        fail("world.json: {}: duplicate id \"{}\"", where, entity.id);
      entities.push_back(std::move(entity));
    }
    const json& relation_list = field(world, "relations", "the top level");
    if (!relation_list.is_array()) fail("world.json: \"relations\" must be an array");
    for (size_t i = 0; i < relation_list.size(); ++i) {
      const std::string where = fmt::format("relations[{}]", i);
      WorldRelation r;
      r.id = string_field(relation_list[i], "id", where);
      const json& phrasing_lists = field(relation_list[i], "phrasings", where);
      for (const auto& [key, out] : {std::pair{"train", &r.train}, std::pair{"held_out", &r.held_out}}) {
        const json& list = field(phrasing_lists, key, where + ".phrasings");
        if (!list.is_array()) fail("world.json: {}.phrasings.{} must be an array", where, key);
        for (const auto& p : list) {
          if (!p.is_string() || p.get<std::string>().find("{o}") == std::string::npos) {
            fail("world.json: {}.phrasings.{}: each phrasing must be a string with \"{{o}}\", found {}", where, key,
                 p.dump());
          }
          out->push_back(p.get<std::string>());
        }
      }
      if (r.train.empty()) fail("world.json: {} (\"{}\") has no training phrasing", where, r.id);
      if (!relation_index.emplace(r.id, relations.size()).second)
        fail("world.json: {}: duplicate relation \"{}\"", where, r.id);
      relations.push_back(std::move(r));
    }
    if (world.contains("rules")) {
      for (const auto& rule : world.at("rules")) {
        if (rule.value("kind", "") != "composition") continue;
        const auto it = relation_index.find(rule.value("relation", ""));
        const json& path = rule.contains("path") ? rule.at("path") : json();
        const auto hop = path.is_array() && path.size() == 2 && path[0].is_string()
                             ? relation_index.find(path[0].get<std::string>())
                             : relation_index.end();
        if (it == relation_index.end() || hop == relation_index.end())
          fail("world.json: a composition rule names an unknown relation or has no two-relation \"path\": {}",
               rule.dump());
        relations[it->second].composed = true;
        relations[it->second].first_hop = hop->second;
      }
    }
    const json& fact_list = field(world, "facts", "the top level");
    if (!fact_list.is_array()) fail("world.json: \"facts\" must be an array");
    for (size_t i = 0; i < fact_list.size(); ++i) {
      const std::string where = fmt::format("facts[{}]", i);
      const json& f = fact_list[i];
      auto lookup = [&](const std::map<std::string, size_t>& index, const char* key) {
        const std::string name = string_field(f, key, where);
        const auto it = index.find(name);
        if (it == index.end()) fail("world.json: {}.{}: unknown \"{}\"", where, key, name);
        return it->second;
      };
      const json& trained = field(f, "trained", where);
      if (!trained.is_boolean()) fail("world.json: {}.trained must be true or false", where);
      facts.push_back({lookup(entity_index, "subject"), lookup(entity_index, "object"),
                       lookup(relation_index, "relation"), trained.get<bool>()});
    }
  }

  std::optional<size_t> relation(std::string_view id) const {
    for (size_t i = 0; i < relations.size(); ++i) {
      if (relations[i].id == id) return i;
    }
    return std::nullopt;
  }
};

struct Probe {
  std::string prompt, answer;
  std::vector<Tally*> tallies;
  CheckFigure* figure;  // where a miss is listed
};

}  // namespace

const CheckFigure& CheckResult::figure(const std::string& key) const {
  for (const auto& f : figures) {
    if (f.key == key) return f;
  }
  fail("toy-world check: no figure \"{}\"", key);
}

json read_world_json(const std::filesystem::path& path) {
  if (std::filesystem::is_directory(path)) fail("{}: cannot open the world (a directory)", path.string());
  json world = read_json_file(path, "world");
  if (!world.is_object() || world.value("format", "") != "editlab-toy-world") {
    fail("{}: not a toy world (\"format\" should be \"editlab-toy-world\")", path.string());
  }
  return world;
}

CheckResult check_model(LanguageModel& model, const Tokenizer& tokenizer, const json& world_json,
                        const CheckOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const ParsedWorld world(world_json);
  CheckResult result;
  // Fixed size before any pointer into it is taken.
  result.figures = {
      {"train_phrasings", "trained facts, every training phrasing", {}, 0.95, {}},
      {"held_out_phrasings", "trained facts, every held-out phrasing", {}, 0.80, {}},
      {"transitive_unstated", "landmark -> country, country never stated (composition)", {}, 0.80, {}},
      {"marriages", "marriages, both directions (\"A is married to\" B)", {}, 0.90, {}},
      {"transitive_stated", "landmark -> country, country stated in training", {}, std::nullopt, {}},
      {"composed_unstated",
       "every subject's country, never stated (landmarks, companies, people)",
       {},
       std::nullopt,
       {}},
      {"composed_unstated_seen_bridge",
       "  of these, another subject of the same city has its country stated",
       {},
       std::nullopt,
       {}},
      {"composed_unstated_unseen_bridge",
       "  of these, no other subject of the same city has its country stated",
       {},
       std::nullopt,
       {}},
      {"marriages_unstated_direction", "marriages in the direction never stated (reversal)", {}, std::nullopt, {}},
      {"aliases",
       "trained facts of people with an alias, canonical phrasing, named by the alias (\"B. Obama\")",
       {},
       std::nullopt,
       {}},
  };
  // The datasets' own prompts: their figures are added (and sized) before pointers into them are taken.
  struct DatasetProbe {
    std::vector<size_t> figures;  // the first keeps the misses
    std::string prompt, answer;
  };
  std::vector<DatasetProbe> dataset_probes;
  {
    std::map<std::string, size_t> index;  // figure key -> position in result.figures
    auto dataset_figure = [&](const std::string& key, std::string description, std::optional<double> target) {
      const auto [it, added] = index.emplace(key, result.figures.size());
      if (added) result.figures.push_back({key, std::move(description), {}, target, {}});
      return it->second;
    };
    // Whether the world states a record's fact in training: (subject name, relation id) -> trained.
    std::map<std::pair<std::string, std::string>, bool> stated;
    for (const auto& f : world.facts) stated[{world.entities[f.subject].name, world.relations[f.relation].id}] = f.trained;
    for (const auto& dataset : options.datasets) {
      const std::string& n = dataset.name;
      // The bars are on the facts stated in training (what the model can know by heart); a record
      // that edits a fact never stated (a country the model must compose) is composition's bar.
      // A prompt kind's figures: all its prompts, and those of facts stated / never stated.
      struct Split {
        size_t all, stated, composed;
      };
      const auto split = [&](const std::string& kind, const std::string& what, double bar) {
        return Split{dataset_figure(n + "/" + kind, n + ": " + what + " -> target_true", std::nullopt),
                     dataset_figure(n + "/" + kind + "_stated", n + ": " + what + ", fact stated in training", bar),
                     dataset_figure(n + "/" + kind + "_composed",
                                    n + ": " + what + ", fact never stated (composed)", 0.70)};
      };
      const Split rewrite = split("rewrite", "rewrite prompts", 0.95);
      const Split paraphrase = split("paraphrase", "paraphrase prompts", 0.85);
      const size_t neighborhood =
          dataset_figure(n + "/neighborhood", n + ": neighbourhood prompts -> target_true", std::nullopt);
      for (size_t i = 0; i < dataset.records.size(); ++i) {
        const ProbeRecord r = parse_probe_record(dataset.records[i], fmt::format("{}: record {}", n, i));
        const std::string& truth = r.request.target_true;
        if (truth.empty()) continue;
        std::vector<size_t> rewrite_figures{rewrite.all}, paraphrase_figures{paraphrase.all};
        if (const auto it = stated.find({r.request.subject, r.request.relation_id}); it != stated.end()) {
          rewrite_figures.push_back(it->second ? rewrite.stated : rewrite.composed);
          paraphrase_figures.push_back(it->second ? paraphrase.stated : paraphrase.composed);
        }
        dataset_probes.push_back({rewrite_figures, r.request.sentence(), truth});
        for (const auto& p : r.paraphrase_prompts) dataset_probes.push_back({paraphrase_figures, p, truth});
        for (const auto& p : r.neighborhood_prompts) dataset_probes.push_back({{neighborhood}, p, truth});
        for (const auto& imp : r.implications) {
          const bool attribute = imp.kind == "relation_specificity";
          const std::string& fact = attribute ? imp.target_new : imp.target_old;
          if (fact.empty()) continue;
          std::optional<double> bar;
          if (imp.kind == "transitive_memorised" || imp.kind == "inverse" || imp.kind == "symmetric") bar = 0.90;
          if (imp.kind == "transitive_composed") bar = 0.70;
          const size_t f = dataset_figure(
              n + "/implied/" + imp.kind,
              fmt::format("{}: {} probes -> {}", n, imp.kind, attribute ? "the attribute" : "target_old"), bar);
          dataset_probes.push_back({{f}, imp.prompt, fact});
        }
      }
    }
  }
  auto figure = [&](const char* key) {
    for (auto& f : result.figures) {
      if (f.key == key) return &f;
    }
    fail("internal error: no figure {}", key);
  };
  result.relations.resize(world.relations.size());
  for (size_t i = 0; i < world.relations.size(); ++i) {
    result.relations[i].relation = world.relations[i].id;
    if (world.relations[i].composed) result.relations[i].unstated.emplace();
  }
  // Per phrasing, in world.json's order (sized before pointers into it are taken).
  std::vector<std::vector<size_t>> phrasing_rows(world.relations.size());
  for (size_t i = 0; i < world.relations.size(); ++i) {
    for (const bool held_out : {false, true}) {
      for (const auto& p : held_out ? world.relations[i].held_out : world.relations[i].train) {
        phrasing_rows[i].push_back(result.phrasings.size());
        result.phrasings.push_back({world.relations[i].id, p, held_out, {}});
      }
    }
  }
  const auto located_in_country = world.relation("located_in_country");
  const auto married_to = world.relation("married_to");

  // A never-stated composed fact is in distribution (Wang et al. 2024, "Grokked transformers are
  // implicit reasoners") when its bridge entity (the subject's city) is the bridge of some composed
  // fact stated in training: the model has seen that city's second hop inside a composition.
  std::map<std::pair<size_t, size_t>, size_t> object_of;  // (subject, relation) -> object
  for (const auto& f : world.facts) object_of.emplace(std::pair{f.subject, f.relation}, f.object);
  const auto bridge = [&](const WorldFact& f) -> std::optional<size_t> {
    const auto it = object_of.find({f.subject, world.relations[f.relation].first_hop});
    return it == object_of.end() ? std::nullopt : std::optional{it->second};
  };
  std::set<size_t> stated_bridges;
  for (const auto& f : world.facts) {
    if (!world.relations[f.relation].composed || !f.trained) continue;
    if (const auto b = bridge(f)) stated_bridges.insert(*b);
  }

  std::vector<Probe> probes;
  for (const auto& f : world.facts) {
    const WorldRelation& r = world.relations[f.relation];
    CheckRelationRow& row = result.relations[f.relation];
    const Entity& subject = world.entities[f.subject];
    const std::string answer = world.entities[f.object].mid();
    if (f.trained) {
      size_t k = 0;
      for (const auto& p : r.train) {
        Tally* phrasing = &result.phrasings[phrasing_rows[f.relation][k++]].tally;
        probes.push_back({render_prompt(p, subject),
                          answer,
                          {&figure("train_phrasings")->tally, &row.train, phrasing},
                          figure("train_phrasings")});
      }
      for (const auto& p : r.held_out) {
        Tally* phrasing = &result.phrasings[phrasing_rows[f.relation][k++]].tally;
        probes.push_back({render_prompt(p, subject),
                          answer,
                          {&figure("held_out_phrasings")->tally, &row.held_out, phrasing},
                          figure("held_out_phrasings")});
      }
    }
    const std::string canonical = render_prompt(r.train.front(), subject);
    if (f.trained && !r.composed && !subject.alias.empty()) {
      probes.push_back({render_prompt(r.train.front(), subject.under_alias()),
                        answer,
                        {&figure("aliases")->tally},
                        figure("aliases")});
    }
    if (r.composed && !f.trained) {
      CheckFigure* all = figure("composed_unstated");
      const auto b = bridge(f);
      CheckFigure* split = figure(b && stated_bridges.contains(*b) ? "composed_unstated_seen_bridge"
                                                                   : "composed_unstated_unseen_bridge");
      if (f.relation == located_in_country) {
        CheckFigure* landmarks = figure("transitive_unstated");
        probes.push_back(
            {canonical, answer, {&landmarks->tally, &all->tally, &split->tally, &*row.unstated}, landmarks});
      } else {
        probes.push_back({canonical, answer, {&all->tally, &split->tally, &*row.unstated}, all});
      }
    }
    if (f.relation == located_in_country && f.trained) {
      probes.push_back({canonical, answer, {&figure("transitive_stated")->tally}, figure("transitive_stated")});
    }
    if (f.relation == married_to) {
      CheckFigure* both = figure("marriages");
      if (f.trained) {
        probes.push_back({canonical, answer, {&both->tally}, both});
      } else {
        CheckFigure* reversal = figure("marriages_unstated_direction");
        probes.push_back({canonical, answer, {&both->tally, &reversal->tally}, both});
      }
    }
  }

  for (auto& p : dataset_probes) {
    std::vector<Tally*> tallies;
    for (const size_t f : p.figures) tallies.push_back(&result.figures[f].tally);
    probes.push_back({std::move(p.prompt), std::move(p.answer), std::move(tallies), &result.figures[p.figures.front()]});
  }

  std::vector<ScoreRequest> requests;
  requests.reserve(probes.size());
  for (const auto& p : probes) requests.push_back({p.prompt, p.answer});
  ScoringOptions scoring;
  scoring.max_batch_tokens = options.max_batch_tokens;
  const auto scores = score_targets(model, tokenizer, requests, scoring);

  std::vector<std::pair<CheckFigure*, CheckMiss>> misses;
  std::map<const CheckFigure*, int> miss_count;
  for (size_t i = 0; i < probes.size(); ++i) {
    const Probe& p = probes[i];
    for (Tally* t : p.tallies) {
      ++t->total;
      if (scores[i].greedy_correct) ++t->correct;
    }
    if (!scores[i].greedy_correct && miss_count[p.figure]++ < options.max_misses) {
      misses.push_back({p.figure, {p.prompt, p.answer, ""}});
    }
  }
  // What the model said instead: its greedy first token after each listed prompt.
  if (!misses.empty()) {
    std::vector<std::string> prefixes;
    for (const auto& [f, m] : misses) prefixes.push_back(m.prompt);
    ScoringOptions o;
    o.max_batch_tokens = options.max_batch_tokens;
    const auto logprobs = next_token_logprobs(model, tokenizer, prefixes, o);  // [N, V]
    const auto best = logprobs.argmax(-1).to(torch::kCPU);
    for (size_t i = 0; i < misses.size(); ++i) {
      misses[i].second.predicted = tokenizer.token_bytes(best[static_cast<int64_t>(i)].item<int64_t>());
      misses[i].first->misses.push_back(std::move(misses[i].second));
    }
  }
  // A dataset's figure that no probe reached (implications.json edits no fact never stated) is
  // left out rather than failed.
  std::erase_if(result.figures,
                [](const CheckFigure& f) { return f.tally.total == 0 && f.key.find('/') != std::string::npos; });
  result.prompts = static_cast<int64_t>(probes.size());
  result.seconds = seconds_since(start);
  return result;
}

nlohmann::ordered_json to_json(const CheckResult& result) {
  auto tally = [](const Tally& t) {
    return nlohmann::ordered_json{{"correct", t.correct}, {"total", t.total}, {"share", t.share()}};
  };
  nlohmann::ordered_json figures = nlohmann::ordered_json::object();
  for (const auto& f : result.figures) {
    nlohmann::ordered_json j = tally(f.tally);
    j["description"] = f.description;
    j["target"] = f.target ? nlohmann::ordered_json(*f.target) : nlohmann::ordered_json();
    j["passed"] = f.target ? nlohmann::ordered_json(f.passed()) : nlohmann::ordered_json();
    auto misses = nlohmann::ordered_json::array();
    for (const auto& m : f.misses)
      misses.push_back({{"prompt", m.prompt}, {"expected", m.expected}, {"predicted", m.predicted}});
    j["misses"] = std::move(misses);
    figures[f.key] = std::move(j);
  }
  auto relations = nlohmann::ordered_json::array();
  for (const auto& r : result.relations) {
    nlohmann::ordered_json j = {
        {"relation", r.relation}, {"train_phrasings", tally(r.train)}, {"held_out_phrasings", tally(r.held_out)}};
    if (r.unstated) j["unstated"] = tally(*r.unstated);
    relations.push_back(std::move(j));
  }
  auto phrasings = nlohmann::ordered_json::array();
  for (const auto& p : result.phrasings) {
    nlohmann::ordered_json j = {{"relation", p.relation}, {"phrasing", p.phrasing}, {"held_out", p.held_out}};
    const auto counts = tally(p.tally);  // a named object: items() of a temporary would dangle
    for (const auto& [key, value] : counts.items()) j[key] = value;
    phrasings.push_back(std::move(j));
  }
  bool all_passed = true;
  for (const auto& f : result.figures) all_passed = all_passed && f.passed();
  return {{"figures", std::move(figures)}, {"relations", std::move(relations)}, {"phrasings", std::move(phrasings)},
          {"all_targets_met", all_passed}, {"prompts", result.prompts},         {"seconds", result.seconds}};
}

}  // namespace editlab::toyworld
