// MEMIT, EMMET and AlphaEdit on the toy world's model against a Python transcription of the reference
// code (scripts/make_memit_reference.py; layers 0 and 1, z at layer 1): with the same statistics and
// context templates, every
// layer's weight delta has cosine >= 0.9999 with the transcription's, for 1 and 10 requests in a
// batch and for AlphaEdit's second batch (which sees the first batch's keys). Also: statistics of
// several layers in one pass, exact undo (AlphaEdit's memory included) and the hparams files.
#include "catch_torch.h"

#include <fstream>

#include "editlab/edit/editor.h"
#include "editlab/edit/memit.h"
#include "editlab/edit/rome_setup.h"
#include "editlab/model/model_dir.h"
#include "editlab/util/error.h"
#include "support.h"

using namespace editlab;
using Catch::Contains;

namespace {

const nlohmann::json& reference() {
  static const nlohmann::json j = [] {
    std::ifstream in(test::source_dir() / "tests/fixtures/toy-world-memit.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

torch::Tensor tensor_of(const nlohmann::json& values) {
  if (values[0].is_array()) {
    std::vector<torch::Tensor> rows;
    for (const auto& r : values) rows.push_back(torch::tensor(r.get<std::vector<double>>(), torch::kDouble));
    return torch::stack(rows);
  }
  return torch::tensor(values.get<std::vector<double>>(), torch::kDouble);
}

std::filesystem::path toy_model_dir() { return test::source_dir() / reference()["model"].get<std::string>(); }

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
  auto x = a.flatten().to(torch::kDouble), y = b.flatten().to(torch::kDouble);
  return (torch::dot(x, y) / (x.norm() * y.norm())).item<double>();
}

MemitResources reference_resources(LanguageModel& model, const Tokenizer& tok, EditMethod method,
                                   const MemitHparams& hp) {
  MemitResources r;
  r.context_templates = reference()["context_templates"].get<std::vector<std::string>>();
  const auto corpus = reference()["corpus"].get<std::vector<std::string>>();
  auto stats = compute_second_moments(model, tok, corpus, hp.layers, torch::kFloat64);
  for (size_t i = 0; i < hp.layers.size(); ++i) {
    auto c = stats[i].moment();
    if (method == EditMethod::alphaedit) {
      r.projection[hp.layers[i]] = null_space_projection(c, hp.nullspace_threshold);
    } else {
      r.moment[hp.layers[i]] = c;
    }
  }
  return r;
}

}  // namespace

TEST_CASE("statistics of several layers in one pass equal each layer's own", "[memit]") {
  auto loaded = load_model(toy_model_dir(), {torch::kFloat32, torch::kCPU});
  const auto corpus = reference()["corpus"].get<std::vector<std::string>>();
  auto both = compute_second_moments(*loaded.model, *loaded.tokenizer, corpus, {3, 0}, torch::kFloat64, 512);
  REQUIRE(both.size() == 2);
  for (auto [i, layer] : {std::pair{0, 3}, std::pair{1, 0}}) {
    auto one = compute_second_moment(*loaded.model, *loaded.tokenizer, corpus, layer, torch::kFloat64, 512);
    CHECK(both[i].count == one.count);
    CHECK(torch::allclose(both[i].mom2, one.mom2, 1e-12, 1e-12));
  }
}

TEST_CASE("MEMIT, EMMET and AlphaEdit deltas agree with the Python transcription", "[memit]") {
  auto loaded = load_model(toy_model_dir(), {torch::kFloat64, torch::kCPU});
  auto& model = *loaded.model;
  std::vector<EditRequest> all;
  for (const auto& r : reference()["requests"]) all.push_back(parse_edit_request(r, "reference request"));
  for (const auto& c : reference()["cases"]) {
    const auto name = c["method"].get<std::string>();
    const auto method = *parse_edit_method(name);
    auto hp = MemitHparams::from_json(c["hparams"], "reference " + name, name);
    auto resources = reference_resources(model, *loaded.tokenizer, method, hp);
    auto memory = std::make_shared<AlphaEditMemory>();
    std::vector<EditResult> edits;
    for (const auto& b : c["batches"]) {
      std::vector<EditRequest> batch;
      for (auto i : b["requests"]) batch.push_back(all.at(i.get<size_t>()));
      edits.push_back(apply_memit(model, *loaded.tokenizer, batch, hp, method, resources, memory));
      const auto& edit = edits.back();
      REQUIRE(edit.changes.size() == hp.layers.size());
      for (size_t l = 0; l < hp.layers.size(); ++l) {
        auto delta = edit.changes[l].weight - edit.changes[l].original;
        auto expected = torch::matmul(tensor_of(b["left"][l]), tensor_of(b["resid"][l]).t());
        const double cos = cosine(delta, expected);
        const double rel = (delta - expected).norm().item<double>() / expected.norm().item<double>();
        WARN(fmt::format("{} batch of {} (batch {}), layer {}: cosine {:.12f}, relative error {:.1e}", name,
                         batch.size(), edits.size(), hp.layers[l], cos, rel));
        CHECK(cos >= 0.9999);
        CHECK(rel < 1e-4);
      }
    }
    // Undo in reverse restores every weight bit for bit and empties AlphaEdit's memory.
    for (auto it = edits.rbegin(); it != edits.rend(); ++it) undo(*it);
    for (const auto& ch : edits.front().changes) CHECK(torch::equal(ch.weight, ch.original));
    for (const auto& [layer, keys] : memory->keys) CHECK(keys.empty());
  }
}

TEST_CASE("MEMIT through make_editor: statistics for every layer, templates, an edit that takes", "[memit]") {
  auto loaded = load_model(toy_model_dir(), {torch::kFloat32, torch::kCPU});
  test::TempDir tmp;
  const auto dir = tmp.path();
  {
    std::ofstream corpus(dir / "corpus.txt");
    for (const auto& t : reference()["corpus"]) corpus << t.get<std::string>() << "\n\n";
  }
  auto j = reference()["cases"][1]["hparams"];
  j["mom2_dataset"] = "corpus.txt";
  RomeSetupOptions options;
  options.cache_dir = dir / "cache";
  options.hparams_dir = dir;
  auto editor = make_editor(EditMethod::memit, j, "memit.json", *loaded.model, *loaded.tokenizer,
                            loaded.fingerprint(), options);
  REQUIRE(editor->method() == EditMethod::memit);
  const auto* templates = editor->context_templates();
  REQUIRE(templates != nullptr);
  REQUIRE(templates->size() == 6);  // "{}" and one sample from each of MEMIT's five words
  CHECK(templates->front() == "{}");
  for (size_t i = 1; i < templates->size(); ++i) CHECK(templates->at(i).ends_with(". {}"));
  CHECK(std::filesystem::exists(dir / "cache" / "stats"));
  auto request = parse_edit_request(reference()["requests"][0], "request");
  auto edits = editor->apply({request});
  REQUIRE(edits.size() == 1);
  REQUIRE(edits[0].changes.size() == 2);
  CHECK(edits[0].diagnostics["layers"].size() == 2);
  CHECK(edits[0].diagnostics["z"][0]["steps"].get<int64_t>() >= 1);
  undo(edits[0]);
  // A second editor reads both layers' statistics from the cache.
  std::vector<std::string> log;
  options.log = [&](const std::string& line) { log.push_back(line); };
  make_editor(EditMethod::emmet,
              [&] {
                auto e = reference()["cases"][3]["hparams"];
                e["mom2_dataset"] = "corpus.txt";
                return e;
              }(),
              "emmet.json", *loaded.model, *loaded.tokenizer, loaded.fingerprint(), options);
  int hits = 0;
  for (const auto& line : log) hits += line.find("cache hit") != std::string::npos;
  CHECK(hits == 2);
}

TEST_CASE("MEMIT-family hyperparameter files are read as strictly as their dataclasses", "[memit]") {
  auto base = reference()["cases"][0]["hparams"];
  CHECK_NOTHROW(MemitHparams::from_json(base, "m.json", "memit"));
  auto missing = base;
  missing.erase("mom2_update_weight");
  CHECK_THROWS_WITH(MemitHparams::from_json(missing, "m.json", "memit"), Contains("missing key \"mom2_update_weight\""));
  CHECK_THROWS_WITH(MemitHparams::from_json(base, "e.json", "emmet"), Contains("missing key \"update_norm_lambda\""));
  CHECK_THROWS_WITH(MemitHparams::from_json(base, "a.json", "alphaedit"), Contains("missing key \"nullspace_threshold\""));
  auto descending = base;
  descending["layers"] = {1, 0};
  CHECK_THROWS_WITH(MemitHparams::from_json(descending, "m.json", "memit"), Contains("ascending"));
  auto typo = base;
  typo["mom2_update_weigth"] = 1;
  CHECK_THROWS_WITH(MemitHparams::from_json(typo, "m.json", "memit"), Contains("did you mean \"mom2_update_weight\""));
  auto random = base;
  random["layer_selection"] = "random";
  CHECK_THROWS_WITH(MemitHparams::from_json(random, "m.json", "memit"), Contains("layer_selection"));
  // The published files, as they are.
  for (const char* file : {"configs/memit/gpt2-xl.json", "configs/memit/gpt-j-6b.json",
                           "configs/emmet/gpt2-xl.json", "configs/alphaedit/llama3-8b.json",
                           "configs/memit/llama-2-7b.yaml", "configs/emmet/gpt-j-6b.json",
                           "configs/alphaedit/gpt2-xl.json", "configs/alphaedit/gpt-j-6b.json"}) {
    const std::string name = std::string(file).substr(8, std::string(file).find('/', 8) - 8);
    CHECK_NOTHROW(MemitHparams::from_json(read_hparams_file(test::source_dir() / file), file, name));
  }
}

TEST_CASE("MEMIT and AlphaEdit on every family: the block output reaches z, undo is exact", "[memit]") {
  for (const char* name : {"gptj", "neox-parallel", "llama", "mistral", "qwen2"}) {
    DYNAMIC_SECTION(name) {
      const auto dir = test::source_dir() / "tests/fixtures/families" / name;
      std::ifstream in(dir / "rome_reference.json");
      const auto ref = nlohmann::json::parse(in);
      auto loaded = load_model(dir, {torch::kFloat64, torch::kCPU});
      auto& model = *loaded.model;
      auto& tok = *loaded.tokenizer;
      const auto request = parse_edit_request(ref["cases"][0]["request"], "request");
      auto j = reference()["cases"][0]["hparams"];
      j["layers"] = {0};  // the fixtures have 2 layers: z below the last one
      j["mom2_update_weight"] = 1e-4;  // small against these random models' keys: the update closes the gap
      auto hp = MemitHparams::from_json(j, "memit", "memit");
      hp.L2 = 1e-4;
      MemitResources resources;
      // The bare prompt only: on random weights a prefixed template's key is far from the bare one,
      // and MEMIT writes their average (the toy-world test above runs the full templates).
      resources.context_templates = {"{}"};
      const auto corpus = ref["corpus"].get<std::vector<std::string>>();
      auto stats = compute_second_moments(model, tok, corpus, {0}, torch::kFloat64);
      resources.moment[0] = stats[0].moment();
      resources.projection[0] = null_space_projection(stats[0].moment(), 1e30);  // every direction
      const auto z = optimize_target(model, tok, request, hp, 0, Site::kBlock, resources.context_templates).target;
      const auto h_before = memit_keys_and_outputs(model, tok, {request}, hp, resources.context_templates, 0, 0).second;
      for (auto method : {EditMethod::memit, EditMethod::alphaedit}) {
        auto edit = apply_memit(model, tok, {request}, hp, method, resources, std::make_shared<AlphaEditMemory>());
        REQUIRE(edit.changes.size() == 1);
        const auto h_after = memit_keys_and_outputs(model, tok, {request}, hp, resources.context_templates, 0, 0).second;
        const double gap_before = (h_before.squeeze(1) - z.to(torch::kDouble)).norm().item<double>();
        const double gap_after = (h_after.squeeze(1) - z.to(torch::kDouble)).norm().item<double>();
        INFO(fmt::format("{} {}: |h - z| {:.4g} -> {:.4g}", name, method_name(method), gap_before, gap_after));
        CHECK(gap_after < 0.01 * gap_before);
        undo(edit);
        const auto h_undone = memit_keys_and_outputs(model, tok, {request}, hp, resources.context_templates, 0, 0).second;
        CHECK(torch::equal(h_undone, h_before));
      }
    }
  }
}
