// The shipped toy-world model (data/toy-world/, made by scripts/make-toy-world.sh): what it knows,
// measured as `editlab toy-world check` measures it and asserted at the figures it reached (a
// point below each, for thread-count rounding; docs/toy-world.md), and the seed's ROME edit
// on it end to end (ROME as published, configs/rome/toy-world.json): "The Louvre is located in" ->
// Rome becomes the greedy answer for the rewrite prompt and its held-out paraphrases, and undo
// restores every weight bit for bit.
#include "catch_torch.h"

#include <fstream>

#include "editlab/edit/edit_result.h"
#include "editlab/edit/hparams.h"
#include "editlab/edit/request.h"
#include "editlab/edit/rome.h"
#include "editlab/edit/rome_setup.h"
#include "editlab/model/model_dir.h"
#include "editlab/probe/record.h"
#include "editlab/probe/scoring.h"
#include "editlab/toyworld/check.h"
#include "support.h"

using namespace editlab;
namespace fs = std::filesystem;

namespace {

fs::path toy_dir() { return test::source_dir() / "data/toy-world"; }

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("the shipped toy-world model knows its world", "[toyworld-model]") {
  auto loaded = load_model(toy_dir() / "model");
  // The shape docs/toy-world.md and the manifest describe, within issue 12's 32 MB budget.
  CHECK(loaded.config.n_layer == 6);
  CHECK(loaded.config.n_embd == 128);
  CHECK(fs::file_size(toy_dir() / "model/model.safetensors") <= 32'000'000);

  const auto world = toyworld::read_world_json(toy_dir() / "world.json");
  toyworld::CheckOptions options;
  for (const char* name : {"counterfact", "implications"}) {
    options.datasets.push_back({name, load_dataset(toy_dir() / (std::string(name) + ".json"))});
  }
  const auto result = toyworld::check_model(*loaded.model, *loaded.tokenizer, world, options);
  auto share = [&](const char* key) {
    const auto& f = result.figure(key);
    INFO(key << ": " << f.tally.correct << "/" << f.tally.total);
    REQUIRE(f.tally.total > 0);
    return f.tally.share();
  };
  // Measured on the shipped model (manifest.json "check"), a point or two below for thread-count
  // rounding; issue 12's targets in comments.
  CHECK(share("train_phrasings") >= 0.946 - 0.01);      // target >= 0.95: missed by 0.4 points (docs/toy-world.md)
  CHECK(share("held_out_phrasings") >= 0.875 - 0.01);   // target >= 0.80
  CHECK(share("transitive_unstated") >= 0.432 - 0.03);  // target >= 0.80: missed (docs/toy-world.md); 74 landmarks
  CHECK(result.figure("transitive_unstated").target == 0.80);  // issue 12's bar, as docs/toy-world.md states it
  CHECK(share("marriages") >= 0.903 - 0.02);            // target >= 0.90 (62 prompts)
  CHECK(share("transitive_stated") >= 0.973 - 0.02);
  CHECK(share("composed_unstated") >= 0.302 - 0.02);
  // Split by whether the subject's city is the city of a subject whose country is stated (the
  // route seen inside a composition, "in distribution"): 132 and 70 subjects, counted from
  // world.json apart from editlab; the shipped model composes 35.6% and 20.0% of them.
  const auto& seen = result.figure("composed_unstated_seen_bridge").tally;
  const auto& unseen = result.figure("composed_unstated_unseen_bridge").tally;
  CHECK(seen.total == 132);
  CHECK(unseen.total == 70);
  CHECK(seen.total + unseen.total == result.figure("composed_unstated").tally.total);
  CHECK(seen.correct + unseen.correct == result.figure("composed_unstated").tally.correct);
  CHECK(share("composed_unstated_seen_bridge") >= 0.356 - 0.03);
  CHECK(share("composed_unstated_unseen_bridge") >= 0.200 - 0.03);
  CHECK(share("aliases") >= 0.587 - 0.02);
  // The reverse of a one-way couple is never stated: the reversal curse, as in larger models.
  CHECK(share("marriages_unstated_direction") <= 0.5);

  // The datasets' own prompts (issue 25's bars in comments; docs/toy-world.md): every prompt of
  // each kind is counted once.
  CHECK(result.figure("counterfact/rewrite").tally.total == 600);
  CHECK(result.figure("implications/implied/symmetric").tally.total >= 120);
  // Rewrite, implication and alias prompts use dataset_phrasing() (no training sentence continues
  // them); the bars on rewrite and paraphrase prompts hold the facts stated in training, and the
  // facts never stated (counterfact.json edits 66 countries the model must compose) composition's.
  CHECK(share("counterfact/rewrite") >= 0.892 - 0.02);
  CHECK(share("counterfact/rewrite_stated") >= 0.953 - 0.02);             // target >= 0.95
  CHECK(share("counterfact/rewrite_composed") >= 0.394 - 0.06);           // target >= 0.70: missed (66)
  CHECK(share("counterfact/paraphrase") >= 0.831 - 0.02);
  CHECK(share("counterfact/paraphrase_stated") >= 0.887 - 0.02);          // target >= 0.85
  CHECK(share("implications/rewrite_stated") >= 0.958 - 0.02);           // target >= 0.95
  CHECK(share("implications/paraphrase_stated") >= 0.908 - 0.02);        // target >= 0.85
  CHECK(share("implications/implied/transitive_memorised") >= 0.967 - 0.03);  // target >= 0.90
  CHECK(share("implications/implied/transitive_composed") >= 0.442 - 0.04);   // target >= 0.70: missed
  CHECK(share("implications/implied/symmetric") >= 0.900 - 0.03);             // target >= 0.90
  CHECK(share("implications/implied/inverse") >= 0.992 - 0.03);               // target >= 0.90
  // implications.json edits only facts stated in training: no figure for composed ones.
  CHECK_THROWS(result.figure("implications/rewrite_composed"));

  // The manifest reports what this check computes (its world figures: this model's manifest
  // predates the datasets' figures and the split by bridge).
  const auto manifest = read_json(toy_dir() / "manifest.json");
  for (const auto& f : result.figures) {
    INFO(f.key);
    const bool later = f.key.find('/') != std::string::npos || f.key.ends_with("_bridge");
    if (later && !manifest["check"]["figures"].contains(f.key)) continue;
    CHECK(std::abs(manifest["check"]["figures"][f.key]["share"].get<double>() - f.tally.share()) <= 0.02);
  }
}

TEST_CASE("ROME on the shipped toy world: the Louvre moves to Rome, paraphrases follow, undo is bit-exact",
          "[toyworld-rome]") {
  auto loaded = load_model(toy_dir() / "model");
  auto& model = *loaded.model;
  const auto& tokenizer = *loaded.tokenizer;
  const auto louvre = read_json(toy_dir() / "seed-examples.json").at(0);
  const EditRequest request = parse_edit_request(louvre, "seed-examples.json: record 0");
  REQUIRE(request.sentence() == "The Louvre is located in");
  REQUIRE(request.target_new == "Rome");
  const auto hparams = RomeHparams::from_json(
      read_json_file(test::source_dir() / "configs/rome/toy-world.json", "hparams"), "configs/rome/toy-world.json");
  test::TempDir cache;
  RomeSetupOptions setup;
  setup.cache_dir = cache.path();
  setup.stats_corpus = toy_dir() / "stats.txt";
  const RomeResources resources = prepare_rome(model, tokenizer, loaded.fingerprint(), hparams, setup);

  std::vector<std::string> prompts = {request.sentence()};
  for (const auto& p : louvre.at("paraphrase_prompts")) prompts.push_back(p.get<std::string>());
  REQUIRE(prompts.size() >= 3);
  auto greedy = [&](const std::string& target) {
    std::vector<ScoreRequest> requests;
    for (const auto& p : prompts) requests.push_back({p, target});
    std::vector<bool> out;
    for (const auto& s : score_targets(model, tokenizer, requests)) out.push_back(s.greedy_correct);
    return out;
  };
  auto logits = [&] {
    ForwardRequest forward;
    forward.input_ids = torch::tensor(tokenizer.encode(request.sentence()), torch::kLong).unsqueeze(0);
    return model.forward(forward).logits.clone();
  };
  const auto paris_before = greedy("Paris");
  CHECK(paris_before == std::vector<bool>(prompts.size(), true));  // the model knows the Louvre
  std::vector<std::pair<std::string, torch::Tensor>> weights;
  for (auto& [name, p] : model.parameters_by_name()) weights.emplace_back(name, p.clone());
  const auto logits_before = logits();

  EditResult edit = apply_rome(model, tokenizer, request, hparams, resources);
  // ROME as published (fact_token subject_last, layer 0, GPT-2 XL's v_lr): " Rome" becomes the
  // greedy answer for the rewrite prompt and all four held-out paraphrases, "The Louvre is
  // located in the city of" included (the 3-layer model's last-token ROME could not move that one).
  REQUIRE(prompts.size() == 5);
  CHECK(greedy("Rome") == std::vector<bool>(prompts.size(), true));
  CHECK_FALSE(torch::equal(logits(), logits_before));

  undo(edit);
  for (auto& [name, p] : model.parameters_by_name()) {
    const auto it = std::find_if(weights.begin(), weights.end(), [&](const auto& w) { return w.first == name; });
    REQUIRE(it != weights.end());
    INFO(name);
    CHECK(torch::equal(p, it->second));
  }
  CHECK(torch::equal(logits(), logits_before));
  CHECK(greedy("Paris") == paris_before);
}
