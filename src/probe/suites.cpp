#include "editlab/probe/suites.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "editlab/model/generate.h"
#include "editlab/probe/benchmark_rules.h"
#include "editlab/util/error.h"
#include "editlab/util/text.h"

namespace editlab {
namespace {

using Values = std::vector<double>;

double b2d(bool b) { return b ? 1.0 : 0.0; }

bool is_word_char(unsigned char c) { return std::isalnum(c) || c >= 0x80 || c == '_'; }

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (std::isspace(c)) {
      ++i;
    } else if (is_word_char(c)) {
      size_t j = i;
      while (j < text.size() && is_word_char(static_cast<unsigned char>(text[j]))) ++j;
      out.push_back(text.substr(i, j - i));
      i = j;
    } else {
      out.push_back(text.substr(i, 1));
      ++i;
    }
  }
  return out;
}

double entropy_of_ngrams(const std::vector<std::string>& words, size_t n) {
  if (words.size() < n) return 0;
  std::map<std::vector<std::string>, int64_t> counts;
  for (size_t i = 0; i + n <= words.size(); ++i) {
    ++counts[std::vector<std::string>(words.begin() + i, words.begin() + i + n)];
  }
  const double total = static_cast<double>(words.size() - n + 1);
  double h = 0;
  for (const auto& [gram, c] : counts) {
    const double p = static_cast<double>(c) / total;
    h -= p * std::log2(p);
  }
  return h;
}

// The text a benchmark's rule reads (benchmark_rules.h): RippleEdits' prompt and greedy
// continuation up to len(prompt) characters + 30 tokens; MQuAKE's continuation (20 tokens).
std::string benchmark_generation(LanguageModel& model, const Tokenizer& tokenizer, const std::string& benchmark,
                                 const std::string& prompt) {
  const auto ids = tokenizer.encode_prompt(prompt);
  const int64_t limit = model.shape().n_positions;
  if (static_cast<int64_t>(ids.size()) >= limit)
    fail("benchmark query \"{}\" is {} tokens, the model's context is {}", prompt, ids.size(), limit);
  GenerateOptions g;
  g.eos_token_id = tokenizer.eos_id();
  const bool mquake = benchmark == "mquake";
  if (mquake) {
    g.max_new_tokens = std::min<int64_t>(20, limit - static_cast<int64_t>(ids.size()));
  } else {
    // ripple_edits_max_length counts the prompt's own tokens, not an in-context editor's context.
    g.max_length = std::min<int64_t>(ripple_edits_max_length(prompt) + tokenizer.prompt_context_tokens(prompt), limit);
  }
  const auto out = generate(model, ids, g);
  std::vector<int64_t> kept;
  for (auto id : std::span(out.ids).subspan(ids.size())) {
    if (id != tokenizer.eos_id()) kept.push_back(id);
  }
  // RippleEdits reads the prompt and its continuation (without a BOS the prompt began with).
  const std::string continuation = tokenizer.decode_continuation(ids, kept);
  return replace_invalid_utf8(mquake ? continuation : prompt + continuation);
}

}  // namespace

double ngram_entropy(const std::string& text) {
  const auto words = words_of(text);
  return (2.0 / 3.0 * entropy_of_ngrams(words, 2) + 4.0 / 3.0 * entropy_of_ngrams(words, 3)) / 2.0;
}

RecordProbes::Group RecordProbes::add(const std::vector<std::string>& prompts,
                                      const std::vector<std::string>& targets) {
  Group g{requests_.size(), prompts.size()};
  for (const auto& p : prompts) {
    for (const auto& t : targets) requests_.push_back({p, t});
  }
  return g;
}

