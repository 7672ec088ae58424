// The toy world's documents (see corpus.h).
#include "editlab/toyworld/corpus.h"

#include <algorithm>
#include <map>

#include "editlab/toyworld/phrasings.h"
#include "editlab/util/error.h"
#include "editlab/util/rng.h"

namespace editlab::toyworld {
namespace {

using Chunk = std::vector<std::string>;  // sentences that stay together and in order

// How a biography introduces its subject's alias ("Barack Obama is also known as B. Obama.").
constexpr std::string_view kAliasTemplate = "{s} is also known as {o}.";

class DocumentWriter {
 public:
  DocumentWriter(const World& world, const CorpusOptions& options);
  std::string document();
  Corpus finish(std::string text) const;

 private:
  EntityId take_topic();
  EntityId random_mentionable(EntityId avoid);
  std::string fact_sentence(size_t fact);
  // The fact's sentence, then (sometimes) the bridge to its city's country; see corpus.h.
  Chunk fact_chunk(size_t fact);
  std::string mention_sentence(EntityId entity);
  // Every trained fact of the topic, shuffled (see corpus.h); empty when it has none.
  std::vector<Chunk> biography(EntityId topic);
  // The document's text: the chunks' sentences in order, one space apart (counted).
  std::string join(const std::vector<Chunk>& chunks);

