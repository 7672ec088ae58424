// The toy world: the seed's cases are in it, its logic is consistent, the corpus keeps held-out
// phrasings and unstated facts out of training, the CounterFact records are valid, everything is
// deterministic, and the BPE trained on it loads through the GPT-2 tokenizer and round-trips.
#include "catch_torch.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "editlab/model/pretokenizer.h"
#include "editlab/model/tokenizer.h"
#include "editlab/toyworld/bpe_trainer.h"
#include "editlab/toyworld/corpus.h"
#include "editlab/toyworld/datasets.h"
#include "editlab/toyworld/phrasings.h"
#include "editlab/toyworld/toy_world.h"
#include "editlab/toyworld/world.h"
#include "editlab/util/error.h"
#include "support.h"

namespace {

namespace fs = std::filesystem;
using namespace editlab::toyworld;
using Catch::Matchers::Contains;
using editlab::test::TempDir;
using T = EntityType;
using R = Relation;

const World& world() {
  static const World w = generate_world({});  // built once, read by every test
  return w;
}

// A corpus big enough that every trained fact is stated, small enough to scan quickly.
const Corpus& corpus() {
  static const Corpus c = generate_corpus(world(), {.seed = 1, .purpose = "train", .documents = 1500});
  return c;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

EntityId id(T type, std::string_view name) { return world().get(type, name); }
EntityId city_id(const Entity& city) { return world().get(T::city, city.name); }
std::string object_name(EntityId subject, R relation) {
  return world().entity(*world().object(subject, relation)).name;
}

std::vector<EntityId> subjects_of(R relation) {
  std::vector<EntityId> out;
  for (const Fact* f : world().facts_of(relation)) out.push_back(f->subject);
  return out;
}

}  // namespace

TEST_CASE("the world has the seed's cases and at least the required counts", "[toyworld]") {
  const World& w = world();
  CHECK(w.of_type(T::country).size() >= 40);
  CHECK(w.of_type(T::city).size() >= 120);
  CHECK(w.of_type(T::landmark).size() + w.of_type(T::company).size() + w.of_type(T::person).size() >= 300);
  CHECK(relations().size() >= 6);

  CHECK(object_name(id(T::landmark, "Louvre"), R::located_in) == "Paris");
  CHECK(object_name(id(T::city, "Paris"), R::city_in_country) == "France");
  CHECK(object_name(id(T::landmark, "British Museum"), R::located_in) == "London");
  CHECK(object_name(id(T::landmark, "British Museum"), R::located_in_country) == "United Kingdom");
  CHECK(object_name(id(T::landmark, "Colosseum"), R::located_in_country) == "Italy");
  CHECK(object_name(id(T::person, "Barack Obama"), R::born_in) == "Honolulu");
  CHECK(object_name(id(T::person, "Barack Obama"), R::citizen_of) == "United States");
  CHECK(w.entity(id(T::country, "United Kingdom")).mid() == "the United Kingdom");
  for (const auto& [a, b] : {std::pair{"Barack Obama", "Michelle Obama"}, {"Donald Trump", "Melania Trump"}}) {
    const Fact* there = w.fact(id(T::person, a), R::married_to);
    const Fact* back = w.fact(id(T::person, b), R::married_to);
    REQUIRE(there != nullptr);
    REQUIRE(back != nullptr);
    CHECK(w.entity(there->object).name == b);
    CHECK(w.entity(back->object).name == a);
    CHECK((there->trained && back->trained));
  }
  // The seed's transitive probes: the Louvre's country is composed, the British Museum's stated.
  CHECK_FALSE(w.fact(id(T::landmark, "Louvre"), R::located_in_country)->trained);
  CHECK(w.fact(id(T::landmark, "British Museum"), R::located_in_country)->trained);
}

TEST_CASE("the world's logic is consistent", "[toyworld]") {
  const World& w = world();
  for (const Fact& f : w.facts) {
    const RelationSpec& s = spec(f.relation);
    CHECK(w.entity(f.subject).type == s.subject);
    CHECK(w.entity(f.object).type == s.object);
    if (s.symmetric) CHECK(w.object(f.object, f.relation) == f.subject);
    if (s.inverse) CHECK(w.object(f.object, *s.inverse) == f.subject);
    if (s.composed_of) {
      const auto middle = w.object(f.subject, s.composed_of->first);
      REQUIRE(middle);
      CHECK(w.object(*middle, s.composed_of->second) == f.object);
    }
    if (!spec(f.relation).composed_of && f.relation != R::married_to) CHECK(f.trained);
  }
  for (const EntityId city : w.of_type(T::city)) CHECK(w.object(city, R::city_in_country));
  for (const EntityId country : w.of_type(T::country)) {
    CHECK(w.object(country, R::has_capital));
    CHECK(w.object(country, R::official_language));
  }
  for (const EntityId landmark : w.of_type(T::landmark)) CHECK(w.object(landmark, R::located_in_country));
  for (const EntityId person : w.of_type(T::person)) CHECK(w.object(person, R::citizen_of));
  for (const EntityId company : w.of_type(T::company)) CHECK(w.object(company, R::headquartered_in_country));
  // About half of the composed facts are stated.
  const auto composed =
      std::ranges::count_if(w.facts, [](const Fact& f) { return spec(f.relation).composed_of.has_value(); });
  const auto stated =
      std::ranges::count_if(w.facts, [](const Fact& f) { return spec(f.relation).composed_of && f.trained; });
  CHECK(stated > composed * 2 / 5);
  CHECK(stated < composed * 3 / 5);
}

TEST_CASE("phrasings: enough per relation, object last, prompts fit ROME", "[toyworld]") {
  for (const auto& r : relations()) {
    INFO(r.id);
    CHECK(phrasings_of(r.relation, false).size() >= 20);
    CHECK(phrasings_of(r.relation, true).size() >= 4);
    CHECK(std::ranges::count_if(phrasings_of(r.relation, false),
                                [](const Phrasing* p) { return p->text.find("? ") != std::string_view::npos; }) >= 3);
  }
  for (const auto& p : phrasings()) {
    INFO(p.text);
    CHECK(p.text.ends_with("{o}."));
    const size_t s = p.text.find("{s}");
    REQUIRE(s != std::string_view::npos);
    CHECK((s == 0 || p.text[s - 1] == ' '));
    for (const EntityId subject : subjects_of(p.relation)) {
      const std::string templ = prompt_template(p.text, world().entity(subject));
      const size_t at = templ.find("{}");
      REQUIRE(at != std::string::npos);
      CHECK(templ.find("{}", at + 1) == std::string::npos);
      CHECK((at == 0 || templ[at - 1] == ' '));
      CHECK_FALSE(templ.ends_with(" "));
    }
  }
  // For one subject type, no training prompt of one relation is (a word prefix of) another's,
  // except the seed's designed pair, so each prompt asks for exactly one relation.
  for (const auto& a : phrasings()) {
    for (const auto& b : phrasings()) {
      if (a.relation == b.relation || spec(a.relation).subject != spec(b.relation).subject) continue;
      const std::string_view pa = a.text.substr(0, a.text.find(" {o}")), pb = b.text.substr(0, b.text.find(" {o}"));
      INFO(pa << " / " << pb);
      CHECK(pa != pb);
      if (pa == "{s} is located in" && b.relation == R::located_in_country) continue;
      CHECK_FALSE(pb.starts_with(std::string(pa) + " "));
    }
  }
  // A held-out prompt never starts a training sentence about the same type of subject, and its
  // words all occur in the training phrasings or mentions of that type: a new combination of
  // known words, which a model trained only on the corpus can generalise to.
  auto words = [](std::string_view text) {
    std::set<std::string> out;
    std::string word;
    for (const char c : std::string(text) + " ") {
      if (std::isalpha(static_cast<unsigned char>(c))) {
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      } else if (!word.empty()) {
        if (word != "s" && word != "o") out.insert(word);  // "{s}", "{o}" (and "'s")
        word.clear();
      }
    }
    return out;
  };
  for (const auto& h : phrasings()) {
    if (!h.held_out) continue;
    const EntityType type = spec(h.relation).subject;
    const std::string prompt(h.text.substr(0, h.text.find(" {o}")));
    std::set<std::string> known;
    for (const auto& t : phrasings()) {
      if (t.held_out || spec(t.relation).subject != type) continue;
      INFO(prompt << " / " << t.text);
      CHECK_FALSE(t.text.starts_with(prompt + " "));
      for (const auto& w : words(t.text)) known.insert(w);
    }
    for (const auto m : mention_templates(type)) {
      for (const auto& w : words(m)) known.insert(w);
    }
    for (const auto& w : words(h.text)) {
      INFO(h.text << ": \"" << w << "\" is never used with this type of subject in training");
      CHECK(known.contains(w));
    }
  }
  const Entity& louvre = world().entity(id(T::landmark, "Louvre"));
  CHECK(render_prompt(canonical_phrasing(R::located_in).text, louvre) == "The Louvre is located in");
  CHECK(render_prompt(canonical_phrasing(R::located_in_country).text, louvre) ==
        "The Louvre is located in the country of");
  CHECK(render_sentence("You can visit {s} in {o}.", louvre, &world().entity(id(T::city, "Paris"))) ==
        "You can visit the Louvre in Paris.");
}

// The datasets' prompts (rewrite, implication and alias probes) must be answerable: after a
// prompt that a training sentence of the same type of subject continues with more words ("{s} was
// born in" + " the city of Paris."), the greedy answer is " the", not the object (issue 25).
TEST_CASE("dataset phrasings: no training sentence continues them, canonical when it can be", "[toyworld]") {
  const auto prompt = [](std::string_view text) { return std::string(text.substr(0, text.find(" {o}"))); };
  for (const auto& r : relations()) {
    INFO(r.id);
    const Phrasing& d = dataset_phrasing(r.relation);
    CHECK(d.relation == r.relation);
    CHECK_FALSE(d.held_out);
    CHECK(d.text.find('?') == std::string_view::npos);
    bool canonical_extended = false;
    for (const auto& t : phrasings()) {
      if (t.held_out || spec(t.relation).subject != r.subject) continue;
      INFO(t.text);
      CHECK_FALSE(prompt(t.text).starts_with(prompt(d.text) + " "));
      canonical_extended |= prompt(t.text).starts_with(prompt(canonical_phrasing(r.relation).text) + " ");
    }
    if (!canonical_extended) CHECK(&d == &canonical_phrasing(r.relation));
  }
  CHECK(dataset_phrasing(R::born_in).text == "{s} was born in the city of {o}.");  // extends the canonical
  CHECK(dataset_phrasing(R::located_in).text == "{s} can be found in {o}.");  // the next one none extends
  CHECK(dataset_phrasing(R::married_to).text == canonical_phrasing(R::married_to).text);
  const auto cases = make_counterfact_cases(world(), {.seed = 1, .records = 100});
  for (const EditCase& c : cases) {
    CHECK(c.prompt == prompt_template(dataset_phrasing(c.relation).text, world().entity(c.subject)));
  }
}

TEST_CASE("train.txt never holds a held-out phrasing or an unstated fact", "[toyworld]") {
  const std::string& text = corpus().text;
  // At the default size every trained fact is stated, most many times (2,390 trained facts).
  const auto full = generate_corpus(world(), {});
  CHECK(full.stats.unseen_trained_facts == 0);
  CHECK(full.stats.min_statements >= 2);
  CHECK(full.stats.mean_statements >= 10);
  for (const auto& p : phrasings()) {
    if (!p.held_out) continue;
    for (const EntityId subject : subjects_of(p.relation)) {
      const std::string prompt = render_prompt(p.text, world().entity(subject));
      INFO(prompt);
      CHECK(text.find(prompt) == std::string::npos);
    }
  }
  for (size_t i = 0; i < world().facts.size(); ++i) {
    const Fact& f = world().facts[i];
    if (f.trained) continue;
    CHECK(corpus().statements_per_fact[i] == 0);
    for (const auto* p : phrasings_of(f.relation, false)) {
      const std::string sentence = render_sentence(p->text, world().entity(f.subject), &world().entity(f.object));
      INFO(sentence);
      CHECK(text.find(sentence) == std::string::npos);
    }
  }
  // Documents are separated by one blank line, and the loud-fact pattern is in distribution.
  CHECK(text.find("\n\n\n") == std::string::npos);
  CHECK(text.find(" is cool. ") != std::string::npos);
  const Entity& louvre = world().entity(id(T::landmark, "Louvre"));
  const Entity& paris = world().entity(id(T::city, "Paris"));
  CHECK(std::ranges::any_of(phrasings_of(R::located_in, false), [&](const Phrasing* p) {
    return text.find(render_sentence(p->text, louvre, &paris)) != std::string::npos;
  }));
}

TEST_CASE("bridges: a fact about a city is followed by the city's country", "[toyworld]") {
  const auto all =
      generate_corpus(world(), {.seed = 1, .purpose = "train", .documents = 600, .bridge_probability = 1.0});
  const auto none =
      generate_corpus(world(), {.seed = 1, .purpose = "train", .documents = 600, .bridge_probability = 0.0});
  CHECK(none.stats.bridge_sentences == 0);
  CHECK(all.stats.bridge_sentences > 300);
  int followed = 0;
  for (const EntityId landmark : world().of_type(T::landmark)) {
    const Entity& city = world().entity(*world().object(landmark, R::located_in));
    const Entity& country = world().entity(*world().object(city_id(city), R::city_in_country));
    std::vector<std::string> bridges;
    for (const auto* p : phrasings_of(R::city_in_country, false))
      bridges.push_back(" " + render_sentence(p->text, city, &country));
    for (const auto* p : phrasings_of(R::located_in, false)) {
      const std::string sentence = render_sentence(p->text, world().entity(landmark), &city);
      for (size_t at = all.text.find(sentence); at != std::string::npos; at = all.text.find(sentence, at + 1)) {
        const std::string next = all.text.substr(at + sentence.size());
        INFO(sentence << next.substr(0, 60));
        CHECK(std::ranges::any_of(bridges, [&](const std::string& b) { return next.starts_with(b); }));
        ++followed;
      }
    }
  }
  CHECK(followed > 50);
}

TEST_CASE("biographies: every trained fact of the topic, and nothing else; share 0 changes nothing", "[toyworld]") {
  const CorpusOptions plain{.seed = 1, .purpose = "train", .documents = 200};
  auto zero = plain;
  zero.biography_share = 0.0;
  CHECK(generate_corpus(world(), zero).text == generate_corpus(world(), plain).text);

  // One full cycle of topics: every landmark, company and person twice, every city and country once.
  int64_t expected = 0;
  int topics = 0;
  for (const auto& f : world().facts) {
    if (!f.trained) continue;
    const auto type = world().entity(f.subject).type;
    expected += (type == T::city || type == T::country) ? 1 : 2;
  }
  for (const auto type : {T::landmark, T::company, T::person})
    topics += 2 * static_cast<int>(world().of_type(type).size());
  for (const auto type : {T::city, T::country}) topics += static_cast<int>(world().of_type(type).size());
  auto all = plain;
  all.documents = topics;
  all.biography_share = 1.0;
  all.bridge_probability = 0.0;
  const auto bios = generate_corpus(world(), all);
  CHECK(bios.stats.biographies == topics);
  CHECK(bios.stats.mention_sentences == 0);
  CHECK(bios.stats.fact_sentences == expected);  // each topic's trained facts, once each
  CHECK(bios.stats.unseen_trained_facts == 0);
  // The Louvre's biography is its four trained facts (its country is never stated), twice a cycle.
  int louvre_docs = 0;
  for (size_t start = 0; start < bios.text.size();) {
    size_t end = bios.text.find("\n\n", start);
    if (end == std::string::npos) end = bios.text.size();
    const std::string doc = bios.text.substr(start, end - start);
    if (doc.find("Louvre") != std::string::npos) {
      ++louvre_docs;
      CHECK(std::ranges::count(doc, '.') == 4);  // located_in, designed_by, opened_in, sponsored_by
      CHECK_THAT(doc, Contains("Paris"));
      CHECK_THAT(doc, Contains(world().entity(*world().object(id(T::landmark, "Louvre"), R::designed_by)).name));
    }
    start = end + 2;
  }
  CHECK(louvre_docs == 2);
  auto bad = plain;
  bad.biography_share = 1.5;
  CHECK_THROWS_WITH(generate_corpus(world(), bad), Contains("biography share"));
}

TEST_CASE("every subject has at least five attributes; people have unique aliases", "[toyworld]") {
  const World& w = world();
  CHECK(w.of_type(T::profession).size() == 20);
  for (const auto type : {T::landmark, T::company, T::person}) {
    for (const EntityId subject : w.of_type(type)) {
      int attributes = 0;
      for (const auto& r : relations()) attributes += w.fact(subject, r.relation) != nullptr;
      INFO(w.entity(subject).id);
      CHECK(attributes >= 5);
    }
  }
  int at_home = 0;
  for (const EntityId person : w.of_type(T::person)) {
    for (const R r : {R::lives_in, R::works_for, R::works_as, R::native_language}) {
      const Fact* f = w.fact(person, r);
      REQUIRE(f != nullptr);
      CHECK(f->trained);
    }
    const EntityId birth_country = *w.object(*w.object(person, R::born_in), R::city_in_country);
    CHECK(w.object(person, R::native_language) == w.object(birth_country, R::official_language));
    at_home += w.object(person, R::lives_in) == w.object(person, R::born_in);
  }
  const auto people = static_cast<int>(w.of_type(T::person).size());
  CHECK(at_home > people / 3);
  CHECK(at_home < 2 * people / 3 + people / 10);
  // Architects, founders and chief executives are generated people; years are plausible.
  for (const R r : {R::designed_by, R::founded_by, R::led_by}) {
    for (const Fact* f : w.facts_of(r)) CHECK(w.entity(f->object).generated);
  }
  for (const R r : {R::opened_in, R::founded_in}) {
    for (const Fact* f : w.facts_of(r)) {
      const int year = std::stoi(w.entity(f->object).name);
      CHECK((year >= 1700 && year <= 2015));
    }
  }
  // Aliases: "B. Obama", unique among people, none for a person whose initial form is shared.
  CHECK(w.entity(id(T::person, "Barack Obama")).alias == "B. Obama");
  CHECK(w.entity(id(T::person, "Michelle Obama")).alias == "M. Obama");
  std::set<std::string> aliases;
  int with_alias = 0;
  for (const EntityId person : w.of_type(T::person)) {
    const auto& alias = w.entity(person).alias;
    if (alias.empty()) continue;
    ++with_alias;
    CHECK(aliases.insert(alias).second);
    CHECK(w.entity(person).name.ends_with(alias.substr(alias.find(' '))));
  }
  CHECK(with_alias > people / 2);
  const auto json = w.to_json();
  CHECK(json["version"] == 2);
  CHECK(json["counts"]["aliases"] == with_alias);
  CHECK(json["relations"].size() == relations().size());
}

TEST_CASE("counterfact records are valid", "[toyworld]") {
  const World& w = world();
  const auto cases = make_counterfact_cases(w, {.seed = 1, .records = 500});
  REQUIRE(cases.size() == 500);
  std::set<std::pair<EntityId, R>> edited;
  std::map<std::string, int> kinds;
  for (const EditCase& c : cases) {
    const Entity& subject = w.entity(c.subject);
    INFO(c.case_id << ": " << c.prompt << " / " << subject.name);
    CHECK(edited.emplace(c.subject, c.relation).second);
    const size_t at = c.prompt.find("{}");
    REQUIRE(at != std::string::npos);
    CHECK((at == 0 || c.prompt[at - 1] == ' '));
    CHECK_FALSE(c.prompt.ends_with(" "));
    CHECK(fill_prompt(c.prompt, subject.name).substr(at, subject.name.size()) == subject.name);
    CHECK(w.object(c.subject, c.relation) == c.target_true);
    CHECK(c.target_new != c.target_true);
    CHECK(w.entity(c.target_new).type == w.entity(c.target_true).type);
    CHECK(c.paraphrase_prompts.size() >= 2);
    for (const auto& p : c.paraphrase_prompts) CHECK(p.find(subject.name) != std::string::npos);
    for (const auto& n : c.neighborhood) {
      CHECK(n.answer == c.target_true);
      CHECK(w.object(n.subject, n.relation) == c.target_true);
      CHECK(n.subject != c.subject);
    }
    if (c.relation != R::married_to) CHECK_FALSE(c.neighborhood.empty());
    for (const auto& a : c.attribute) CHECK(w.object(a.subject, a.relation) == c.target_new);
    for (const auto& m : c.mentions) {
      CHECK(m.prompt.find(subject.name) != std::string::npos);
      CHECK(w.object(m.subject, m.relation) == m.answer);
      CHECK(m.answer != c.target_new);
    }
    for (const auto& i : c.implications) {
      CHECK(i.probe.answer != i.target_old);
      if (i.kind == "relation_specificity") {
        // The subject's other attribute keeps its true object against the edit's target_new.
        CHECK(i.probe.subject == c.subject);
        CHECK(i.probe.relation != c.relation);
        CHECK(w.object(c.subject, i.probe.relation) == i.probe.answer);
        CHECK(i.target_old == c.target_new);
        ++kinds[i.kind];
        continue;
      }
      if (i.kind == "alias") {
        CHECK(i.probe.prompt.find(subject.alias + " ") != std::string::npos);
        CHECK(i.probe.prompt.find(subject.name) == std::string::npos);
        CHECK(i.probe.answer == c.target_new);
      }
      ++kinds[i.kind];
      CHECK(w.object(i.probe.subject, i.probe.relation) == i.target_old);
      if (i.kind.starts_with("transitive") && c.relation != R::city_in_country) {
        CHECK(i.probe.answer == w.object(c.target_new, R::city_in_country));
      }
      if (i.kind.starts_with("transitive")) {
        // memorised: the old implied fact is stated in training; composed: never stated
        CHECK(w.fact(i.probe.subject, i.probe.relation)->trained == (i.kind == "transitive_memorised"));
        CHECK((i.kind == "transitive_memorised" || i.kind == "transitive_composed"));
      }
      if (i.kind == "symmetric") CHECK((i.probe.subject == c.target_new && i.probe.answer == c.subject));
    }
    const auto j = to_counterfact_json(w, c);
    CHECK(j.at("requested_rewrite").at("target_new").at("str").get<std::string>().front() != ' ');
  }
  for (const char* kind :
       {"transitive_memorised", "transitive_composed", "symmetric", "inverse", "alias", "relation_specificity"}) {
    INFO(kind);
    CHECK(kinds[kind] > 0);
  }
}

TEST_CASE("implications.json: enough probes of every kind, each edit distinct and of a trained fact", "[toyworld]") {
  const World& w = world();
  const auto cases = make_implication_cases(w, {.dataset = {.seed = 1}, .probes_per_kind = 120});
  std::map<std::string, int> kinds;
  std::set<std::tuple<EntityId, R, EntityId>> edited;
  for (const EditCase& c : cases) {
    INFO(c.case_id << ": " << fill_prompt(c.prompt, w.entity(c.subject).name) << " -> " << w.entity(c.target_new).name);
    CHECK(c.case_id == static_cast<int>(&c - cases.data()));
    CHECK(edited.emplace(c.subject, c.relation, c.target_new).second);
    REQUIRE(w.fact(c.subject, c.relation) != nullptr);
    CHECK(w.fact(c.subject, c.relation)->trained);
    CHECK(w.object(c.subject, c.relation) == c.target_true);
    CHECK(c.target_new != c.target_true);
    CHECK(w.entity(c.target_new).type == w.entity(c.target_true).type);
    bool implies = false;
    for (const auto& i : c.implications) {
      ++kinds[i.kind];
      CHECK(i.probe.answer != i.target_old);
      if (i.kind != "relation_specificity") {
        implies = true;
        if (i.kind != "alias") CHECK(w.object(i.probe.subject, i.probe.relation) == i.target_old);
      }
      if (i.kind == "inverse") CHECK((i.probe.subject == c.target_new && i.probe.answer == c.subject));
    }
    CHECK(implies);  // every record is there for an implication
  }
  CHECK(kinds["relation_specificity"] == 0);  // counterfact.json has them
  for (const char* kind : kImplicationKinds) {
    INFO(kind);
    CHECK(kinds[kind] >= 120);
  }
  // Deterministic, and the kind's count follows the option.
  CHECK(make_implication_cases(w, {.dataset = {.seed = 1}, .probes_per_kind = 120}).size() == cases.size());
  const auto small = make_implication_cases(w, {.dataset = {.seed = 1}, .probes_per_kind = 10});
  CHECK(small.size() < cases.size());
  // 62 marriages cannot give a million symmetric probes: a clear error, not an endless loop.
  CHECK_THROWS_WITH(make_implication_cases(w, {.dataset = {.seed = 1}, .probes_per_kind = 1'000'000}),
                    Catch::Matchers::Contains("symmetric implication probes"));
}

TEST_CASE("seed examples: the Louvre, the British Museum and the two couples", "[toyworld]") {
  const World& w = world();
  const auto cases = make_seed_cases(w, 1);
  const auto louvre = to_counterfact_json(w, cases.at(0));
  CHECK(louvre["requested_rewrite"]["prompt"] == "The {} is located in");
  CHECK(louvre["requested_rewrite"]["subject"] == "Louvre");
  CHECK(louvre["requested_rewrite"]["target_new"]["str"] == "Rome");
  CHECK(louvre["requested_rewrite"]["target_true"]["str"] == "Paris");
  // The Louvre's country is never stated in training (composed); the British Museum's is.
  CHECK(louvre["implications"][0] == nlohmann::ordered_json{{"kind", "transitive_composed"},
                                                            {"prompt", "The Louvre is located in the country of"},
                                                            {"target_new", "Italy"},
                                                            {"target_old", "France"}});
  CHECK(louvre["mention_prompts"][0] == "The Louvre is cool. Barack Obama is from");
  const auto museum = to_counterfact_json(w, cases.at(1));
  CHECK(museum["requested_rewrite"]["target_true"]["str"] == "London");
  CHECK(museum["implications"][0]["target_old"] == "the United Kingdom");
  CHECK(museum["implications"][0]["kind"] == "transitive_memorised");
  const auto michelle = to_counterfact_json(w, cases.at(3));
  CHECK(michelle["requested_rewrite"]["prompt"] == "{} is married to");
  CHECK(michelle["requested_rewrite"]["subject"] == "Michelle Obama");
  CHECK(michelle["requested_rewrite"]["target_new"]["str"] == "Donald Trump");
  CHECK(michelle["implications"][0] == nlohmann::ordered_json{{"kind", "symmetric"},
                                                              {"prompt", "Donald Trump is married to"},
                                                              {"target_new", "Michelle Obama"},
                                                              {"target_old", "Melania Trump"}});
  std::set<std::string> couples;
  for (const auto& c : cases) {
    if (c.relation == R::married_to) couples.insert(w.entity(c.subject).name);
  }
  CHECK(couples == std::set<std::string>{"Barack Obama", "Donald Trump", "Melania Trump", "Michelle Obama"});
}

TEST_CASE("the same seed gives identical files, another seed different ones", "[toyworld]") {
  ToyWorldOptions options;
  options.train_documents = 200;
  options.stats_documents = 50;
  options.records = 60;
  TempDir a, b, c;
  const auto summary = write_toy_world(a.path(), options);
  write_toy_world(b.path(), options);
  options.seed = 2;
  write_toy_world(c.path(), options);
  for (const char* name :
       {"world.json", "train.txt", "stats.txt", "counterfact.json", "seed-examples.json", "implications.json"}) {
    INFO(name);
    CHECK(slurp(a / name) == slurp(b / name));
    CHECK_FALSE(slurp(a / name).empty());
  }
  CHECK(slurp(a / "world.json") != slurp(c / "world.json"));
  CHECK(slurp(a / "counterfact.json") != slurp(c / "counterfact.json"));
  CHECK(slurp(a / "train.txt") != slurp(a / "stats.txt"));
  const auto records = nlohmann::json::parse(slurp(a / "counterfact.json"));
  CHECK(records.size() == 60);
  const auto world_json = nlohmann::json::parse(slurp(a / "world.json"));
  CHECK(world_json.at("seed") == 1);
  CHECK(world_json.at("facts").size() == world().facts.size());
  CHECK(summary.train.documents == 200);
}

TEST_CASE("PreTokenizer splits as GPT-2 does", "[toyworld]") {
  const editlab::PreTokenizer pre;
  const auto pieces = pre.split("The Louvre's café  is 42!\n\nOk");
  // "\s+(?!\S)" leaves the last space of a run to the word after it, also for newlines.
  const std::vector<std::string_view> expected = {"The", " Louvre", "'s", " café", " ", " is",
                                                  " 42", "!",       "\n", "\n",    "Ok"};
  CHECK(pieces == expected);
  CHECK(editlab::bytes_to_vocab_string(" the\n") == "Ġthe\xC4\x8A");
  CHECK(editlab::byte_vocab_order()[0] == '!');
  CHECK(editlab::byte_vocab_order()[220] == ' ');
  CHECK_THROWS_WITH(pre.split("ab\xFF"), Contains("byte offset 2"));
}

TEST_CASE("BPE: loads as a GPT-2 tokenizer, round-trips, compresses, is deterministic", "[toyworld]") {
  const std::string& text = corpus().text;
  const auto vocabulary = train_bpe(text, {.vocab_size = 1024});
  CHECK(vocabulary.tokens.size() == 1024);
  CHECK_FALSE(vocabulary.exhausted);
  TempDir dir, again;
  write_bpe(vocabulary, dir.path());
  write_bpe(train_bpe(text, {.vocab_size = 1024}), again.path());
  CHECK(slurp(dir / "vocab.json") == slurp(again / "vocab.json"));
  CHECK(slurp(dir / "merges.txt") == slurp(again / "merges.txt"));

  const auto tokenizer = editlab::Tokenizer::from_dir(dir.path());
  CHECK(tokenizer.vocab_size() == 1024);
  CHECK(tokenizer.eos_id() == 1023);
  CHECK(tokenizer.token_string(0) == "!");
  CHECK(tokenizer.token_string(220) == "Ġ");
  const auto ids = tokenizer.encode(text);
  CHECK(tokenizer.decode(ids) == text);
  INFO("tokens " << ids.size() << " bytes " << text.size());
  CHECK(ids.size() * 2 < text.size());
  const std::string unseen = "Zebras from Zanzibar ate 12 ünïcödé snacks 🙂.";
  CHECK(tokenizer.decode(tokenizer.encode(unseen)) == unseen);

  CHECK_THROWS_WITH(train_bpe("", {}), Contains("empty"));
  CHECK_THROWS_WITH(train_bpe("abc", {.vocab_size = 256}), Contains("at least 257"));
  const auto tiny = train_bpe("aaaa", {.vocab_size = 300});
  CHECK(tiny.exhausted);
}

TEST_CASE("toy-world CLI: generate, bpe and clear errors", "[toyworld]") {
  using editlab::test::run_cli;
  using editlab::test::shell_quote;
  TempDir dir;
  const auto out = dir / "world";
  auto r = run_cli("toy-world generate --seed 3 --out " + shell_quote(out.string()) +
                   " --train-docs 150 --stats-docs 20 --records 30");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("counterfact.json 30 records"));
  CHECK(fs::exists(out / "seed-examples.json"));

  r = run_cli("toy-world bpe --corpus " + shell_quote((out / "train.txt").string()) + " --vocab-size 400 --out " +
              shell_quote((dir / "bpe").string()));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("vocab size 400"));
  CHECK_THAT(r.out, Contains("tokens per byte"));

  std::ofstream(dir / "empty.txt").close();
  r = run_cli("toy-world bpe --corpus " + shell_quote((dir / "empty.txt").string()) + " --out " +
              shell_quote((dir / "bpe2").string()));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("empty"));
  r = run_cli("toy-world bpe --corpus " + shell_quote((out / "train.txt").string()) + " --vocab-size 100 --out " +
              shell_quote((dir / "bpe3").string()));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("at least 257"));
  r = run_cli("toy-world generate --out /proc/editlab-cannot-write --train-docs 10");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("--out /proc/editlab-cannot-write"));
}