RecordProbes::RecordProbes(const ProbeRecord& record, const SuiteOptions& options)
    : record_(record), options_(options) {
  const auto& r = record_.request;
  const bool paired = options_.has(Suite::efficacy) || options_.has(Suite::paraphrase) || options_.has(Suite::specificity) ||
                      options_.has(Suite::specificity_plus);
  for (const auto& q : record_.requests) {
    if (paired && q.target_true.empty()) {
      fail(
          "the record has no target_true, which efficacy, paraphrase and specificity need (choose other suites for "
          "it, e.g. [\"implication\", \"benchmark\"])");
    }
  }
  const std::vector<std::string> both = {r.target_new, r.target_true};
  if (options_.has(Suite::efficacy)) {
    rewrite_ = {requests_.size(), record_.requests.size()};
    for (const auto& q : record_.requests) {
      requests_.push_back({q.sentence(), q.target_new});
      requests_.push_back({q.sentence(), q.target_true});
    }
  }
  if (options_.has(Suite::paraphrase)) paraphrase_ = add(record_.paraphrase_prompts, both);
  if (options_.has(Suite::specificity)) {
    neighborhood_ = add(record_.neighborhood_prompts, both);
    kl_prompts_ = record_.neighborhood_prompts;
  }
  if (options_.has(Suite::specificity_plus)) {
    for (const auto& n : record_.neighborhood_prompts) {
      plus_prompts_.push_back(r.sentence() + " " + r.target_new + ". " + n);
    }
    plus_ = add(plus_prompts_, both);
    kl_prompts_.insert(kl_prompts_.end(), plus_prompts_.begin(), plus_prompts_.end());
  }
  if (options_.has(Suite::loud)) {
    loud_prompts_ = record_.mention_prompts;
    if (loud_prompts_.empty()) {
      for (const auto& t : options_.loud_templates) {
        for (const auto& n : record_.neighborhood_prompts) loud_prompts_.push_back(fill_braces(t, r.subject) + " " + n);
      }
    }
    loud_ = add(loud_prompts_, {r.target_new});
  }
  if (options_.has(Suite::implication)) {
    for (const auto& imp : record_.implications) {
      std::pair<size_t, std::optional<size_t>> rows{requests_.size(), std::nullopt};
      requests_.push_back({imp.prompt, imp.target_new});
      if (!imp.target_old.empty()) {
        rows.second = requests_.size();
        requests_.push_back({imp.prompt, imp.target_old});
      }
      implication_rows_.push_back(rows);
    }
  }
}

Observation RecordProbes::observe(LanguageModel& model, const Tokenizer& tokenizer, uint64_t seed) const {
  Observation o;
  o.scores = score_targets(model, tokenizer, requests_, options_.scoring);
  if (!kl_prompts_.empty()) o.next_logprobs = next_token_logprobs(model, tokenizer, kl_prompts_, options_.scoring);
  generate_into(o, model, tokenizer, seed, /*implications=*/true);
  return o;
}

bool RecordProbes::generates(bool implications) const {
  return (implications && options_.has(Suite::implication) && !record_.implications.empty()) ||
         (options_.has(Suite::benchmark) && !record_.benchmark_tests.empty()) ||
         (options_.has(Suite::fluency) && !record_.generation_prompts.empty());
}

