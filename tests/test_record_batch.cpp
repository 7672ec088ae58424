// Records probed together (issue 27): RecordProbes::observe_many scores many records' prompts in
// shared batches, each record's ROME edit applied to its own rows only (a rank-one update per row,
// no weight written), and gives what observe gives one record at a time on the weight-edited model.
#include "catch_torch.h"

#include "editlab/edit/editor.h"
#include "editlab/edit/rome_setup.h"
#include "editlab/model/generate.h"
#include "editlab/model/model_dir.h"
#include "editlab/probe/suites.h"
#include "support.h"

using namespace editlab;

namespace {

nlohmann::json record(int id, const std::string& prompt, const std::string& subject, const std::string& target_new,
                      const std::string& target_true) {
  return {{"case_id", id},
          {"requested_rewrite",
           {{"prompt", prompt}, {"subject", subject}, {"target_new", {{"str", target_new}}},
            {"target_true", {{"str", target_true}}}}},
          {"paraphrase_prompts", {"Where is " + subject + "? It is in", subject + " can be found in"}},
          {"neighborhood_prompts", {"The Colosseum is located in", "Big Ben is in"}},
          {"implications",
           {{{"kind", "transitive"}, {"prompt", subject + " is in the country of"}, {"target_new", "Italy"},
             {"target_old", "France"}}}},
          {"mention_prompts", {subject + " is nice. The Colosseum is in"}}};
}

nlohmann::json rome_hparams() {
  return {{"layers", {1}},           {"fact_token", "subject_last"}, {"v_num_grad_steps", 6}, {"v_lr", 0.5},
          {"v_loss_layer", 1},       {"v_weight_decay", 0.5},        {"clamp_norm_factor", 4}, {"kl_factor", 0.0625},
          {"mom2_adjustment", false}, {"mom2_dataset", "wikipedia"},  {"mom2_n_samples", 10},    {"mom2_dtype", "float32"}};
}

}  // namespace

TEST_CASE("observe_many with each record's rank-one edit equals observe on the edited model, record by record",
          "[record_batch]") {
  auto loaded = load_model(test::fixture_model_dir(), {torch::kFloat64, torch::kCPU});
  auto& model = *loaded.model;
  auto& tok = *loaded.tokenizer;
  RomeSetupOptions setup;
  setup.use_cache = false;
  auto editor = make_editor(EditMethod::rome, rome_hparams(), "h.json", model, tok, loaded.fingerprint(), setup);
  SuiteOptions options;
  options.suites = default_suites();
  options.max_length = 12;
  const std::vector<ProbeRecord> records = {
      parse_probe_record(record(0, "{} is located in", "The Eiffel Tower", "Rome", "Paris"), "r0"),
      parse_probe_record(record(1, "{} is located in the city of", "The Louvre", "Berlin", "Paris"), "r1"),
      parse_probe_record(record(2, "{} was born in", "Barack Obama", "Tokyo", "Honolulu"), "r2")};
  std::vector<std::unique_ptr<RecordProbes>> probes;
  std::vector<const RecordProbes*> pointers;
  for (const auto& r : records) {
    probes.push_back(std::make_unique<RecordProbes>(r, options));
    pointers.push_back(probes.back().get());
  }
  const std::vector<uint64_t> seeds = {1, 2, 3};

  // One at a time, as `editlab run` without record batches: observe, edit, observe, undo.
  std::vector<Observation> before, after;
  std::vector<std::vector<RowEdits::Update>> updates;
  for (size_t k = 0; k < records.size(); ++k) {
    before.push_back(probes[k]->observe(model, tok, seeds[k]));
    auto edits = editor->apply(records[k].requests);
    REQUIRE(edits.size() == 1);
    REQUIRE(edits[0].rome.size() == 1);
    updates.push_back({{edits[0].rome[0].layer, edits[0].rome[0].u, edits[0].rome[0].v}});
    after.push_back(probes[k]->observe(model, tok, seeds[k]));
    for (auto& e : edits) undo(e);
  }
  // Together: the unedited observations, then every record's edit on its own rows.
  const auto weight = model.mlp_out_weight(1).clone();
  const auto before_many = RecordProbes::observe_many(pointers, model, tok, seeds);
  const auto after_many = RecordProbes::observe_many(pointers, model, tok, seeds, &updates);
  CHECK(torch::equal(model.mlp_out_weight(1), weight));  // the generations' weight writes are restored

  double worst = 0;
  for (size_t k = 0; k < records.size(); ++k) {
    for (const auto* pair : {&before, &after}) {
      const auto& one = (*pair)[k];
      const auto& many = (pair == &before ? before_many : after_many)[k];
      REQUIRE(one.scores.size() == many.scores.size());
      for (size_t i = 0; i < one.scores.size(); ++i) {
        worst = std::max(worst, std::abs(one.scores[i].nll - many.scores[i].nll));
        CHECK(one.scores[i].greedy_correct == many.scores[i].greedy_correct);
      }
      worst = std::max(worst, (one.next_logprobs - many.next_logprobs).abs().max().item<double>());
      CHECK(one.generations == many.generations);
    }
    // The metrics a report keeps agree to 1e-9 (issue 27 asks 1e-6 in float64).
    const auto m1 = probes[k]->metrics(before[k], after[k])["metrics"];
    const auto m2 = probes[k]->metrics(before_many[k], after_many[k])["metrics"];
    for (const auto& [name, values] : m1.items()) {
      INFO(name);
      REQUIRE(m2.contains(name));
      for (size_t i = 0; i < values.size(); ++i) {
        CHECK(std::abs(values[i].get<double>() - m2[name][i].get<double>()) <= 1e-9);
      }
    }
  }
  CHECK(worst <= 1e-9);
  // The edits did something (so the comparison above is not between two unedited models).
  double moved = 0;
  for (size_t k = 0; k < records.size(); ++k) {
    for (size_t i = 0; i < after_many[k].scores.size(); ++i)
      moved = std::max(moved, std::abs(after_many[k].scores[i].nll - before_many[k].scores[i].nll));
  }
  CHECK(moved > 1e-2);
}

