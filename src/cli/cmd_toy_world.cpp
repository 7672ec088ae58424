// editlab toy-world generate | bpe | check: the embedded default's world, corpora, datasets and
// BPE, and how well a model knows the world.
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common.h"
#include "editlab/util/compute_threads.h"
#include "editlab/model/tokenizer.h"
#include "editlab/probe/record.h"
#include "editlab/toyworld/bpe_trainer.h"
#include "editlab/toyworld/check.h"
#include "editlab/toyworld/toy_world.h"
#include "editlab/util/atomic_file.h"
#include "editlab/util/error.h"
#include "editlab/util/steady_clock.h"

namespace editlab::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct GenerateOptions {
  toyworld::ToyWorldOptions world;
  std::string out;
};

void run_generate(const GenerateOptions& opt) {
  const auto start = Clock::now();
  prepare_output_dir(opt.out, "--out");  // errors name the flag
  const auto summary = toyworld::write_toy_world(opt.out, opt.world);
  const auto& c = summary.counts;
  const int subjects = c.at("landmark").get<int>() + c.at("company").get<int>() + c.at("person").get<int>();
  fmt::print("toy world (seed {}) in {}\n", opt.world.seed, opt.out);
  fmt::print("  entities: {} countries, {} cities, {} languages, {} subjects ({} landmarks, {} companies, {} people)\n",
             c.at("country").get<int>(), c.at("city").get<int>(), c.at("language").get<int>(), subjects,
             c.at("landmark").get<int>(), c.at("company").get<int>(), c.at("person").get<int>());
  fmt::print("  facts: {} ({} stated in training)\n", c.at("facts").get<int>(), c.at("trained_facts").get<int>());
  for (const auto* stats : {&summary.train, &summary.stats}) {
    fmt::print(
        "  {}: {} documents ({} biographies), {} sentences ({} facts of which {} bridges, {} mentions, {} under an "
        "alias), {} bytes\n",
        stats == &summary.train ? "train.txt" : "stats.txt", stats->documents, stats->biographies, stats->sentences,
        stats->fact_sentences, stats->bridge_sentences, stats->mention_sentences, stats->alias_sentences, stats->bytes);
  }
  fmt::print("  trained facts stated in train.txt: min {}, mean {:.1f} times; {} of {} never\n",
             summary.train.min_statements, summary.train.mean_statements, summary.train.unseen_trained_facts,
             summary.train.trained_facts);
  fmt::print("  datasets: counterfact.json {} records, seed-examples.json {} records, implications.json {} records\n",
             summary.records, summary.seed_examples, summary.implication_records);
  for (const auto& [name, bytes] : summary.files) fmt::print("  wrote {} ({} bytes)\n", name, bytes);
  fmt::print("  took {:.1f} s\n", seconds_since(start));
}

struct BpeCommandOptions {
  std::string corpus, out;
  int vocab_size = 4096;
};

