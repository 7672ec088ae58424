// The real executable's edit and stats commands on the fixture model.
#include "catch_torch.h"

#include <fstream>

#include "editlab/model/model_dir.h"
#include "support.h"

using namespace editlab;
using test::run_cli;
using test::shell_quote;
namespace fs = std::filesystem;
using Catch::Contains;

namespace {

const std::string model_arg = "--model " + shell_quote(test::fixture_model_dir().string());

std::string fixture(const std::string& name) {
  return shell_quote((test::source_dir() / "tests/fixtures" / name).string());
}

// ROME hyperparameters and templates of the Python reference (layer 0 of the 2-layer fixture).
void write_rome_inputs(const test::TempDir& tmp) {
  std::ifstream in(test::source_dir() / "tests/fixtures/tiny-gpt2-rome.json");
  auto ref = nlohmann::json::parse(in);
  std::ofstream(tmp / "rome.json") << ref["hparams"].dump();
  std::ofstream(tmp / "templates.json") << ref["context_templates"].dump();
  std::ofstream(tmp / "ft.json") << nlohmann::json{{"layers", {1}},     {"num_steps", 5}, {"lr", 1e-3},
                                                   {"weight_decay", 0}, {"kl_factor", 0}, {"norm_constraint", false}}
                                        .dump();
  std::ofstream corpus(tmp / "corpus.txt");
  for (const auto& t : ref["corpus"]) corpus << t.get<std::string>() << "\n\n";
}

const std::string edit_flags = "--prompt " + shell_quote("{} is located in the city of") + " --subject " +
                               shell_quote("The Eiffel Tower") +
                               " --target-new Rome --target-true Paris --beams 2 --max-new-tokens 4";

}  // namespace

TEST_CASE("editlab edit: ROME and FT, JSON output, --save", "[cli_edit]") {
  test::TempDir tmp;
  write_rome_inputs(tmp);
  const std::string common = model_arg + " --cache-dir " + shell_quote((tmp / "cache").string());
  SECTION("ROME with ROME's .npz statistics and fixed templates") {
    auto r = run_cli("edit " + common + " --hparams " + shell_quote((tmp / "rome.json").string()) + " --stats " +
                     fixture("tiny-gpt2-layer0-mom2.npz") + " --context-templates " +
                     shell_quote((tmp / "templates.json").string()) + " " + edit_flags + " --probe-edits --json --save " +
                     shell_quote((tmp / "edited").string()));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    REQUIRE(j["after"]["targets"][0]["p_new"].get<double>() > j["before"]["targets"][0]["p_new"].get<double>());
    REQUIRE(j["edits"][0]["weights"][0] == "h.0.mlp.c_proj.weight");
    REQUIRE(j["edits"][0]["diagnostics"]["layers"][0]["losses"].size() == 20);
    // The saved directory loads and holds the edited weight; the original is untouched.
    auto edited = load_model(tmp / "edited");
    auto original = load_model(test::fixture_model_dir());
    REQUIRE_FALSE(torch::equal(edited.model->mlp_out_weight(0), original.model->mlp_out_weight(0)));
    REQUIRE(torch::equal(edited.model->mlp_out_weight(1), original.model->mlp_out_weight(1)));
  }
  SECTION("ROME computing the statistics from a corpus (then cached)") {
    const std::string cmd = "edit " + common + " --hparams " + shell_quote((tmp / "rome.json").string()) +
                            " --stats-corpus " + shell_quote((tmp / "corpus.txt").string()) + " " + edit_flags +
                            " --probe-edits --probe " + shell_quote("Paris is");
    auto first = run_cli(cmd);
    INFO(first.err);
    REQUIRE(first.exit_code == 0);
    REQUIRE_THAT(first.err, Contains("computing"));
    REQUIRE_THAT(first.out, Contains("p(new)") && Contains("Paris is"));
    auto second = run_cli(cmd);
    REQUIRE(second.exit_code == 0);
    REQUIRE_THAT(second.err, Contains("cache hit"));
  }
  SECTION("FT from an edit file (JSON Lines)") {
    std::ofstream(tmp / "edits.jsonl")
        << R"({"case_id": 3, "requested_rewrite": {"prompt": "{} is located in the city of", "subject": "The Eiffel Tower", "target_new": {"str": "Rome"}, "target_true": {"str": "Paris"}}})"
        << "\n";
    auto r = run_cli("edit " + common + " --method ft --hparams " + shell_quote((tmp / "ft.json").string()) +
                     " --edit " + shell_quote((tmp / "edits.jsonl").string()) + " --beams 1 --max-new-tokens 3");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE_THAT(r.out, Contains("edit 3"));
    REQUIRE_THAT(r.out, Contains("ft in"));
    // No probes unless asked: the command's time is the edit's.
    REQUIRE_THAT(r.out, !Contains("before:") && Contains("no probes"));
  }
}