std::vector<Observation> RecordProbes::observe_many(std::span<const RecordProbes* const> probes, LanguageModel& model,
                                                    const Tokenizer& tokenizer, std::span<const uint64_t> seeds,
                                                    const std::vector<std::vector<RowEdits::Update>>* edits) {
  if (seeds.size() != probes.size() || (edits != nullptr && edits->size() != probes.size())) {
    fail("observe_many: {} records, {} seeds, {} edits", probes.size(), seeds.size(), edits ? edits->size() : 0);
  }
  // Every record's scoring requests and next-token prompts in one list each, rows tagged with
  // their record; each record keeps its own scoring options' batch size (the first's is used).
  std::vector<ScoreRequest> requests;
  std::vector<std::string> prompts;
  RowEdits rows, prompt_rows;
  std::vector<size_t> request_begin, prompt_begin;
  for (size_t k = 0; k < probes.size(); ++k) {
    request_begin.push_back(requests.size());
    prompt_begin.push_back(prompts.size());
    requests.insert(requests.end(), probes[k]->requests_.begin(), probes[k]->requests_.end());
    prompts.insert(prompts.end(), probes[k]->kl_prompts_.begin(), probes[k]->kl_prompts_.end());
    rows.group.resize(requests.size(), static_cast<int64_t>(k));
    prompt_rows.group.resize(prompts.size(), static_cast<int64_t>(k));
  }
  request_begin.push_back(requests.size());
  prompt_begin.push_back(prompts.size());
  std::vector<Observation> out(probes.size());
  if (probes.empty()) return out;
  const ScoringOptions& scoring = probes.front()->options_.scoring;
  if (edits != nullptr) rows.groups = prompt_rows.groups = *edits;
  const auto scores = score_targets(model, tokenizer, requests, scoring, edits ? &rows : nullptr);
  torch::Tensor next;
  if (!prompts.empty()) next = next_token_logprobs(model, tokenizer, prompts, scoring, edits ? &prompt_rows : nullptr);
  // The implications' beam searches of every record in one batch, each record's edits on its own
  // rows (generate_many); greedy decoding with edits goes record by record below.
  const int64_t beams = probes.front()->options_.beams;
  bool batched_implications = beams > 1 || edits == nullptr;
  for (const auto* p : probes) batched_implications = batched_implications && p->options_.beams == beams;
  if (batched_implications) {
    std::vector<std::vector<int64_t>> prompt_ids;
    std::vector<int64_t> lengths;
    RowEdits generation_rows;
    std::vector<size_t> owner;
    for (size_t k = 0; k < probes.size(); ++k) {
      const auto& p = *probes[k];
      if (!p.options_.has(Suite::implication)) continue;
      for (const auto& imp : p.record_.implications) {
        prompt_ids.push_back(tokenizer.encode_prompt(imp.prompt));
        // max_length counts the prompt's own tokens (an in-context editor's context comes on top).
        lengths.push_back(std::min(p.options_.max_length + tokenizer.prompt_context_tokens(imp.prompt),
                                   model.shape().n_positions));
        generation_rows.group.push_back(static_cast<int64_t>(k));
        owner.push_back(k);
      }
    }
    if (edits != nullptr) generation_rows.groups = *edits;
    GenerateOptions g;
    g.num_beams = beams;
    g.eos_token_id = tokenizer.eos_id();
    const auto generations = generate_many(model, prompt_ids, lengths, g, edits ? &generation_rows : nullptr);
    for (size_t i = 0; i < generations.size(); ++i) {
      out[owner[i]].generations.push_back(tokenizer.decode_continuation(
          prompt_ids[i], std::span(generations[i].ids).subspan(prompt_ids[i].size())));
    }
  }
  for (size_t k = 0; k < probes.size(); ++k) {
    auto& o = out[k];
    o.scores.assign(scores.begin() + static_cast<std::ptrdiff_t>(request_begin[k]),
                    scores.begin() + static_cast<std::ptrdiff_t>(request_begin[k + 1]));
    if (prompt_begin[k + 1] > prompt_begin[k]) {
      o.next_logprobs = next.slice(0, static_cast<int64_t>(prompt_begin[k]), static_cast<int64_t>(prompt_begin[k + 1]));
    }
    if (!probes[k]->generates(!batched_implications)) continue;
    // Generation runs one record at a time: its edits written into the weights, then restored
    // bit for bit, as the edit itself writes them (W += u v^T in the weight's dtype).
    std::vector<std::pair<torch::Tensor, torch::Tensor>> saved;  // weight, its copy
    if (edits != nullptr) {
      torch::NoGradGuard no_grad;
      for (const auto& update : (*edits)[k]) {
        auto weight = model.mlp_out_weight(update.layer);
        if (std::none_of(saved.begin(), saved.end(), [&](const auto& s) { return s.first.is_same(weight); })) {
          saved.emplace_back(weight, weight.clone());
        }
        weight.add_(torch::outer(update.u.to(weight.scalar_type()), update.v.to(weight.scalar_type())));
      }
    }
    struct Restore {
      std::vector<std::pair<torch::Tensor, torch::Tensor>>& saved;
      ~Restore() {
        torch::NoGradGuard no_grad;
        for (auto& [weight, copy] : saved) weight.copy_(copy);
      }
    } restore{saved};
    probes[k]->generate_into(o, model, tokenizer, seeds[k], !batched_implications);
  }
  return out;
}

