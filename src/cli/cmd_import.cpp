// editlab import ripple-edits FILE --out DATASET / editlab import mquake FILE --out DATASET: the
// public knowledge-editing benchmarks as editlab datasets (see editlab/import/benchmarks.h). A
// record that cannot be converted is reported on stderr and left out; the exit status is 0 when
// at least one record was imported, 2 when none was (or the input could not be read).
#include <iostream>

#include "common.h"
#include "editlab/edit/request.h"
#include "editlab/import/benchmarks.h"
#include "editlab/util/error.h"

namespace editlab::cli {
namespace {

struct ImportOptions {
  std::vector<std::string> unknown;  // words after `import` that are no benchmark's subcommand
  std::string input, out;
  bool json = false;
  std::string relations;                                 // ripple-edits
  std::string question_template = "Q: {} A:", few_shot;  // mquake
};

void finish(const import::ImportResult& result, const ImportOptions& opt, const std::string& name) {
  for (const auto& f : result.failures) std::cerr << fmt::format("record {}: {}\n", f.index, f.reason);
  std::cerr << result.summary_line(name) << "\n";
  if (opt.json) std::cout << result.summary_json().dump(2) << std::endl;  // in its own key order
  if (result.imported() == 0) fail("{}: no record could be imported; nothing written to {}", opt.input, opt.out);
  import::write_dataset(opt.out, result.records);
}

// Words left over after the benchmark's arguments land in `import`'s hidden positional.
void check_no_extra(const ImportOptions& opt) {
  if (!opt.unknown.empty()) fail("import: unexpected argument \"{}\"", opt.unknown.front());
}

// The hidden positional shows as "[...]" in the usage line: leave it out.
class ImportFormatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    std::string usage = CLI::Formatter::make_usage(app, std::move(name));
    for (const std::string mark : {" [...]", " []"}) {
      if (const auto pos = usage.find(mark); pos != std::string::npos) usage.erase(pos, mark.size());
    }
    return usage;
  }
};

void run_ripple_edits(const ImportOptions& opt) {
  check_no_extra(opt);
  import::RippleEditsOptions options;
  if (!opt.relations.empty()) import::add_relations_file(options.relations, opt.relations);
  const auto records = load_json_records(opt.input, "RippleEdits file");
  finish(import::import_ripple_edits(records, options), opt, "ripple-edits");
}

void run_mquake(const ImportOptions& opt) {
  check_no_extra(opt);
  import::MquakeOptions options;
  try {
    import::validate_question_template(opt.question_template);
  } catch (const Error& e) {
    fail("--question-template: {}", e.what());
  }
  options.question_template = opt.question_template;
  if (!opt.few_shot.empty()) options.few_shot = import::load_few_shot(opt.few_shot);
  const auto records = load_json_records(opt.input, "MQuAKE file");
  finish(import::import_mquake(records, options), opt, "mquake");
}

void add_common(CLI::App* sub, ImportOptions& opt, const char* what) {
  sub->add_option("file", opt.input, what)->required()->check(CLI::ExistingFile);
  sub->add_option("--out", opt.out,
                  "the dataset to write (atomically): JSON Lines when it ends in .jsonl, else a JSON array")
      ->required();
  sub->add_flag("--json", opt.json,
                "print the summary as JSON on stdout: {read, imported, failed, failures [{index, kind, reason}], "
                "by_reason}");
}

}  // namespace

void setup_import(CLI::App& app, const GlobalOptions&) {
  auto opt = std::make_shared<ImportOptions>();
  auto* sub = app.add_subcommand(
      "import",
      "convert RippleEdits or MQuAKE into an editlab dataset");
  sub->footer("convert a public knowledge-editing benchmark into an editlab dataset: `import ripple-edits FILE --out D` "
      "(RippleEdits) or `import mquake FILE --out D` (MQuAKE). Failed records are listed on stderr (\"record 17: "
      "<reason>\") and left out; exit 0 when at least one record was imported, 2 when none was");
  // Words that are no benchmark land here (hidden), so that the check below can name them and list
  // the two; CLI11 alone would only say "not expected".
  sub->add_option("benchmark", opt->unknown)->group("");
  sub->formatter(std::make_shared<ImportFormatter>());

  auto* ripple = sub->add_subcommand(
      "ripple-edits",
      "RippleEdits (popular.json, random.json, recent.json) -> dataset. The edit holds Wikidata ids, not labels: "
      "subject and target_new are read back from the edit's prompt, which the reference writes as the relation's "
      "template with the subject, then \" \" + target + \".\" (53 relations of its src/relation.py built in); "
      "target_true likewise from original_fact (or previous_fact; \"recent\" records have none). When the prompt "
      "splits in more than one way, the record's regular queries about the same subject (no phrase of their own) "
      "must name the subject. Each test query's answer becomes an implication (kind: the family; target_old the "
      "original target for Subject_Aliasing queries of the edited relation, the edit's target for "
      "Relation_Specificity and Forgetfulness, none otherwise), each test case a benchmark_tests entry. A record fails "
      "(and is left out) for: unknown relation, prompt does not match template, ambiguous subject, original fact's "
      "subject differs, missing field, ill-typed field");
  add_common(ripple, *opt, "the RippleEdits file (a JSON list, one object, or JSON Lines)");
  ripple
      ->add_option("--relations", opt->relations,
                   "JSON object adding or overriding relations: {NAME: \"template with <subject>\"} or "
                   "{NAME: {\"id\": \"P27\", \"template\": \"...\"}}")
      ->check(CLI::ExistingFile);
  ripple->callback([opt] { run_ripple_edits(*opt); });

  auto* mquake = sub->add_subcommand(
      "mquake",
      "MQuAKE (MQuAKE-CF-3k.json, MQuAKE-CF.json, MQuAKE-T.json) -> dataset. A case's 1-4 rewrites become one "
      "record's requested_rewrite list (applied together); each of its questions becomes a multi_hop implication "
      "(new_answer against answer) and a query of one benchmark test (passed when any question gives new_answer "
      "or an alias). The prompt is the --few-shot text + the --question-template with the question. A case fails "
      "(and is left out) for: missing field, ill-typed field, bad rewrite prompt (not exactly one \"{}\"), no "
      "questions, empty new_answer");
  add_common(mquake, *opt, "the MQuAKE file (a JSON list, one object, or JSON Lines)");
  mquake->add_option("--question-template", opt->question_template, "the question prompt; \"{}\" is the question")
      ->capture_default_str();
  mquake
      ->add_option("--few-shot", opt->few_shot,
                   "a text file prepended to every question prompt (a newline added when it lacks one), e.g. "
                   "MQuAKE's prompts/multihop-prompts.txt")
      ->check(CLI::ExistingFile);
  mquake->callback([opt] { run_mquake(*opt); });

  sub->callback([sub, opt] {
    if (!sub->get_subcommands().empty()) return;
    fail(
        "import: {}; expected `editlab import ripple-edits FILE --out DATASET` or `editlab import mquake FILE --out "
        "DATASET`",
        opt->unknown.empty() ? std::string("a benchmark is required")
                             : fmt::format("unknown benchmark \"{}\"", opt->unknown.front()));
  });
}

}  // namespace editlab::cli
