// Edits on the fixture GPT-2: ROME against a Python version of ROME's compute_u / compute_v
// (scripts/make_rome_reference.py), the rank-one update's properties, FT / FT-L, exact undo,
// second-moment statistics (direct computation, early exit, cache, ROME's .npz) and input errors.
#include "catch_torch.h"

#include <fstream>

#include "editlab/edit/editor.h"
#include "editlab/edit/ft.h"
#include "editlab/edit/repr_tools.h"
#include "editlab/edit/rome.h"
#include "editlab/edit/rome_setup.h"
#include "editlab/model/model_dir.h"
#include "editlab/util/error.h"
#include "support.h"

using namespace editlab;
namespace fs = std::filesystem;
using Catch::Contains;

namespace {

const nlohmann::json& reference() {
  static const nlohmann::json j = [] {
    std::ifstream in(test::source_dir() / "tests/fixtures/tiny-gpt2-rome.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

torch::Tensor reference_tensor(const nlohmann::json& values) {
  if (values[0].is_array()) {
    std::vector<torch::Tensor> rows;
    for (const auto& r : values) rows.push_back(torch::tensor(r.get<std::vector<double>>(), torch::kDouble));
    return torch::stack(rows);
  }
  return torch::tensor(values.get<std::vector<double>>(), torch::kDouble);
}

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
  auto x = a.to(torch::kDouble), y = b.to(torch::kDouble);
  return (torch::dot(x, y) / (x.norm() * y.norm())).item<double>();
}

EditRequest request_of(const nlohmann::json& r) { return parse_edit_request(r, "reference request"); }

// Complete FT hyperparameters (every key ROME's FT files carry), layer 1, 10 steps.
nlohmann::json ft_hparams(double lr, const nlohmann::json& norm_constraint) {
  return {{"layers", {1}},     {"num_steps", 10}, {"lr", lr},
          {"weight_decay", 0}, {"kl_factor", 0},  {"norm_constraint", norm_constraint}};
}

RomeHparams reference_hparams() { return RomeHparams::from_json(reference()["hparams"], "reference hparams"); }

RomeResources reference_resources(LanguageModel& model) {
  RomeResources resources;
  resources.context_templates = reference()["context_templates"].get<std::vector<std::string>>();
  auto mom2 = reference_tensor(reference()["mom2"]);
  resources.inverse_moment[0] = torch::inverse(mom2 / reference()["mom2_count"].get<double>()).to(model.dtype());
  return resources;
}

}  // namespace

TEST_CASE("second-moment statistics equal a direct computation and stop after the layer", "[stats]") {
  auto loaded = load_model(test::fixture_model_dir(), {torch::kFloat64, torch::kCPU});
  auto texts = reference()["corpus"].get<std::vector<std::string>>();
  auto expected = reference_tensor(reference()["mom2"]);
  auto stats = compute_second_moment(*loaded.model, *loaded.tokenizer, texts, 0, torch::kFloat64, 64);
  REQUIRE(stats.count == reference()["mom2_count"].get<int64_t>());
  const double rel = ((stats.mom2 - expected).abs().max() / expected.abs().max()).item<double>();
  WARN(fmt::format("float64 statistics vs direct computation: max relative difference {:.2g}", rel));
  REQUIRE(rel < 1e-12);
  SECTION("early exit: nothing past the layer is computed (NaN weights there change nothing)") {
    torch::NoGradGuard no_grad;
    for (auto& [name, p] : loaded.model->parameters_by_name()) {
      if (name.rfind("h.1.", 0) == 0 || name.rfind("ln_f", 0) == 0) p.fill_(std::nan(""));
    }
    auto again = compute_second_moment(*loaded.model, *loaded.tokenizer, texts, 0, torch::kFloat64);
    REQUIRE(torch::allclose(again.mom2, stats.mom2, 1e-12, 0));
  }
  SECTION("float32 accumulation, as ROME") {
    auto f32 = compute_second_moment(*loaded.model, *loaded.tokenizer, texts, 0, torch::kFloat32);
    REQUIRE(((f32.mom2.to(torch::kDouble) - expected).abs().max() / expected.abs().max()).item<double>() < 1e-5);
  }
}

TEST_CASE("statistics cache: miss, hit, corrupt file recomputed; ROME's .npz imported", "[stats]") {
  auto loaded = load_model(test::fixture_model_dir(), {torch::kFloat64, torch::kCPU});
  test::TempDir tmp;
  {
    std::ofstream corpus(tmp / "corpus.txt");
    for (const auto& t : reference()["corpus"]) corpus << t.get<std::string>() << "\n\n";
  }
  std::vector<std::string> log;
  RomeSetupOptions options;
  options.cache_dir = tmp / "cache";
  options.log = [&](const std::string& line) { log.push_back(line); };
  StatsRequest request{0, tmp / "corpus.txt", 1000, "float64"};
  fs::path file;
  auto first = cached_layer_stats(*loaded.model, *loaded.tokenizer, loaded.fingerprint(), request, options, &file);
  REQUIRE(fs::exists(file));
  REQUIRE_THAT(log.back(), Contains("computing"));
  auto second = cached_layer_stats(*loaded.model, *loaded.tokenizer, loaded.fingerprint(), request, options);
  REQUIRE_THAT(log.back(), Contains("cache hit"));
  REQUIRE(torch::equal(first.mom2, second.mom2));
  {  // flip one byte of the data section
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-16, std::ios::end);
    char c;
    f.read(&c, 1);
    f.seekp(-16, std::ios::end);
    c ^= 0x55;
    f.write(&c, 1);
  }
  auto third = cached_layer_stats(*loaded.model, *loaded.tokenizer, loaded.fingerprint(), request, options);
  REQUIRE_THAT(log[log.size() - 2] + log.back(), Contains("corrupt") || Contains("computing"));
  REQUIRE(torch::equal(first.mom2, third.mom2));
  // Another layer or sample count is another key.
  REQUIRE(stats_cache_key("xxh3-128:ab", 0, "xxh3-128:cd", 10, "float32") !=
          stats_cache_key("xxh3-128:ab", 1, "xxh3-128:cd", 10, "float32"));

  auto npz = import_npz_stats(test::source_dir() / "tests/fixtures/tiny-gpt2-layer0-mom2.npz");
  REQUIRE(npz.count == reference()["mom2_count"].get<int64_t>());
  REQUIRE(npz.mom2.scalar_type() == torch::kFloat32);
  auto expected = reference_tensor(reference()["mom2"]);
  REQUIRE(((npz.mom2.to(torch::kDouble) - expected).abs().max() / expected.abs().max()).item<double>() < 1e-6);
  REQUIRE_THROWS_WITH(import_npz_stats(tmp / "corpus.txt"), Contains("corpus.txt"));
}

TEST_CASE("ROME's mom2_dataset names the statistics corpus when it is a file", "[stats]") {
  auto loaded = load_model(test::fixture_model_dir(), {torch::kFloat64, torch::kCPU});
  test::TempDir tmp;
  fs::create_directories(tmp / "hparams");
  {
    std::ofstream corpus(tmp / "hparams" / "corpus.txt");
    for (const auto& t : reference()["corpus"]) corpus << t.get<std::string>() << "\n\n";
  }
  RomeHparams hp = reference_hparams();
  hp.mom2_dataset = "corpus.txt";  // relative to the hyperparameter file's directory
  std::vector<std::string> log;
  RomeSetupOptions options;
  options.cache_dir = tmp / "cache";
  options.samples = 1000;
  options.log = [&](const std::string& line) { log.push_back(line); };
  options.hparams_dir = tmp / "hparams";
  const auto resources = prepare_rome(*loaded.model, *loaded.tokenizer, loaded.fingerprint(), hp, options);
  REQUIRE(resources.inverse_moment.count(hp.layers[0]) == 1);
  CHECK(std::any_of(log.begin(), log.end(), [](const std::string& l) {
    return l.find("statistics corpus:") != std::string::npos && l.find("mom2_dataset") != std::string::npos;
  }));
  // The same statistics as naming the corpus directly.
  const auto direct = cached_layer_stats(*loaded.model, *loaded.tokenizer, loaded.fingerprint(),
                                         {hp.layers[0], tmp / "hparams" / "corpus.txt", 1000, hp.mom2_dtype}, options);
  CHECK(torch::allclose(resources.inverse_moment.at(hp.layers[0]),
                        torch::inverse(direct.moment()).to(torch::kFloat64)));
  // ROME's "wikipedia" names no file: one error that says what to give, in the caller's words.
  hp.mom2_dataset = "wikipedia";
  options.setting_names = [](std::string_view f) { return f == "stats_file" ? std::string("--stats") : "--stats-corpus"; };
  CHECK_THROWS_WITH(prepare_rome(*loaded.model, *loaded.tokenizer, loaded.fingerprint(), hp, options),
                    Contains("mom2_dataset \"wikipedia\" names no readable file") && Contains("give --stats") &&
                        Contains("or --stats-corpus"));
}

TEST_CASE("ROME's u and v agree with the Python reference", "[rome]") {
  for (auto [dtype, label] : {std::pair{torch::kFloat64, "float64"}, std::pair{torch::kFloat32, "float32"}}) {
    auto loaded = load_model(test::fixture_model_dir(), {dtype, torch::kCPU});
    auto resources = reference_resources(*loaded.model);
    auto hp = reference_hparams();
    for (const auto& c : reference()["cases"]) {
      auto request = request_of(c["request"]);
      auto u = compute_u(*loaded.model, *loaded.tokenizer, request, hp, 0, resources);
      auto v = compute_v(*loaded.model, *loaded.tokenizer, request, hp, 0, u, resources);
      const double cu = cosine(u, reference_tensor(c["u"])), cv = cosine(v.v, reference_tensor(c["v"]));
      WARN(fmt::format("{} case {}: cosine(u) = {:.9f}, cosine(v) = {:.9f}", label, request.case_id, cu, cv));
      REQUIRE(cu >= 0.9999);
      REQUIRE(cv >= 0.9999);
      const auto& losses = v.diagnostics["losses"];
      REQUIRE(losses.size() == c["losses"].size());
      REQUIRE(losses.back()["loss"].get<double>() < losses.front()["loss"].get<double>());  // the v loss falls
    }
  }
}

TEST_CASE("r-ROME's v agrees with the rebuilding-rome transcription; u and the target are ROME's", "[rome]") {
  auto loaded = load_model(test::fixture_model_dir(), {torch::kFloat64, torch::kCPU});
  auto resources = reference_resources(*loaded.model);
  auto hp = reference_hparams();
  auto r_hp = hp;
  r_hp.random_prefix_keys = true;
  for (const auto& c : reference()["cases"]) {
    auto request = request_of(c["request"]);
    auto u = compute_u(*loaded.model, *loaded.tokenizer, request, r_hp, 0, resources);
    auto v = compute_v(*loaded.model, *loaded.tokenizer, request, r_hp, 0, u, resources);
    const double cv = cosine(v.v, reference_tensor(c["v_r_rome"]));
    const double rel = (v.v - reference_tensor(c["v_r_rome"])).norm().item<double>() /
                       reference_tensor(c["v_r_rome"]).norm().item<double>();
    WARN(fmt::format("r-ROME case {}: cosine(v) = {:.12f}, relative error {:.1e}; cosine with ROME's v {:.6f}",
                     request.case_id, cv, rel, cosine(v.v, reference_tensor(c["v"]))));
    CHECK(cv >= 0.9999);
    CHECK(rel < 1e-6);
    CHECK(cosine(u, reference_tensor(c["u"])) >= 0.9999);          // compute_u unchanged
    CHECK(cosine(v.target, reference_tensor(c["target"])) >= 0.9999);  // the same optimisation
  }
  // A file's enable_random_prefix_keys must agree with the method.
  auto j = reference()["hparams"];
  j["enable_random_prefix_keys"] = true;
  REQUIRE_THROWS_WITH(make_editor(EditMethod::rome, j, "h.json", *loaded.model, *loaded.tokenizer, "fp", {}),
                      Contains("enable_random_prefix_keys") && Contains("r-rome"));
  j["bias_update"] = true;
  REQUIRE_THROWS_WITH(RomeHparams::from_json(j, "h.json"), Contains("bias_update") && Contains("not implemented"));
}

TEST_CASE("ROME's v: the suffix and layers-L..N passes equal the full computation", "[rome]") {
  // VPass::full runs the whole network in each v step, as the reference does; from_layer runs
  // layers L..N from the recorded residual stream; suffix (the default) runs layers L..N over each
  // row's positions from min(lookup, first target position) on, with the earlier positions' keys
  // and values cached. With fact_token "last" the loss also reads positions before the lookup.
  // On the toy world's 6-layer model, so that the passes from a middle layer run too. Layers below
  // the last: at the last layer the delta reaches the targets' logits only where the lookup is the
  // last prompt token, so the loss's gradient is the KL term's, zero at delta = 0 up to rounding,
  // which Adam normalises into full-size steps: two passes then follow their own rounding noise
  // (seen on the 2-layer fixture with PyTorch 2.11's CPU kernels: cosine 0.998 between passes).
  auto loaded = load_model(test::source_dir() / "data/toy-world/model", {torch::kFloat64, torch::kCPU});
  auto& model = *loaded.model;
  auto resources = reference_resources(model);
  REQUIRE(resources.v_pass == RomeResources::VPass::suffix);
  auto hp = reference_hparams();
  hp.mom2_adjustment = false;  // u from k* alone: the layers below need no statistics
  for (const char* fact_token : {"subject_last", "last"}) {
    hp.fact_token = fact_token;
    for (int64_t layer : {0, 2, 4}) {
      for (const auto& c : reference()["cases"]) {
        const auto request = request_of(c["request"]);
        const auto u = compute_u(model, *loaded.tokenizer, request, hp, layer, resources);
        std::vector<VResult> v;
        for (auto pass : {RomeResources::VPass::full, RomeResources::VPass::from_layer, RomeResources::VPass::suffix}) {
          resources.v_pass = pass;
          v.push_back(compute_v(model, *loaded.tokenizer, request, hp, layer, u, resources));
        }
        resources.v_pass = RomeResources::VPass::suffix;
        // The suffix pass touches a smaller share of the work than from_layer, which touches less
        // than (or, at layer 0, as much as) the full pass.
        const auto fraction = [&](size_t i) { return v[i].diagnostics["step_work_fraction"].get<double>(); };
        CHECK(fraction(0) == 1.0);
        CHECK(fraction(1) == Approx(double(model.shape().n_layer - layer) / double(model.shape().n_layer)));
        CHECK(fraction(2) < fraction(1));
        for (size_t i = 1; i < v.size(); ++i) {
          const double cv = cosine(v[i].v, v[0].v);
          INFO(fmt::format("{} layer {} case {} pass {}: cosine(v) = {:.12f}", fact_token, layer, request.case_id,
                           v[i].diagnostics["v_pass"].get<std::string>(), cv));
          CHECK(cv >= 0.99999);
          CHECK(torch::allclose(v[i].target, v[0].target, 1e-9, 1e-12));
          const auto& a = v[i].diagnostics["losses"];
          const auto& b = v[0].diagnostics["losses"];
          REQUIRE(a.size() == b.size());
          for (size_t k = 0; k < a.size(); ++k) {
            CHECK(a[k]["loss"].get<double>() == Approx(b[k]["loss"].get<double>()).epsilon(1e-9));
          }
        }
      }
    }
  }
}

TEST_CASE("a ROME edit is rank one, maps k0 to its target, and undoes bit-exactly", "[rome]") {
  auto loaded = load_model(test::fixture_model_dir(), {torch::kFloat32, torch::kCPU});
  auto& model = *loaded.model;
  auto resources = reference_resources(model);
  auto hp = reference_hparams();
  auto request = request_of(reference()["cases"][0]["request"]);
  auto before = model.mlp_out_weight(0).clone();
  auto edit = apply_rome(model, *loaded.tokenizer, request, hp, resources);
  auto diff = (model.mlp_out_weight(0) - before).to(torch::kDouble);
  auto s = torch::linalg_svdvals(diff);
  REQUIRE((s[1] / s[0]).item<double>() < 1e-5);  // rank one up to float32 rounding
  // The layer now outputs the target for k0.
  auto u = edit.rome[0].u;
  auto bare = locate_subject(*loaded.tokenizer, request.prompt, request.subject, hp.fact_token);
  auto now = read_mlp_at(model, {bare.ids}, {bare.index}, 0, loaded.tokenizer->eos_id()).values[0];
  undo(edit);
  REQUIRE(torch::equal(model.mlp_out_weight(0), before));  // bit-exact
  // target from a fresh computation on the unedited model
  auto v0 = compute_v(model, *loaded.tokenizer, request, hp, 0, u, resources);
  const double rel = ((now - v0.target).norm() / v0.target.norm()).item<double>();
  WARN(fmt::format("|layer(k0) - target| / |target| = {:.2g}", rel));
  REQUIRE(rel <= 1e-4);
}

TEST_CASE("FT and FT-L: the loss falls, FT-L respects its clamp, undo is bit-exact", "[ft]") {
  auto loaded = load_model(test::fixture_model_dir(), {torch::kFloat32, torch::kCPU});
  auto& model = *loaded.model;
  std::vector<EditRequest> requests = {request_of(reference()["cases"][0]["request"])};
  auto before = model.mlp_out_weight(1).clone();
  for (std::string objective : {"nll", "rome-compat"}) {
    auto j = ft_hparams(1e-3, false);
    j["objective"] = objective;
    FtHparams hp = FtHparams::from_json(j, "ft");
    auto ft = apply_ft(model, *loaded.tokenizer, requests, hp, EditMethod::ft);
    const auto& losses = ft.diagnostics["losses"];
    INFO(objective);
    REQUIRE(losses.back().get<double>() < losses.front().get<double>());
    REQUIRE_FALSE(torch::equal(model.mlp_out_weight(1), before));
    undo(ft);
    REQUIRE(torch::equal(model.mlp_out_weight(1), before));
  }
  FtHparams constrained = FtHparams::from_json(ft_hparams(1e-3, 2e-4), "ft-l");
  auto ftl = apply_ft(model, *loaded.tokenizer, requests, constrained, EditMethod::ft_l);
  const double max_change = (model.mlp_out_weight(1) - before).abs().max().item<double>();
  auto w = model.mlp_out_weight(1);
  REQUIRE(((w <= before + 2e-4) & (w >= before - 2e-4)).all().item<bool>());  // the L-inf ball, as clamped
  REQUIRE(max_change > 1e-4);                                                 // it did move, up to the clamp
  undo(ftl);
  REQUIRE(torch::equal(model.mlp_out_weight(1), before));
  REQUIRE_THROWS_WITH(apply_ft(model, *loaded.tokenizer, requests, constrained, EditMethod::ft), Contains("FT-L"));
  REQUIRE_THROWS_WITH(apply_ft(model, *loaded.tokenizer, requests, FtHparams{}, EditMethod::ft_l), Contains("norm_constraint"));
}

TEST_CASE("edit inputs: requests, hyperparameters and resources give clear errors", "[edit_inputs]") {
  auto where = std::string("edits.json: record 2");
  auto parse = [&](nlohmann::json j) { return parse_edit_request(j, where); };
  REQUIRE(parse({{"prompt", "{} is in"}, {"subject", "X"}, {"target_new", "Rome"}}).target_new == "Rome");
  auto cf = parse({{"case_id", 7},
                   {"requested_rewrite",
                    {{"prompt", "The mother tongue of {} is"},
                     {"subject", "Danielle Darrieux"},
                     {"target_new", {{"str", "English"}, {"id", "Q1860"}}},
                     {"target_true", {{"str", "French"}}},
                     {"relation_id", "P103"}}}});
  REQUIRE(cf.case_id == "7");
  REQUIRE(cf.sentence() == "The mother tongue of Danielle Darrieux is");
  REQUIRE_THROWS_WITH(
      parse({{"prompt", "The Eiffel Tower is in"}, {"subject", "The Eiffel Tower"}, {"target_new", "Rome"}}),
      Contains("record 2") && Contains("prompt") && Contains("{}"));
  REQUIRE_THROWS_WITH(parse({{"prompt", "{} is in"}, {"subject", "X"}, {"target_new", ""}}), Contains("target_new"));
  REQUIRE_THROWS_WITH(parse({{"prompt", "{} is in"}, {"subject", "X"}}), Contains("target_new"));
  REQUIRE_THROWS_WITH(parse({{"prompt", "{} is in"}, {"subject", 3}, {"target_new", "Rome"}}), Contains("subject"));
  REQUIRE_THROWS_WITH(parse({{"prompt", "Where is{} located"}, {"subject", "X"}, {"target_new", "Rome"}}),
                      Contains("space"));
  REQUIRE_THROWS_WITH(
      parse({{"prompt", "{} is in"}, {"subject", "X"}, {"target_new", "Rome"}, {"target_true", "Rome"}}),
      Contains("equals"));
  REQUIRE_THROWS_WITH(parse({{"case_id", 9}, {"requested_rewrite", "x"}}), Contains("case_id 9"));

  const nlohmann::json rome = reference()["hparams"];
  auto rome_with = [&](const char* key, const nlohmann::json& value) {
    auto j = rome;
    j[key] = value;
    return RomeHparams::from_json(j, "h.json");
  };
  REQUIRE_THROWS_WITH(rome_with("layers", "17"), Contains("h.json") && Contains("layers"));
  REQUIRE_THROWS_WITH(rome_with("v_lr", -1), Contains("v_lr"));
  REQUIRE_THROWS_WITH(rome_with("fact_token", "subject_first"), Contains("fact_token"));
  // Keys ROME's and EasyEdit's files carry for other purposes are accepted; nothing else is.
  REQUIRE_NOTHROW(rome_with("rewrite_module_tmp", "transformer.h.{}.mlp.c_proj"));
  REQUIRE_NOTHROW(rome_with("alg_name", "ROME"));
  REQUIRE_THROWS_WITH(rome_with("v_lrr", 0.5),
                      Contains("h.json") && Contains("unknown key \"v_lrr\"") && Contains("did you mean \"v_lr\"?"));
  auto without = rome;
  without.erase("v_loss_layer");
  REQUIRE_THROWS_WITH(RomeHparams::from_json(without, "h.json"), Contains("missing key \"v_loss_layer\""));
  without = rome;
  without.erase("context_template_length_params");  // optional, as in ROME's original files
  REQUIRE_NOTHROW(RomeHparams::from_json(without, "h.json"));
  auto ft = ft_hparams(1e-3, "small");
  REQUIRE_THROWS_WITH(FtHparams::from_json(ft, "f.json"), Contains("norm_constraint"));
  // The example: a typo used to run an edit with the default layers and say nothing.
  REQUIRE_THROWS_WITH(FtHparams::from_json({{"lyers", {0}}, {"lr", 0.5}}, "f.json"),
                      Contains("missing key \"layers\""));
  ft = ft_hparams(1e-3, false);
  ft["lyers"] = {0};
  REQUIRE_THROWS_WITH(FtHparams::from_json(ft, "f.json"), Contains("unknown key \"lyers\"; did you mean \"layers\"?"));

  auto loaded = load_model(test::fixture_model_dir());
  auto request = request_of(reference()["cases"][0]["request"]);
  RomeHparams out_of_range = reference_hparams();
  out_of_range.layers = {5};
  auto resources = reference_resources(*loaded.model);
  REQUIRE_THROWS_WITH(apply_rome(*loaded.model, *loaded.tokenizer, request, out_of_range, resources),
                      Contains("layer 5"));
  RomeHparams hp = reference_hparams();
  REQUIRE_THROWS_WITH(prepare_rome(*loaded.model, *loaded.tokenizer, loaded.fingerprint(), hp, RomeSetupOptions{}),
                      Contains("statistics") && Contains("stats_corpus") && Contains("mom2_dataset \""));
}

TEST_CASE("hyperparameter files: EasyEdit's YAML reads as the JSON with the same values", "[edit_inputs]") {
  const auto configs = test::source_dir() / "configs/rome";
  const auto yaml = read_hparams_file(configs / "llama-2-7b.yaml");
  const auto hp = RomeHparams::from_json(yaml, "llama-2-7b.yaml");
  CHECK(hp.layers == std::vector<int64_t>{5});
  CHECK(hp.v_num_grad_steps == 25);
  CHECK(hp.v_lr == 0.5);  // "5e-1" unquoted is a number, as EasyEdit means it
  CHECK(hp.v_weight_decay == 1e-3);
  CHECK(hp.v_loss_layer == 31);
  CHECK_FALSE(hp.mom2_adjustment);
  CHECK(hp.context_template_length_params == std::vector<std::pair<int64_t, int64_t>>{{5, 10}, {10, 10}});
  CHECK(yaml["rewrite_module_tmp"] == "model.layers.{}.mlp.down_proj");
  CHECK(yaml["device"] == 0);
  // The published JSON files read too.
  for (const char* f : {"gpt-j-6b.json", "gpt-neox-20b.json", "gpt2-xl.json"}) {
    CHECK_NOTHROW(RomeHparams::from_json(read_hparams_file(configs / f), f));
  }
  test::TempDir tmp;
  std::ofstream(tmp / "quoted.yaml") << "layers: [5]\nv_lr: \"5e-1\"\n";
  CHECK(read_hparams_file(tmp / "quoted.yaml")["v_lr"] == "5e-1");  // quoted: a string
  std::ofstream(tmp / "bad.yaml") << "layers: [5\nv_lr: 1\n";
  REQUIRE_THROWS_WITH(read_hparams_file(tmp / "bad.yaml"), Contains("bad.yaml") && Contains("not valid YAML") &&
                                                                Contains("line"));
  std::ofstream(tmp / "list.yml") << "- 1\n- 2\n";
  REQUIRE_THROWS_WITH(read_hparams_file(tmp / "list.yml"), Contains("not a YAML mapping"));
  REQUIRE_THROWS_WITH(read_hparams_file(tmp / "missing.yaml"), Contains("cannot open"));
  std::ofstream(tmp / "latin1.yaml") << "layers: [5]\nv_lr: \"caf\xe9\"\n";  // found by fuzz_edit_inputs
  REQUIRE_THROWS_WITH(read_hparams_file(tmp / "latin1.yaml"), Contains("not valid UTF-8 at byte offset 22"));
}