std::string read_corpus(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("--corpus {}: cannot open the file", path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return std::move(buffer).str();
}

void run_bpe(const BpeCommandOptions& opt) {
  const std::string text = read_corpus(opt.corpus);
  if (text.empty()) fail("--corpus {}: the file is empty; BPE needs text to learn merges from", opt.corpus);
  std::error_code ec;
  std::filesystem::create_directories(opt.out, ec);
  if (ec || !std::filesystem::is_directory(opt.out)) {
    fail("--out {}: cannot create the output directory ({})", opt.out,
         ec ? ec.message() : "a file of that name exists");
  }
  const auto start = Clock::now();
  const auto vocabulary = toyworld::train_bpe(text, {opt.vocab_size});
  const double train_seconds = seconds_since(start);
  try {
    toyworld::write_bpe(vocabulary, opt.out);
  } catch (const Error& e) {
    fail("--out {}: cannot write the tokenizer ({}); is the directory writable?", opt.out, e.what());
  }
  // Load what was written, through the same code as GPT-2's tokenizer, and measure it.
  const auto tokenizer = Tokenizer::from_dir(opt.out);
  const auto ids = tokenizer.encode(text);
  fmt::print("BPE on {} ({} bytes, {} pieces, {} distinct) in {:.2f} s\n", opt.corpus, vocabulary.corpus_bytes,
             vocabulary.pieces, vocabulary.distinct_pieces, train_seconds);
  fmt::print("  vocab size {} (256 bytes + {} merged tokens + <|endoftext|>), {} merges{}\n", tokenizer.vocab_size(),
             tokenizer.vocab_size() - 257, vocabulary.merges.size(),
             vocabulary.exhausted ? " (the corpus ran out of pairs before --vocab-size)" : "");
  fmt::print("  compression: {} tokens, {:.3f} tokens per byte ({:.2f} bytes per token)\n", ids.size(),
             static_cast<double>(ids.size()) / static_cast<double>(text.size()),
             static_cast<double>(text.size()) / static_cast<double>(ids.size()));
  fmt::print("  wrote {}/vocab.json and {}/merges.txt\n", opt.out, opt.out);
}

void setup_generate(CLI::App& parent) {
  auto opt = std::make_shared<GenerateOptions>();
  auto* sub = parent.add_subcommand(
      "generate",
      "write the toy world into --out: world.json (entities, facts, logic rules, phrasings, which "
      "subjects have their country stated in training), train.txt and stats.txt (documents "
      "separated by a blank line), counterfact.json, seed-examples.json and implications.json "
      "(CounterFact-format edit records with implication and mention probes; implications.json's edits are "
      "chosen for what they imply). Deterministic: the same options give "
      "byte-identical files");
  sub->add_option("--seed", opt->world.seed, "random seed of the world, corpora and datasets")->capture_default_str();
  sub->add_option("--out", opt->out, "output directory (created if missing)")->required();
  sub->add_option("--train-docs", opt->world.train_documents, "documents in train.txt (9000: about 2 MB)")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--stats-docs", opt->world.stats_documents, "documents in stats.txt")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--records", opt->world.records, "records in counterfact.json")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--implication-probes", opt->world.implication_probes,
                  "at least this many probes of each implication kind (symmetric, inverse, transitive_composed, "
                  "transitive_memorised, alias) in implications.json")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--bridge", opt->world.bridge_probability,
                  "probability that a fact whose object is a city (a landmark's, a company's, a person's) is "
                  "followed by that city's country, in the same document")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub->add_option("--biographies", opt->world.biography_share,
                  "share of documents that are a biography of their topic: every trained fact of it, shuffled, "
                  "in freshly drawn phrasings, the rest mixed documents of single facts and mentions")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub->add_option("--aliases", opt->world.alias_probability,
                  "probability that a fact about a person with an alias (\"B. Obama\") names them by it")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub->add_option("--generated-people", opt->world.world.generated_people,
                  "people with generated names, birthplaces and marriages, besides the real ones")
      ->check(kNonNegative)
      ->capture_default_str();
  sub->add_option("--country-stated", opt->world.world.country_stated_fraction,
                  "share of landmarks, companies and people whose country is stated directly in training "
                  "(the rest test composition)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub->callback([opt] { run_generate(*opt); });
}

void setup_bpe(CLI::App& parent) {
  auto opt = std::make_shared<BpeCommandOptions>();
  auto* sub =
      parent.add_subcommand("bpe",
                            "train a byte-level BPE on a text file with GPT-2's pre-tokenizer and write vocab.json + "
                            "merges.txt in GPT-2's format (loadable with --model DIR by every command); prints the "
                            "vocabulary size, the merges and the compression (tokens per byte) on the corpus");
  sub->add_option("--corpus", opt->corpus, "UTF-8 text file to learn merges from")->required();
  sub->add_option("--vocab-size", opt->vocab_size,
                  "vocabulary size including the 256 byte symbols and <|endoftext|> (at least 257)")
      ->capture_default_str();
  sub->add_option("--out", opt->out, "output directory for vocab.json and merges.txt (created if missing)")->required();
  sub->callback([opt] { run_bpe(*opt); });
}

struct CheckCommandOptions {
  std::string model, world;
  std::vector<std::string> datasets;
  int misses = 5;
  bool json = false;
};

std::string percent(const toyworld::Tally& t) { return t.total == 0 ? "-" : fmt::format("{:.1f}%", 100 * t.share()); }

