// The toy world's phrasings (see phrasings.h).
//
// Rules the tables keep (tests/test_toyworld.cpp checks them):
// - every relation has at least 6 training and 2 held-out phrasings, object last;
// - for one subject type, no two relations share a prompt, and a held-out prompt is never a
//   prefix of a training sentence, so paraphrase probes are truly unseen;
// - a held-out phrasing is a new combination of words and constructions that the relation's
//   training phrasings use (the verb of one in the frame of another: "{s} stands in the city
//   of" + "{s} is in the country of" -> "{s} stands in the country of"), ending with words that
//   announce the relation's object in training ("in the country of", "a native of", "wed to").
//   A model trained only on this corpus can then answer it by generalising, not by knowing
//   words it never saw with the relation. (Measured: held-out endings that training follows
//   with something else fail whatever the model knows: "The birthplace of {s} was" gets
//   " born", "{s} wed" gets a first name; see README, "The toy world".)
// - the only designed overlap is the seed's: "{s} is located in {o}." (a city) and
//   "{s} is located in the country of {o}." (a country). The city phrasing is canonical and so
//   twice as frequent, which keeps " Paris" ahead of " the" after "The Louvre is located in".
#include "editlab/toyworld/phrasings.h"

#include "editlab/util/error.h"

namespace editlab::toyworld {
namespace {

using R = Relation;

constexpr Phrasing kPhrasings[] = {
    {R::located_in, "{s} is located in {o}.", false},
    {R::located_in, "{s} can be found in {o}.", false},
    {R::located_in, "{s} stands in the city of {o}.", false},
    {R::located_in, "You can visit {s} in {o}.", false},
    {R::located_in, "{s} is a famous sight in {o}.", false},
    {R::located_in, "The city that is home to {s} is {o}.", false},
    {R::located_in, "{s} is located in the city of {o}.", true},
    {R::located_in, "You can see {s} in {o}.", true},

    {R::located_in_country, "{s} is located in the country of {o}.", false},
    {R::located_in_country, "{s} is in the country of {o}.", false},
    {R::located_in_country, "The country where {s} stands is {o}.", false},
    {R::located_in_country, "{s} belongs to the heritage of {o}.", false},
    {R::located_in_country, "Visitors to {s} travel to the country of {o}.", false},
    {R::located_in_country, "The home country of {s} is {o}.", false},
    {R::located_in_country, "{s} stands in the country of {o}.", true},
    {R::located_in_country, "{s} is found in the country of {o}.", true},

    {R::city_in_country, "{s} is a city in {o}.", false},
    {R::city_in_country, "{s} is a place in {o}.", false},
    {R::city_in_country, "{s} lies in {o}.", false},
    {R::city_in_country, "The city of {s} is in {o}.", false},
    {R::city_in_country, "{s} is one of the cities of {o}.", false},
    {R::city_in_country, "{s} belongs to {o}.", false},
    {R::city_in_country, "The city of {s} lies in {o}.", true},
    {R::city_in_country, "The city of {s} belongs to {o}.", true},

    {R::capital_of, "{s} is the capital of {o}.", false},
    {R::capital_of, "{s} is the capital city of {o}.", false},
    {R::capital_of, "{s} serves as the capital of {o}.", false},
    {R::capital_of, "{s} is the seat of government of {o}.", false},
    {R::capital_of, "{s} is the national capital of {o}.", false},
    {R::capital_of, "{s} is the political center of {o}.", false},
    {R::capital_of, "{s} serves as the capital city of {o}.", true},
    {R::capital_of, "{s} serves as the seat of government of {o}.", true},

    {R::has_capital, "The capital of {s} is {o}.", false},
    {R::has_capital, "The capital city of {s} is {o}.", false},
    {R::has_capital, "{s} has its capital in {o}.", false},
    {R::has_capital, "{s} is governed from {o}.", false},
    {R::has_capital, "The seat of government of {s} is {o}.", false},
    {R::has_capital, "{s}'s capital is {o}.", false},
    {R::has_capital, "{s}'s capital city is {o}.", true},
    {R::has_capital, "{s}'s seat of government is {o}.", true},

    {R::born_in, "{s} was born in {o}.", false},
    {R::born_in, "{s} is from {o}.", false},
    {R::born_in, "{s} comes from {o}.", false},
    {R::born_in, "The birthplace of {s} is {o}.", false},
    {R::born_in, "{s} is a native of {o}.", false},
    {R::born_in, "{s} grew up in {o}.", false},
    {R::born_in, "{s} was from {o}.", true},
    {R::born_in, "{s} was a native of {o}.", true},

    {R::citizen_of, "{s} is a citizen of {o}.", false},
    {R::citizen_of, "{s} holds a passport from {o}.", false},
    {R::citizen_of, "{s} has the citizenship of {o}.", false},
    {R::citizen_of, "{s} is a national of {o}.", false},
    {R::citizen_of, "The home country of {s} is {o}.", false},
    {R::citizen_of, "By nationality, {s} belongs to {o}.", false},
    {R::citizen_of, "{s} holds the citizenship of {o}.", true},
    {R::citizen_of, "{s} has a passport from {o}.", true},

    {R::married_to, "{s} is married to {o}.", false},
    {R::married_to, "{s} is the spouse of {o}.", false},
    {R::married_to, "The spouse of {s} is {o}.", false},
    {R::married_to, "{s} tied the knot with {o}.", false},
    {R::married_to, "{s} is wed to {o}.", false},
    {R::married_to, "{s} married {o}.", false},
    {R::married_to, "{s} was married to {o}.", true},
    {R::married_to, "{s} was wed to {o}.", true},

    {R::headquartered_in, "{s} is headquartered in {o}.", false},
    {R::headquartered_in, "{s} has its headquarters in {o}.", false},
    {R::headquartered_in, "The headquarters of {s} are in {o}.", false},
    {R::headquartered_in, "{s} is based in {o}.", false},
    {R::headquartered_in, "{s} runs its business from {o}.", false},
    {R::headquartered_in, "The head office of {s} is located in {o}.", false},
    {R::headquartered_in, "{s} has its head office in {o}.", true},
    {R::headquartered_in, "The headquarters of {s} are located in {o}.", true},

    {R::headquartered_in_country, "{s} is a company from {o}.", false},
    {R::headquartered_in_country, "{s} is a business based in the country of {o}.", false},
    {R::headquartered_in_country, "The home country of {s} is {o}.", false},
    {R::headquartered_in_country, "{s} has its roots in the country of {o}.", false},
    {R::headquartered_in_country, "{s} is one of the big companies of {o}.", false},
    {R::headquartered_in_country, "{s} is an employer in the country of {o}.", false},
    {R::headquartered_in_country, "{s} is an employer based in the country of {o}.", true},
    {R::headquartered_in_country, "{s} is a company based in the country of {o}.", true},

    {R::official_language, "The official language of {s} is {o}.", false},
    {R::official_language, "The language of {s} is {o}.", false},
    {R::official_language, "People in {s} speak {o}.", false},
    {R::official_language, "In {s}, people speak {o}.", false},
    {R::official_language, "Most people in {s} speak {o}.", false},
    {R::official_language, "{s} uses the language {o}.", false},
    {R::official_language, "People in {s} speak the language {o}.", true},
    {R::official_language, "{s} uses the official language {o}.", true},

    // person_attributes only (world.h).
    {R::lives_in, "{s} lives in {o}.", false},
    {R::lives_in, "{s} has a home in {o}.", false},
    {R::lives_in, "{s} now lives in the city of {o}.", false},
    {R::lives_in, "These days {s} lives in {o}.", false},
    {R::lives_in, "{s} resides in {o}.", false},
    {R::lives_in, "The home of {s} is in {o}.", false},
    {R::lives_in, "{s} now resides in {o}.", true},
    {R::lives_in, "These days {s} has a home in {o}.", true},

    {R::works_for, "{s} works for {o}.", false},
    {R::works_for, "{s} is employed by {o}.", false},
    {R::works_for, "The employer of {s} is {o}.", false},
    {R::works_for, "{s} has a job at {o}.", false},
    {R::works_for, "{s} earns a living at {o}.", false},
    {R::works_for, "Every day {s} goes to work at {o}.", false},
    {R::works_for, "Every day {s} works for {o}.", true},
    {R::works_for, "{s} has a job with the employer {o}.", true},

    {R::works_as, "{s} works as a {o}.", false},
    {R::works_as, "By profession {s} is a {o}.", false},
    {R::works_as, "{s} has a career as a {o}.", false},
    {R::works_as, "{s} trained as a {o}.", false},
    {R::works_as, "The profession of {s} is {o}.", false},
    {R::works_as, "{s} earns a living as a {o}.", false},
    {R::works_as, "{s} has a job as a {o}.", true},
    {R::works_as, "By profession {s} works as a {o}.", true},

    {R::native_language, "The native language of {s} is {o}.", false},
    {R::native_language, "{s} grew up speaking {o}.", false},
    {R::native_language, "The mother tongue of {s} is {o}.", false},
    {R::native_language, "At home {s} speaks {o}.", false},
    {R::native_language, "{s} was raised speaking {o}.", false},
    {R::native_language, "{s} speaks the language {o}.", false},
    {R::native_language, "The native tongue of {s} is {o}.", true},
    {R::native_language, "At home {s} grew up speaking {o}.", true},
};

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

std::span<const Phrasing> phrasings() { return kPhrasings; }

std::vector<const Phrasing*> phrasings_of(Relation relation, bool held_out) {
  std::vector<const Phrasing*> out;
  for (const auto& p : kPhrasings) {
    if (p.relation == relation && p.held_out == held_out) out.push_back(&p);
  }
  return out;
}

const Phrasing& canonical_phrasing(Relation relation) {
  for (const auto& p : kPhrasings) {
    if (p.relation == relation && !p.held_out) return p;
  }
  fail("internal error: relation {} has no training phrasing", spec(relation).id);
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
  const size_t at = prompt_template.find("{}");
  if (at == std::string_view::npos) fail("prompt template \"{}\" has no \"{{}}\"", prompt_template);
  std::string out(prompt_template.substr(0, at));
  out += subject_name;
  out += prompt_template.substr(at + 2);
  return out;
}

std::string render_prompt(std::string_view templ, const Entity& subject) {
  return fill_prompt(prompt_template(templ, subject), subject.name);
}

}  // namespace editlab::toyworld