  const World& world_;
  const CorpusOptions& options_;
  Rng rng_;
  std::vector<size_t> trained_;  // indices of the facts the corpus may state
  std::map<EntityId, std::vector<size_t>> trained_by_subject_;
  std::vector<EntityId> topics_;
  size_t next_topic_ = 0;
  std::vector<EntityId> mentionable_;
  std::vector<int> statements_;
  int64_t sentences_ = 0, fact_sentences_ = 0, mention_sentences_ = 0, bridge_sentences_ = 0, alias_sentences_ = 0;
  int biographies_ = 0;
};

DocumentWriter::DocumentWriter(const World& world, const CorpusOptions& options)
    : world_(world),
      options_(options),
      rng_(options.seed, "corpus:" + options.purpose),
      statements_(world.facts.size(), 0) {
  for (size_t i = 0; i < world.facts.size(); ++i) {
    if (!world.facts[i].trained) continue;
    trained_.push_back(i);
    trained_by_subject_[world.facts[i].subject].push_back(i);
  }
  // Subjects come up twice per cycle, cities and countries once: subjects carry the facts that
  // edits target, places mostly recur as objects anyway.
  for (const auto type : {EntityType::landmark, EntityType::company, EntityType::person}) {
    for (const EntityId id : world.of_type(type)) {
      topics_.insert(topics_.end(), {id, id});
      mentionable_.push_back(id);
    }
  }
  for (const auto type : {EntityType::city, EntityType::country}) {
    for (const EntityId id : world.of_type(type)) {
      topics_.push_back(id);
      mentionable_.push_back(id);
    }
  }
  next_topic_ = topics_.size();  // shuffle on first use
}

EntityId DocumentWriter::take_topic() {
  if (next_topic_ >= topics_.size()) {
    rng_.shuffle(topics_);
    next_topic_ = 0;
  }
  return topics_[next_topic_++];
}

EntityId DocumentWriter::random_mentionable(EntityId avoid) {
  for (;;) {
    const EntityId id = rng_.pick(mentionable_);
    if (id != avoid) return id;
  }
}

// A training phrasing of the fact's relation; the canonical (first) one twice as likely.
std::string DocumentWriter::fact_sentence(size_t fact_index) {
  const Fact& f = world_.facts[fact_index];
  const auto choices = phrasings_of(f.relation, false);
  const size_t roll = rng_.below(choices.size() + 1);
  const Phrasing* phrasing = choices[roll == choices.size() ? 0 : roll];
  ++statements_[fact_index];
  ++fact_sentences_;
  const Entity& subject = world_.entity(f.subject);
  if (!subject.alias.empty() && options_.alias_probability > 0 && rng_.chance(options_.alias_probability)) {
    ++alias_sentences_;
    return render_sentence(phrasing->text, subject.under_alias(), &world_.entity(f.object));
  }
  return render_sentence(phrasing->text, subject, &world_.entity(f.object));
}

Chunk DocumentWriter::fact_chunk(size_t fact_index) {
  Chunk chunk{fact_sentence(fact_index)};
  const Fact& f = world_.facts[fact_index];
  if (composition_starting_with(f.relation) && options_.bridge_probability > 0 &&
      rng_.chance(options_.bridge_probability)) {
    const Fact* city = world_.fact(f.object, Relation::city_in_country);
    if (city != nullptr && city->trained) {
      chunk.push_back(fact_sentence(static_cast<size_t>(city - world_.facts.data())));
      ++bridge_sentences_;
    }
  }
  return chunk;
}

std::string DocumentWriter::mention_sentence(EntityId entity) {
  const Entity& e = world_.entity(entity);
  ++mention_sentences_;
  return render_sentence(rng_.pick(mention_templates(e.type)), e, nullptr);
}

std::string DocumentWriter::join(const std::vector<Chunk>& chunks) {
  std::string text;
  for (const auto& chunk : chunks) {
    for (const auto& sentence : chunk) {
      if (!text.empty()) text += ' ';
      text += sentence;
      ++sentences_;
    }
  }
  return text;
}

std::vector<Chunk> DocumentWriter::biography(EntityId topic) {
  std::vector<size_t> own = trained_by_subject_[topic];
  rng_.shuffle(own);
  std::vector<Chunk> chunks;
  for (const size_t fact : own) chunks.push_back(fact_chunk(fact));
  const Entity& e = world_.entity(topic);
  if (!e.alias.empty() && !chunks.empty()) {
    // Where the alias is introduced: anywhere but last (it names the subject of what follows).
    const auto at = static_cast<std::ptrdiff_t>(rng_.below(chunks.size()));
    const Entity alias = e.under_alias();
    chunks.insert(chunks.begin() + at, Chunk{render_sentence(kAliasTemplate, e, &alias)});
    ++alias_sentences_;
  }
  return chunks;
}

std::string DocumentWriter::document() {
  const EntityId topic = take_topic();
  std::vector<Chunk> chunks;
  if (options_.biography_share > 0 && rng_.chance(options_.biography_share)) chunks = biography(topic);
  if (!chunks.empty()) {
    ++biographies_;
    return join(chunks);
  }
  const int wanted = rng_.between(options_.min_sentences, options_.max_sentences);
  int count = 0;

  // One to three facts about the topic, sometimes after a mention of it.
  std::vector<size_t> own = trained_by_subject_[topic];
  rng_.shuffle(own);
  const int own_count = own.empty() ? 0 : rng_.between(1, std::min<int>(3, static_cast<int>(own.size())));
  Chunk opening;
  if (rng_.chance(0.3)) opening.push_back(mention_sentence(topic));
  for (int i = 0; i < own_count; ++i) {
    for (auto& sentence : fact_chunk(own[i])) opening.push_back(std::move(sentence));
  }
  count += static_cast<int>(opening.size());
  if (!opening.empty()) chunks.push_back(std::move(opening));

  while (count < wanted) {
    const int roll = rng_.index(10);
    const size_t fact = trained_[rng_.below(trained_.size())];
    if (roll < 4 && count + 2 <= wanted) {
      // The loud-fact pattern: a mention, then a fact about someone or something else.
      const EntityId mentioned = random_mentionable(world_.facts[fact].subject);
      Chunk chunk{mention_sentence(mentioned)};
      for (auto& sentence : fact_chunk(fact)) chunk.push_back(std::move(sentence));
      count += static_cast<int>(chunk.size());
      chunks.push_back(std::move(chunk));
    } else if (roll < 8) {
      chunks.push_back(fact_chunk(fact));
      count += static_cast<int>(chunks.back().size());
    } else {
      chunks.push_back({mention_sentence(random_mentionable(-1))});
      ++count;
    }
  }
  // The topic's own chunk opens the document; the rest come in random order.
  if (chunks.size() > 2) {
    std::vector<Chunk> rest(std::make_move_iterator(chunks.begin() + 1), std::make_move_iterator(chunks.end()));
    rng_.shuffle(rest);
    std::move(rest.begin(), rest.end(), chunks.begin() + 1);
  }
  return join(chunks);
}

Corpus DocumentWriter::finish(std::string text) const {
  Corpus corpus;
  corpus.stats.documents = options_.documents;
  corpus.stats.bytes = static_cast<int64_t>(text.size());
  corpus.stats.sentences = sentences_;
  corpus.stats.fact_sentences = fact_sentences_;
  corpus.stats.mention_sentences = mention_sentences_;
  corpus.stats.bridge_sentences = bridge_sentences_;
  corpus.stats.alias_sentences = alias_sentences_;
  corpus.stats.biographies = biographies_;
  corpus.stats.trained_facts = static_cast<int>(trained_.size());
  int64_t total = 0;
  corpus.stats.min_statements = trained_.empty() ? 0 : statements_[trained_.front()];
  for (const size_t i : trained_) {
    total += statements_[i];
    corpus.stats.min_statements = std::min(corpus.stats.min_statements, statements_[i]);
    if (statements_[i] == 0) ++corpus.stats.unseen_trained_facts;
  }
  corpus.stats.mean_statements =
      trained_.empty() ? 0 : static_cast<double>(total) / static_cast<double>(trained_.size());
  corpus.statements_per_fact = statements_;
  corpus.text = std::move(text);
  return corpus;
}

}  // namespace

Corpus generate_corpus(const World& world, const CorpusOptions& options) {
  if (options.documents < 1) fail("corpus: the number of documents must be at least 1, got {}", options.documents);
  if (options.min_sentences < 1 || options.max_sentences < options.min_sentences) {
    fail("corpus: need 1 <= min_sentences <= max_sentences, got {} and {}", options.min_sentences,
         options.max_sentences);
  }
  if (!(options.biography_share >= 0 && options.biography_share <= 1)) {
    fail("corpus: the biography share must be in [0, 1], got {}", options.biography_share);
  }
  if (!(options.alias_probability >= 0 && options.alias_probability <= 1)) {
    fail("corpus: the alias probability must be in [0, 1], got {}", options.alias_probability);
  }
  DocumentWriter writer(world, options);
  std::string text;
  for (int i = 0; i < options.documents; ++i) {
    if (i > 0) text += "\n\n";
    text += writer.document();
  }
  text += '\n';
  return writer.finish(std::move(text));
}

}  // namespace editlab::toyworld