void RecordProbes::generate_into(Observation& o, LanguageModel& model, const Tokenizer& tokenizer, uint64_t seed,
                                 bool implications) const {
  if (implications && options_.has(Suite::implication)) {
    GenerateOptions g;
    g.num_beams = options_.beams;
    g.eos_token_id = tokenizer.eos_id();
    for (const auto& imp : record_.implications) {
      const auto ids = tokenizer.encode_prompt(imp.prompt);
      // max_length counts the prompt's own tokens (an in-context editor's context comes on top).
      g.max_length = std::min(options_.max_length + tokenizer.prompt_context_tokens(imp.prompt),
                              model.shape().n_positions);
      const auto out = generate(model, ids, g);
      o.generations.push_back(tokenizer.decode_continuation(ids, std::span(out.ids).subspan(ids.size())));
    }
  }
  if (options_.has(Suite::benchmark)) {
    for (const auto& test : record_.benchmark_tests) {
      auto& texts = o.benchmark_texts.emplace_back();
      for (const auto* queries : {&test.condition_queries, &test.test_queries}) {
        for (const auto& q : *queries)
          texts.push_back(benchmark_generation(model, tokenizer, test.benchmark, q.prompt));
      }
    }
  }
  if (options_.has(Suite::fluency)) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    for (const auto& p : record_.generation_prompts) {
      const auto ids = tokenizer.encode_prompt(p);
      const int64_t length =
          std::min(options_.fluency_max_length + tokenizer.prompt_context_tokens(p), model.shape().n_positions);
      if (static_cast<int64_t>(ids.size()) >= length)
        fail("generation prompt \"{}\" is longer than {} tokens", p, length);
      const auto sampled = sample_top_k(model, ids, length, options_.fluency_top_k, gen);
      std::string text = replace_invalid_utf8(p + tokenizer.decode_continuation(ids, std::span(sampled).subspan(ids.size())));
      const std::string eos = tokenizer.token_bytes(tokenizer.eos_id());
      for (auto pos = text.find(eos); !eos.empty() && pos != std::string::npos; pos = text.find(eos)) {
        text.erase(pos, eos.size());
      }
      o.samples.push_back(std::move(text));
    }
  }
}

