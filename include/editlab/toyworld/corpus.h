// The toy world's text: documents of a few sentences that state the world's trained facts in
// its training phrasings and mix in sentences that only mention a subject.
//
// A document is built around one topic (a landmark, company, person, city or country, taken in
// a shuffled cycle so every topic comes up about equally often): one to three facts about it,
// then random other facts and mentions, where a mention is often followed directly by a fact
// about another subject ("The Louvre is cool. Barack Obama is from Honolulu."), so that the
// loud-fact prompts ("The Louvre is cool. Barack Obama is from") are in distribution. Only facts
// with Fact::trained are stated, only in training phrasings, and never a held-out phrasing.
//
// Bridges: a fact whose object is a city (located_in, born_in, headquartered_in: the first step
// of a composed country fact) is followed, with probability bridge_probability, by that city's
// country ("The Louvre is located in Paris. Paris is a city in France."). The subject and the
// country then share a document, as they would in real text, without the composed fact ("The
// Louvre is located in the country of France") ever being stated for a subject whose country is
// held out. Measured on the shipped recipe at 700 steps (docs/toy-world.md): landmark ->
// country for never-stated subjects 28% without bridges, 47% with probability 0.5, 72% with 1
// (the default); the other figures rise too.
//
// Biographies (biography_share > 0, an experiment for a model that recalls facts at the subject;
// Allen-Zhu and Li 2023): with that probability a document is instead every trained fact of its
// topic, in a freshly shuffled order, each in a freshly drawn training phrasing (bridges as
// above), the full name in every sentence. With biography_share 0 no extra random draw is made,
// so the corpus is byte for byte the one without the option.
//
// Documents are single lines separated by a blank line; the trainer splits on blank lines and
// puts <|endoftext|> between documents.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "editlab/toyworld/world.h"

namespace editlab::toyworld {

struct CorpusOptions {
  uint64_t seed = 1;
  // The random stream's name: "train" for train.txt, "stats" for stats.txt. Different names give
  // different documents from the same seed.
  std::string purpose = "train";
  int documents = 9000;
  int min_sentences = 3;
  int max_sentences = 8;
  double bridge_probability = 1.0;
  double biography_share = 0.0;
  // A fact about a person with an alias names them by the alias with this probability ("B. Obama
  // was born in Honolulu."); a biography of such a person also says "{name} is also known as
  // {alias}." once, at a random place but never last.
  double alias_probability = 0.2;
};

struct CorpusStats {
  int documents = 0;
  int64_t bytes = 0;
  int64_t sentences = 0;
  int64_t fact_sentences = 0;
  int64_t mention_sentences = 0;
  int64_t bridge_sentences = 0;  // city -> country sentences right after a fact about the city
  int64_t alias_sentences = 0;   // facts stated under the subject's alias, and alias introductions
  int biographies = 0;           // documents that are a biography of their topic
  // How often each trained fact is stated (over the trained facts; unseen = stated 0 times).
  int trained_facts = 0;
  int unseen_trained_facts = 0;
  int min_statements = 0;
  double mean_statements = 0;
};

struct Corpus {
  std::string text;
  CorpusStats stats;
  std::vector<int> statements_per_fact;  // indexed like World::facts
};

// Same world and options -> identical text.
Corpus generate_corpus(const World& world, const CorpusOptions& options);

}  // namespace editlab::toyworld
