// Editing at inference (inference_edit.h): where PatchedModel adds ROME's delta (the subject's last
// token in every occurrence, the same position as ROME's lookup, never padding), that the model is
// otherwise untouched and undo is exact; IKE's prompt context and demonstrations.
#include "catch_torch.h"

#include "editlab/edit/editor.h"
#include "editlab/edit/inference_edit.h"
#include "editlab/edit/repr_tools.h"
#include "editlab/edit/rome_setup.h"
#include "editlab/model/model_dir.h"
#include "editlab/util/error.h"
#include "support.h"

using namespace editlab;
using Catch::Contains;

namespace {

torch::Tensor last_logits(LanguageModel& model, const Tokenizer& tok, const std::string& text) {
  torch::NoGradGuard no_grad;
  ForwardRequest r;
  r.input_ids = torch::tensor(tok.encode_prompt(text), torch::kLong).unsqueeze(0);
  return model.forward(r).logits[0][-1].clone();
}

nlohmann::json rome_hparams() {
  return {{"layers", {0}},       {"fact_token", "subject_last"}, {"v_num_grad_steps", 10}, {"v_lr", 0.5},
          {"v_loss_layer", 1},   {"v_weight_decay", 0.5},        {"clamp_norm_factor", 4}, {"kl_factor", 0.0625},
          {"mom2_adjustment", true}, {"mom2_dataset", "wikipedia"}, {"mom2_n_samples", 10}, {"mom2_dtype", "float32"}};
}

}  // namespace