// Long (about 110 lines) on purpose: one block per suite, in the order the plan laid out the
// prompts; every block reads the same two observations at the plan's offsets, and keeping them
// together keeps those offsets in one place.
nlohmann::json RecordProbes::metrics(const Observation& before, const Observation& after) const {
  std::map<std::string, Values> m;
  const auto& s = after.scores;
  const auto& s0 = before.scores;
  // Prompt i of a paired (new, true) group: scores at first + 2i (new) and first + 2i + 1 (true).
  auto paired = [&](const Group& g, Suite which) {
    const std::string suite(suite_name(which));
    for (size_t i = 0; i < g.count; ++i) {
      const auto& n = s[g.first + 2 * i];
      const auto& t = s[g.first + 2 * i + 1];
      m[suite + "/success"].push_back(b2d(n.nll < t.nll));
      m[suite + "/magnitude"].push_back(std::exp(-n.nll) - std::exp(-t.nll));
      m[suite + "/accuracy"].push_back(b2d(n.greedy_correct));
    }
  };
  paired(rewrite_, Suite::efficacy);
  paired(paraphrase_, Suite::paraphrase);
  const int64_t vocab = after.next_logprobs.defined() ? after.next_logprobs.size(1) : 1;
  auto kl_row = [&](size_t row) {
    const auto lp = after.next_logprobs[row];
    const auto lq = before.next_logprobs[row];
    const auto p = lp.exp();  // terms with p = 0 are 0 (not 0 * -inf)
    return torch::where(p > 0, p * (lp - lq), torch::zeros_like(p)).sum().item<double>();
  };
  auto specificity = [&](const Group& g, Suite which, const std::string& plus, size_t kl_first) {
    const std::string suite(suite_name(which));
    for (size_t i = 0; i < g.count; ++i) {
      const auto& n = s[g.first + 2 * i];
      const auto& t = s[g.first + 2 * i + 1];
      m[suite + "/NS" + plus].push_back(b2d(t.nll < n.nll));
      m[suite + "/NM" + plus].push_back(std::exp(-t.nll) - std::exp(-n.nll));
      const double kl = kl_row(kl_first + i);
      m[suite + "/NKL" + plus].push_back(kl);
      m[suite + "/NKL" + plus + "_scaled"].push_back(kl / static_cast<double>(vocab));
      m[suite + "/accuracy"].push_back(b2d(t.greedy_correct));
    }
  };
  specificity(neighborhood_, Suite::specificity, "", 0);
  specificity(plus_, Suite::specificity_plus, "+", neighborhood_.count);
  for (size_t i = 0; i < loud_.count; ++i) {
    const auto& a = s[loud_.first + i];
    const auto& b = s0[loud_.first + i];
    m["loud/rate"].push_back(b2d(a.greedy_correct));
    m["loud/rate_before"].push_back(b2d(b.greedy_correct));
    m["loud/logprob_gain"].push_back(b.nll - a.nll);
  }
  nlohmann::json details = nlohmann::json::object();
  for (size_t i = 0; i < implication_rows_.size(); ++i) {
    const auto& imp = record_.implications[i];
    const auto [k, old] = implication_rows_[i];
    const std::string p = "implication/" + imp.kind + "/";
    if (old) {
      m[p + "success"].push_back(b2d(s[k].nll < s[*old].nll));
      m[p + "success_before"].push_back(b2d(s0[k].nll < s0[*old].nll));
      // Conditioned on knowledge, as RippleEdits runs a test only when its condition holds: the
      // unedited model's greedy answer is target_old (every token the argmax).
      const bool known = s0[*old].greedy_correct;
      m[p + "known"].push_back(b2d(known));
      if (known) m[p + "success_known"].push_back(b2d(s[k].nll < s[*old].nll));
    }
    m[p + "prob_gain"].push_back(std::exp(-s[k].nll) - std::exp(-s0[k].nll));
    const bool gen_after = after.generations[i].find(imp.target_new) != std::string::npos;
    const bool gen_before = before.generations[i].find(imp.target_new) != std::string::npos;
    m[p + "generation"].push_back(b2d(gen_after));
    m[p + "generation_before"].push_back(b2d(gen_before));
    details["implications"].push_back({{"kind", imp.kind},
                                       {"prompt", imp.prompt},
                                       {"target_new", imp.target_new},
                                       {"target_old", imp.target_old},
                                       {"before", before.generations[i]},
                                       {"after", after.generations[i]}});
  }
  for (size_t i = 0; i < after.benchmark_texts.size(); ++i) {
    const auto& test = record_.benchmark_tests[i];
    const auto& a = after.benchmark_texts[i];
    const auto& b = before.benchmark_texts[i];
    const size_t nc = test.condition_queries.size();
    std::vector<bool> conditions, tests, tests_before;
    for (size_t q = 0; q < a.size(); ++q) {
      const auto& query = q < nc ? test.condition_queries[q] : test.test_queries[q - nc];
      const bool pass_before = benchmark_query_passes(test.benchmark, b[q], query.answers);
      if (q < nc) {
        conditions.push_back(pass_before);
      } else {
        tests.push_back(benchmark_query_passes(test.benchmark, a[q], query.answers));
        tests_before.push_back(pass_before);
      }
    }
    const auto outcome = benchmark_test_outcome(conditions, tests, test.all);
    const bool executed = outcome != TestOutcome::kNotExecuted;
    const std::string p = "benchmark/" + test.benchmark + "/" + test.family + "/";
    m[p + "executed"].push_back(b2d(executed));
    if (executed) {
      m[p + "pass"].push_back(b2d(outcome == TestOutcome::kPassed));
      m[p + "pass_before"].push_back(b2d(benchmark_test_outcome({}, tests_before, test.all) == TestOutcome::kPassed));
    }
    nlohmann::json queries = nlohmann::json::array();
    for (size_t q = 0; q < a.size(); ++q) {
      const auto& query = q < nc ? test.condition_queries[q] : test.test_queries[q - nc];
      queries.push_back(
          {{"role", q < nc ? "condition" : "test"}, {"prompt", query.prompt}, {"before", b[q]}, {"after", a[q]}});
    }
    details["benchmark_tests"].push_back({{"benchmark", test.benchmark},
                                          {"family", test.family},
                                          {"outcome", outcome == TestOutcome::kNotExecuted ? "not_executed"
                                                      : outcome == TestOutcome::kPassed    ? "passed"
                                                                                           : "failed"},
                                          {"queries", std::move(queries)}});
  }
  for (size_t i = 0; i < after.samples.size(); ++i) {
    m["fluency/entropy_before"].push_back(ngram_entropy(before.samples[i]));
    m["fluency/entropy_after"].push_back(ngram_entropy(after.samples[i]));
  }
  if (options_.details) {
    for (const auto& q : record_.requests) {
      details["requests"].push_back(
          {{"prompt", q.sentence()}, {"subject", q.subject}, {"target_new", q.target_new}, {"target_true", q.target_true}});
    }
    details["probes"] = probe_details(before, after);
  }
  nlohmann::json metrics = nlohmann::json::object();
  for (auto& [k, v] : m) metrics[k] = v;
  return {{"metrics", metrics}, {"details", details}};
}