void run_check(const CheckCommandOptions& opt, const GlobalOptions& global) {
  std::filesystem::path world_file = opt.world;
  if (std::filesystem::is_directory(world_file)) world_file /= "world.json";
  const auto world = toyworld::read_world_json(world_file);
  toyworld::CheckOptions check_options;
  check_options.max_misses = opt.misses;
  for (const auto& path : opt.datasets) {
    check_options.datasets.push_back({std::filesystem::path(path).stem().string(), load_dataset(path)});
  }
  auto loaded = load(global, opt.model);
  const auto result = toyworld::check_model(*loaded.model, *loaded.tokenizer, world, check_options);
  if (opt.json) {
    auto j = toyworld::to_json(result);
    nlohmann::ordered_json out = {{"model", opt.model},
                                  {"world", world_file.string()},
                                  {"seed", world.value("seed", nlohmann::json())},
                                  {"threads", compute_threads()}};
    for (auto& [key, value] : j.items()) out[key] = value;
    // Ordered as computed (print_json's nlohmann::json would sort the keys).
    std::cout << out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << std::endl;
    return;
  }
  fmt::print("toy-world check: {} on {} ({} prompts, {:.1f} s)\n", opt.model, world_file.string(), result.prompts,
             result.seconds);
  fmt::print("top-1 greedy answer (every token of the answer is the argmax, teacher-forced):\n");
  fmt::print("  {:<72} {:>7} {:>7} {:>7}  {:<7} {}\n", "", "correct", "total", "share", "target", "");
  for (const auto& f : result.figures) {
    fmt::print("  {:<72} {:>7} {:>7} {:>7}  {:<7} {}\n", f.description, f.tally.correct, f.tally.total,
               percent(f.tally), f.target ? fmt::format(">= {:.0f}%", 100 * *f.target) : "",
               f.target ? (f.passed() ? "pass" : "FAIL") : "");
  }
  fmt::print("per relation:\n  {:<26} {:>18} {:>18} {:>18}\n", "", "training phrasings", "held-out", "never stated");
  for (const auto& r : result.relations) {
    auto cell = [](const toyworld::Tally& t) { return fmt::format("{}/{} {:>6}", t.correct, t.total, percent(t)); };
    fmt::print("  {:<26} {:>18} {:>18} {:>18}\n", r.relation, cell(r.train), cell(r.held_out),
               r.unstated ? cell(*r.unstated) : "");
  }
  fmt::print("held-out phrasings:\n");
  for (const auto& p : result.phrasings) {
    if (p.held_out)
      fmt::print("  {:<26} {:<52} {:>5}/{:<5} {:>6}\n", p.relation, p.phrasing, p.tally.correct, p.tally.total,
                 percent(p.tally));
  }
  for (const auto& f : result.figures) {
    if (f.misses.empty()) continue;
    fmt::print("misses, {}:\n", f.key);
    for (const auto& m : f.misses) {
      fmt::print("  {} -> expected \" {}\", got {}\n", m.prompt, m.expected,
                 nlohmann::json(m.predicted).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }
}

void setup_check(CLI::App& parent, const GlobalOptions& global) {
  auto opt = std::make_shared<CheckCommandOptions>();
  auto* sub = parent.add_subcommand(
      "check",
      "measure how well a model knows a toy world: top-1 greedy accuracy on every trained fact with "
      "its training and its held-out phrasings, landmark -> country questions for subjects whose "
      "country is stated and never stated (composition; every subject's never-stated country, split by "
      "whether another subject of the same city has its country stated), marriages in both directions, "
      "and people's facts under their aliases; prints the figures against the toy world's targets "
      "(exit code 0 whatever they are)");
  sub->add_option("--model", opt->model, "Hugging Face model directory trained on the world")->required();
  sub->add_option("--world", opt->world, "the world's directory (or its world.json)")->required();
  sub->add_option("--dataset", opt->datasets,
                  "also check a dataset's own prompts (repeatable): its rewrite, paraphrase and neighbourhood prompts "
                  "against target_true, and each implication kind's probes against the implied fact before the edit "
                  "(e.g. data/toy-world/counterfact.json, data/toy-world/implications.json)")
      ->check(CLI::ExistingFile);
  sub->add_option("--misses", opt->misses, "wrong answers listed per figure (prompt, expected, predicted)")
      ->capture_default_str()
      ->check(kNonNegative);
  sub->add_flag("--json", opt->json, "machine-readable output");
  sub->callback([opt, &global] { run_check(*opt, global); });
}

}  // namespace

void setup_toy_world(CLI::App& app, const GlobalOptions& global) {
  auto* sub =
      app.add_subcommand("toy-world", "the synthetic world of facts: generate it, train its BPE, check a model on it");
  sub->footer(
      "build the embedded default: a synthetic world of real names and facts, its corpora and edit datasets "
      "(generate), a BPE tokenizer trained on its text (bpe), and how well a trained model knows the world (check)");
  sub->require_subcommand(1);
  setup_generate(*sub);
  setup_bpe(*sub);
  setup_check(*sub, global);
}

}  // namespace editlab::cli