TEST_CASE("find_occurrences: the last token of every occurrence, padding never", "[inference_edit]") {
  auto ids = torch::tensor({1, 2, 3, 2, 3, 2, 3, 9, 9, 9}, torch::kLong).view({2, 5});
  auto mask = torch::tensor({1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, torch::kLong).view({2, 5});
  auto [batch, position] = find_occurrences(ids, mask, {{2, 3}});
  CHECK(batch == std::vector<int64_t>{0, 0, 1});
  CHECK(position == std::vector<int64_t>{2, 4, 1});
  auto pad = torch::tensor({0, 0, 1, 1, 1}, torch::kLong).view({1, 5});  // left padding hides [2, 3] at 0..1
  auto row = torch::tensor({2, 3, 2, 3, 5}, torch::kLong).view({1, 5});
  CHECK(find_occurrences(row, pad, {{2, 3}}).second == std::vector<int64_t>{3});
  CHECK(find_occurrences(row, {}, {{3, 5}, {9}}).second == std::vector<int64_t>{4});
}

TEST_CASE("rome-patch: ROME's delta at the subject's lookup, nothing else changed, exact undo", "[inference_edit]") {
  auto loaded = load_model(test::fixture_model_dir(), {torch::kFloat64, torch::kCPU});
  auto& tok = *loaded.tokenizer;
  const std::string unrelated = "The weather in the mountains is";
  const std::string edited = "The Eiffel Tower is located in the city of";
  const auto before_unrelated = last_logits(*loaded.model, tok, unrelated);
  const auto before_edited = last_logits(*loaded.model, tok, edited);
  RomeSetupOptions options;
  options.use_cache = false;
  options.inference = prepare_inference_editing(EditMethod::rome_patch, loaded);
  auto editor = make_editor(EditMethod::rome_patch, rome_hparams(), "h.json", *loaded.model, *loaded.tokenizer,
                            loaded.fingerprint(), options);  // mom2_dataset names no file: not needed
  EditRequest r{"0", "{} is located in the city of", "The Eiffel Tower", "Rome", "Paris", ""};
  auto edits = editor->apply({r});
  REQUIRE(edits.size() == 1);
  CHECK(edits[0].changes.empty());  // no weight changed
  auto& patched = *options.inference->model;
  REQUIRE(patched.patches().size() == 1);
  // The patch sits where ROME looks the subject up, in the bare prompt and after a prefix.
  for (const std::string& templ : {std::string("{} is located in the city of"),
                                   std::string("Yesterday I saw {} from the river")}) {
    const auto located = locate_subject(tok, templ, r.subject, "subject_last");
    auto ids = torch::tensor(located.ids, torch::kLong).unsqueeze(0);
    const auto [batch, position] = find_occurrences(ids, {}, patched.patches()[0].subject_ids);
    REQUIRE(position.size() == 1);
    CHECK(position[0] == located.index);
  }
  // With the patch: the edit's prompt moves toward Rome, a prompt without the subject is unchanged.
  const auto rome = tok.encode_continuation(" Rome")[0];
  const auto after_edited = last_logits(*loaded.model, tok, edited);
  CHECK(torch::log_softmax(after_edited, -1)[rome].item<double>() >
        torch::log_softmax(before_edited, -1)[rome].item<double>() + 1.0);
  CHECK(torch::equal(last_logits(*loaded.model, tok, unrelated), before_unrelated));
  // The patched model equals the model with the delta added by hand at the lookup.
  {
    torch::NoGradGuard no_grad;
    const auto located = locate_subject(tok, "{} is located in the city of", r.subject, "subject_last");
    ForwardRequest by_hand;
    by_hand.input_ids = torch::tensor(located.ids, torch::kLong).unsqueeze(0);
    by_hand.interventions.push_back({0, torch::tensor({int64_t{0}}), torch::tensor({located.index}), false, false,
                                     patched.patches()[0].delta, {}});
    CHECK(torch::allclose(patched.base().forward(by_hand).logits[0][-1], after_edited, 1e-12, 1e-12));
  }
  undo(edits[0]);
  CHECK(patched.patches().empty());
  CHECK(torch::equal(last_logits(*loaded.model, tok, edited), before_edited));
}

TEST_CASE("ike: the context precedes every prompt; demonstrations as IKE builds them, seeded", "[inference_edit]") {
  auto loaded = load_model(test::fixture_model_dir(), {torch::kFloat32, torch::kCPU});
  const auto plain = *loaded.tokenizer;
  auto state = prepare_inference_editing(EditMethod::ike, loaded);
  const auto& tok = *loaded.tokenizer;
  CHECK(tok.encode_prompt("The Louvre is in") == plain.encode_prompt("The Louvre is in"));  // empty context
  CHECK(tok.prompt_context_tokens("The Louvre is in") == 0);
  std::vector<nlohmann::json> records;
  for (int i = 0; i < 6; ++i) {
    records.push_back({{"case_id", i},
                       {"requested_rewrite",
                        {{"prompt", "{} is in"},
                         {"subject", "Place " + std::to_string(i)},
                         {"target_new", {{"str", "Rome"}}},
                         {"target_true", {{"str", "Paris"}}}}},
                       {"paraphrase_prompts", {"Place " + std::to_string(i) + " lies in"}},
                       {"neighborhood_prompts", {"Town " + std::to_string(i) + " is in"}}});
  }
  state->facts = ike_facts(records);
  REQUIRE(state->facts.size() == 6);
  auto editor = make_editor(EditMethod::ike, {{"copy", 1}, {"update", 1}, {"retain", 2}}, "ike.json", *loaded.model,
                            tok, loaded.fingerprint(), [&] {
                              RomeSetupOptions o;
                              o.inference = state;
                              return o;
                            }());
  EditRequest r{"0", "{} is in", "Place 0", "Berlin", "Paris", ""};
  auto edits = editor->apply({r});
  const std::string context = state->prompt->text;
  size_t facts = 0;
  for (auto pos = context.find("New Fact: "); pos != std::string::npos; pos = context.find("New Fact: ", pos + 1)) ++facts;
  CHECK(facts == 6);  // 1 copy + 1 update + 2 retain + the request's own copy + the query
  CHECK(context.ends_with("New Fact: Place 0 is in Berlin\nPrompt: "));
  CHECK_THAT(context, Contains("New Fact: Place 0 is in Berlin\nPrompt: Place 0 is in Berlin\n\n"));
  CHECK_THAT(context, Contains(" lies in Rome\n\n"));   // an update demonstration: a paraphrase and the new object
  CHECK_THAT(context, Contains(" is in Paris\n\n"));    // a retain demonstration: a neighbour and the true object
  CHECK(context.find("Place 0 lies in") == std::string::npos);  // no demonstration from the request's own record
  CHECK(tok.encode_prompt("Place 0 is in") == plain.encode_prompt(context + "Place 0 is in"));
  CHECK(tok.prompt_context_tokens("Place 0 is in") ==
        static_cast<int64_t>(plain.encode_prompt(context + "Place 0 is in").size() -
                             plain.encode_prompt("Place 0 is in").size()));
  // Seeded: the same context again; undo empties it.
  undo(edits[0]);
  CHECK(state->prompt->text.empty());
  editor->apply({r});
  CHECK(state->prompt->text == context);
  CHECK_THROWS_WITH(IkeHparams::from_json({{"copies", 1}}, "ike.json"), Contains("unknown key \"copies\""));
}