nlohmann::json RecordProbes::probe_details(const Observation& before, const Observation& after) const {
  // p = exp(-mean token NLL) of " " + target: the probability the magnitudes (NM, PM) compare.
  auto p = [&](size_t row) { return nlohmann::json::array({std::exp(-before.scores[row].nll), std::exp(-after.scores[row].nll)}); };
  nlohmann::json out = nlohmann::json::array();
  auto paired = [&](const Group& g, std::string_view suite) {
    for (size_t i = 0; i < g.count; ++i) {
      const size_t n = g.first + 2 * i, t = n + 1;
      out.push_back({{"suite", suite},
                     {"prompt", requests_[n].prefix},
                     {"target_new", requests_[n].target},
                     {"target_true", requests_[t].target},
                     {"p_new", p(n)},
                     {"p_true", p(t)}});
    }
  };
  paired(rewrite_, suite_name(Suite::efficacy));
  paired(paraphrase_, suite_name(Suite::paraphrase));
  paired(neighborhood_, suite_name(Suite::specificity));
  paired(plus_, suite_name(Suite::specificity_plus));
  for (size_t i = 0; i < loud_.count; ++i) {
    const size_t n = loud_.first + i;
    out.push_back({{"suite", suite_name(Suite::loud)},
                   {"prompt", requests_[n].prefix},
                   {"target_new", requests_[n].target},
                   {"p_new", p(n)}});
  }
  for (size_t i = 0; i < implication_rows_.size(); ++i) {
    const auto& imp = record_.implications[i];
    const auto [k, old] = implication_rows_[i];
    nlohmann::json j = {{"suite", suite_name(Suite::implication)},
                        {"kind", imp.kind},
                        {"prompt", imp.prompt},
                        {"target_new", imp.target_new},
                        {"p_new", p(k)}};
    if (old) {
      j["target_true"] = imp.target_old;
      j["p_true"] = p(*old);
    }
    if (i < after.generations.size()) j["generation"] = {before.generations[i], after.generations[i]};
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace editlab
