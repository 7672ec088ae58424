// How the toy world is put into words: the phrasings of each relation (some held out of
// training, for paraphrase probes), the sentences that only mention a subject, and the
// open-ended prompts used for generation.
//
// A phrasing is a template with "{s}" (the subject) and "{o}" (the object). The object is always
// last, followed only by ".", so that the text before it is a prompt whose answer is the object
// ("{s} is located in {o}." gives "The Louvre is located in" -> "Paris"). "{s}" is either at the
// start or right after a space, so that in a CounterFact prompt template the text before "{}" is
// empty or ends with a space (ROME requires it). The subject's article belongs to the template,
// not to the subject: the Louvre's prompt is "The {} is located in" with subject "Louvre".
//
// The first phrasing of each relation is its canonical one (drawn twice as often in the corpus);
// the held-out ones never appear in train.txt. The datasets' rewrite, implication and alias
// prompts use dataset_phrasing(), the canonical one unless a training sentence continues it.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "editlab/toyworld/world.h"

namespace editlab::toyworld {

struct Phrasing {
  Relation relation;
  std::string_view text;  // "{s} is located in {o}."
  bool held_out;          // only in paraphrase probes, never in the training corpus
};

std::span<const Phrasing> phrasings();
std::vector<const Phrasing*> phrasings_of(Relation relation, bool held_out);
const Phrasing& canonical_phrasing(Relation relation);
// The phrasing of the datasets' prompts: one whose prompt no training sentence about the same type
// of subject continues with more words, so that its greedy answer can be the object ("{s} was born
// in" is continued by "{s} was born in the city of {o}.", after which the corpus's next word is
// " the"). The canonical phrasing if none continues it; else the first training phrasing of the
// relation that extends the canonical one and that none continues ("{s} was born in the city of");
// else the relation's first such training statement ("{s} can be found in"). Never a question.
const Phrasing& dataset_phrasing(Relation relation);

// A sentence that names the subject without stating any fact ("The Louvre is cool.").
std::vector<std::string_view> mention_templates(EntityType type);
// Open-ended prefixes for generation probes ("The Louvre is known for").
std::vector<std::string_view> generation_templates(EntityType type);

// The whole sentence, e.g. "The Louvre is located in Paris." (object may be null when the
// template has no "{o}").
std::string render_sentence(std::string_view templ, const Entity& subject, const Entity* object);
// The CounterFact prompt template for this subject: the text before "{o}" without its trailing
// space, with the article (if any) kept and "{}" where the subject's name goes:
// ("{s} is located in {o}.", Louvre) -> "The {} is located in". Works on templates without
// "{o}" too (the whole text, trailing space trimmed).
std::string prompt_template(std::string_view templ, const Entity& subject);
// "{}" replaced by the subject's name: what the model actually reads.
std::string fill_prompt(std::string_view prompt_template, std::string_view subject_name);
// prompt_template + fill_prompt.
std::string render_prompt(std::string_view templ, const Entity& subject);

}  // namespace editlab::toyworld