TEST_CASE("editlab stats: computes, caches, exports", "[cli_edit]") {
  test::TempDir tmp;
  write_rome_inputs(tmp);
  const std::string cmd = "stats " + model_arg + " --layer 0 --corpus " + shell_quote((tmp / "corpus.txt").string()) +
                          " --cache-dir " + shell_quote((tmp / "cache").string()) + " --json --out " +
                          shell_quote((tmp / "layer0.safetensors").string());
  auto r = run_cli(cmd);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::ifstream in(test::source_dir() / "tests/fixtures/tiny-gpt2-rome.json");
  auto ref = nlohmann::json::parse(in);
  REQUIRE(nlohmann::json::parse(r.out)["tokens"] == ref["mom2_count"]);
  REQUIRE(fs::exists(tmp / "layer0.safetensors"));
  REQUIRE_THAT(run_cli(cmd).err, Contains("cache hit"));
}

TEST_CASE("editlab edit and stats: bad input is one clear error, exit code 2", "[cli_edit]") {
  test::TempDir tmp;
  write_rome_inputs(tmp);
  auto expect = [](const test::CliResult& r, const std::string& needle) {
    INFO(r.err);
    REQUIRE(r.exit_code == 2);
    REQUIRE_THAT(r.err, Contains(needle));
  };
  const std::string rome = " --hparams " + shell_quote((tmp / "rome.json").string());
  expect(run_cli("edit " + model_arg + rome + " --prompt " + shell_quote("The Eiffel Tower is in") + " --subject " +
                 shell_quote("The Eiffel Tower") + " --target-new Rome"),
         "{}");
  expect(run_cli("edit " + model_arg + rome + " " + edit_flags), "--stats-corpus");  // no statistics
  expect(run_cli("edit " + model_arg + " --hparams /no/such.json " + edit_flags), "/no/such.json");
  expect(run_cli("edit " + model_arg + rome + " --method mend " + edit_flags), "mend");
  // Complete ROME hyperparameters with one value changed (a partial file is itself an error).
  auto rome_with = [&](const char* file, const char* key, const nlohmann::json& value) {
    std::ifstream in(tmp / "rome.json");
    auto j = nlohmann::json::parse(in);
    j[key] = value;
    j["mom2_adjustment"] = false;
    std::ofstream(tmp / file) << j.dump();
  };
  rome_with("bad_layer.json", "layers", {9});
  expect(
      run_cli("edit " + model_arg + " --hparams " + shell_quote((tmp / "bad_layer.json").string()) + " " + edit_flags),
      "layer 9");
  rome_with("bad_type.json", "v_lr", "fast");
  rome_with("typo.json", "v_lrr", 0.5);
  expect(run_cli("edit " + model_arg + " --hparams " + shell_quote((tmp / "typo.json").string()) + " " + edit_flags),
         "unknown key \"v_lrr\"; did you mean \"v_lr\"?");
  expect(
      run_cli("edit " + model_arg + " --hparams " + shell_quote((tmp / "bad_type.json").string()) + " " + edit_flags),
      "v_lr");
  expect(run_cli("stats " + model_arg + " --layer 7 --corpus " + shell_quote((tmp / "corpus.txt").string()) +
                 " --no-cache"),
         "layer 7");
  std::ofstream(tmp / "empty.txt") << "\n\n";
  expect(run_cli("stats " + model_arg + " --layer 0 --corpus " + shell_quote((tmp / "empty.txt").string()) +
                 " --no-cache"),
         "no text");
}