TEST_CASE("generate_many: several prompts' beam searches in one batch equal each alone, edits per prompt",
          "[record_batch]") {
  auto loaded = load_model(test::fixture_model_dir(), {torch::kFloat64, torch::kCPU});
  auto& model = *loaded.model;
  auto& tok = *loaded.tokenizer;
  const std::vector<std::string> texts = {"The Eiffel Tower is in the country of", "Hello", "Barack Obama was born in",
                                          "The capital of the United Kingdom, a large country, is"};
  std::vector<std::vector<int64_t>> prompts;
  std::vector<int64_t> lengths;
  for (size_t i = 0; i < texts.size(); ++i) {
    prompts.push_back(tok.encode_prompt(texts[i]));
    lengths.push_back(static_cast<int64_t>(prompts.back().size()) + 4 + static_cast<int64_t>(i) * 3);
  }
  GenerateOptions options;
  options.num_beams = 5;
  options.eos_token_id = tok.eos_id();
  const auto many = generate_many(model, prompts, lengths, options);
  REQUIRE(many.size() == prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerateOptions one = options;
    one.max_length = lengths[i];
    const auto alone = generate(model, prompts[i], one);
    INFO(texts[i]);
    CHECK(many[i].ids == alone.ids);
    CHECK(many[i].score == Approx(alone.score).margin(1e-9));
  }
  // With a rank-one edit on prompt 0's and prompt 2's rows: what generate gives on the model
  // with that edit written into the weight.
  auto weight = model.mlp_out_weight(1);
  torch::manual_seed(7);
  const auto u = torch::randn({weight.size(0)}, torch::kFloat64);
  const auto v = torch::randn({weight.size(1)}, torch::kFloat64) * 0.5;
  RowEdits edits;
  edits.groups = {{{1, u, v}}};
  edits.group = {0, -1, 0, -1};
  const auto edited_many = generate_many(model, prompts, lengths, options, &edits);
  const auto saved = weight.clone();
  {
    torch::NoGradGuard no_grad;
    weight.add_(torch::outer(u, v));
  }
  bool changed = false;
  for (size_t i : {0u, 2u}) {
    GenerateOptions one = options;
    one.max_length = lengths[i];
    const auto alone = generate(model, prompts[i], one);
    CHECK(edited_many[i].ids == alone.ids);
    changed = changed || edited_many[i].ids != many[i].ids;
  }
  {
    torch::NoGradGuard no_grad;
    weight.copy_(saved);
  }
  CHECK(edited_many[1].ids == many[1].ids);  // unedited rows as before
  CHECK(edited_many[3].ids == many[3].ids);
  CHECK(changed);  // the edit changed some generation
}
