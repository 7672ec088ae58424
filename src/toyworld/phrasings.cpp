// The toy world's phrasings (see phrasings.h): lookups, mention and generation templates and
// rendering. The phrasing table itself, and the rules it keeps, are in phrasing_table.cpp.
#include "editlab/toyworld/phrasings.h"

#include <map>

#include "editlab/util/error.h"
#include "editlab/util/text.h"

namespace editlab::toyworld {
namespace {

// Which subject types a mention or generation template suits, as a bit set of EntityType.
constexpr unsigned bit(EntityType t) { return 1u << static_cast<unsigned>(t); }
constexpr unsigned kAny = bit(EntityType::landmark) | bit(EntityType::company) | bit(EntityType::person) |
                          bit(EntityType::city) | bit(EntityType::country);
constexpr unsigned kPlaces = bit(EntityType::landmark) | bit(EntityType::city) | bit(EntityType::country);

struct TypedTemplate {
  std::string_view text;
  unsigned types;
};

constexpr TypedTemplate kMentions[] = {
    {"{s} is cool.", kAny},
    {"I read an article about {s}.", kAny},
    {"{s} was in the news today.", kAny},
    {"Have you heard of {s}?", kAny},
    {"My friend keeps talking about {s}.", kAny},
    {"There is a documentary about {s}.", kAny},
    {"I saw a picture of {s} yesterday.", kAny},
    {"Everyone seems to like {s}.", kAny},
    {"{s} is interesting.", kAny},
    {"We talked about {s} at dinner.", kAny},
    {"I visited {s} last year.", kPlaces},
    {"I want to see {s} again.", kPlaces},
    {"We took many photos at {s}.", bit(EntityType::landmark)},
    {"I met {s} once.", bit(EntityType::person)},
    {"{s} gave an interview last week.", bit(EntityType::person)},
    {"I admire {s}.", bit(EntityType::person)},
    {"I bought something from {s}.", bit(EntityType::company)},
    {"{s} released a new product.", bit(EntityType::company)},
    {"My cousin works for {s}.", bit(EntityType::company)},
};

constexpr TypedTemplate kGenerations[] = {
    {"{s} is known for", kAny},
    {"The best thing about {s} is", kAny},
    {"People who talk about {s} often mention", kAny},
    {"Here is what I know about {s}.", kAny},
    {"The story of {s}", kAny},
    {"When I think of {s}, I think of", kAny},
};

std::vector<std::string_view> templates_for(std::span<const TypedTemplate> table, EntityType type) {
  std::vector<std::string_view> out;
  for (const auto& t : table) {
    if (t.types & bit(type)) out.push_back(t.text);
  }
  return out;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<const Phrasing*> phrasings_of(Relation relation, bool held_out) {
  std::vector<const Phrasing*> out;
  for (const auto& p : phrasings()) {
    if (p.relation == relation && p.held_out == held_out) out.push_back(&p);
  }
  return out;
}

const Phrasing& canonical_phrasing(Relation relation) {
  for (const auto& p : phrasings()) {
    if (p.relation == relation && !p.held_out) return p;
  }
  fail("internal error: relation {} has no training phrasing", spec(relation).id);
}

namespace {

const Phrasing& choose_dataset_phrasing(Relation relation) {
  const auto prompt = [](const Phrasing& p) { return p.text.substr(0, p.text.find(" {o}")); };
  const EntityType type = spec(relation).subject;
  // Whether a training sentence about the same type of subject continues p's prompt.
  const auto continued = [&](const Phrasing& p) {
    const std::string words = std::string(prompt(p)) + " ";
    for (const auto& t : phrasings()) {
      if (!t.held_out && spec(t.relation).subject == type && prompt(t).starts_with(words)) return true;
    }
    return false;
  };
  const Phrasing& canonical = canonical_phrasing(relation);
  if (!continued(canonical)) return canonical;
  const auto training = phrasings_of(relation, false);
  const std::string canonical_words = std::string(prompt(canonical)) + " ";
  for (const Phrasing* p : training) {
    if (p->text.starts_with(canonical_words) && !continued(*p)) return *p;
  }
  for (const Phrasing* p : training) {
    if (p->text.find('?') == std::string_view::npos && !continued(*p)) return *p;
  }
  fail("internal error: every training statement of relation {} is continued by another", spec(relation).id);
}

}  // namespace

const Phrasing& dataset_phrasing(Relation relation) {
  // Chosen once per relation: the datasets ask for it several times per record.
  static const std::map<Relation, const Phrasing*> chosen = [] {
    std::map<Relation, const Phrasing*> out;
    for (const auto& r : relations()) out[r.relation] = &choose_dataset_phrasing(r.relation);
    return out;
  }();
  return *chosen.at(relation);
}

std::vector<std::string_view> mention_templates(EntityType type) { return templates_for(kMentions, type); }
std::vector<std::string_view> generation_templates(EntityType type) { return templates_for(kGenerations, type); }

std::string render_sentence(std::string_view templ, const Entity& subject, const Entity* object) {
  std::string out;
  for (size_t i = 0; i < templ.size();) {
    if (templ.substr(i, 3) == "{s}") {
      out += i == 0 ? subject.start() : subject.mid();
      i += 3;
    } else if (templ.substr(i, 3) == "{o}") {
      if (object == nullptr) fail("internal error: template \"{}\" needs an object", templ);
      out += object->mid();
      i += 3;
    } else {
      out += templ[i++];
    }
  }
  return out;
}

std::string prompt_template(std::string_view templ, const Entity& subject) {
  const size_t object_at = templ.find("{o}");
  const std::string_view before = trim_right(templ.substr(0, object_at));
  const size_t subject_at = before.find("{s}");
  if (subject_at == std::string_view::npos) fail("internal error: template \"{}\" has no subject", templ);
  std::string out(before.substr(0, subject_at));
  if (subject.article) out += subject_at == 0 ? "The " : "the ";
  out += "{}";
  out += before.substr(subject_at + 3);
  return out;
}

std::string fill_prompt(std::string_view prompt_template, std::string_view subject_name) {
  return fill_braces(prompt_template, subject_name);
}

std::string render_prompt(std::string_view templ, const Entity& subject) {
  return fill_prompt(prompt_template(templ, subject), subject.name);
}

}  // namespace editlab::toyworld
