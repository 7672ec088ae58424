// ROME on every family against a transcription of kmeng01/rome's compute_u / compute_v run on the
// Hugging Face model itself (scripts/reference/make_family_rome_reference.py, transformers 4.47.1,
// eager, float64): tests/fixtures/families/<name>/rome_reference.json holds u and v for the
// reference's requests, templates and hparams; the second-moment statistics are recomputed here
// from the same corpus in float64 and checked against the reference's count, trace and diagonal.
// Issue 24: u and v cosine >= 0.9999 in float64.
#include "catch_torch.h"

#include <fstream>

#include "editlab/edit/layer_stats.h"
#include "editlab/edit/request.h"
#include "editlab/edit/rome.h"
#include "editlab/model/model_dir.h"
#include "support.h"

using namespace editlab;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kFixtures = {"gptj",        "neox-parallel", "neox-sequential", "llama",   "llama-head-dim",
                                            "llama3-rope", "llama-dynamic", "mistral",         "qwen2"};

torch::Tensor vec(const nlohmann::json& values) {
  return torch::tensor(values.get<std::vector<double>>(), torch::kDouble);
}

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
  auto x = a.to(torch::kDouble), y = b.to(torch::kDouble);
  return (torch::dot(x, y) / (x.norm() * y.norm())).item<double>();
}

}  // namespace

TEST_CASE("ROME's u and v on every family equal compute_u / compute_v run on the HF model", "[families]") {
  int64_t checked = 0;
  for (const auto& name : kFixtures) {
    const auto dir = test::source_dir() / "tests/fixtures/families" / name;
    if (!fs::exists(dir / "rome_reference.json")) continue;
    DYNAMIC_SECTION(name) {
      nlohmann::json ref;
      {
        std::ifstream in(dir / "rome_reference.json");
        ref = nlohmann::json::parse(in);
      }
      auto loaded = load_model(dir, {torch::kFloat64, torch::kCPU});
      auto& model = *loaded.model;
      const int64_t layer = ref["layer"].get<int64_t>();
      auto hp = RomeHparams::from_json(ref["hparams"], name + " reference hparams");

      // The statistics: editlab's float64 computation from the reference's corpus.
      const auto corpus = ref["corpus"].get<std::vector<std::string>>();
      auto stats = compute_second_moment(model, *loaded.tokenizer, corpus, layer, torch::kFloat64);
      REQUIRE(stats.count == ref["mom2_count"].get<int64_t>());
      const auto diag = vec(ref["mom2_diag"]);
      const double diag_rel = ((stats.mom2.diagonal() - diag).abs().max() / diag.abs().max()).item<double>();
      const double trace_rel = std::abs(stats.mom2.trace().item<double>() / ref["mom2_trace"].get<double>() - 1.0);
      WARN(fmt::format("{}: statistics vs HF: diagonal max rel diff {:.2g}, trace rel diff {:.2g}", name, diag_rel,
                       trace_rel));
      REQUIRE(diag_rel < 1e-5);
      REQUIRE(trace_rel < 1e-5);

      RomeResources resources;
      resources.context_templates = ref["context_templates"].get<std::vector<std::string>>();
      resources.inverse_moment[layer] = torch::inverse(stats.moment());
      for (const auto& c : ref["cases"]) {
        const auto request = parse_edit_request(c["request"], name + " reference request");
        const auto u = compute_u(model, *loaded.tokenizer, request, hp, layer, resources);
        const auto v = compute_v(model, *loaded.tokenizer, request, hp, layer, u, resources);
        const double cu = cosine(u, vec(c["u"])), cv = cosine(v.v, vec(c["v"]));
        WARN(fmt::format("{} case {}: cosine(u) = {:.12f} (1 - cos {:.1e}), cosine(v) = {:.12f} (1 - cos {:.1e})", name,
                         request.case_id, cu, 1.0 - cu, cv, 1.0 - cv));
        CHECK(v.diagnostics["losses"].size() == c["losses"].size());
        REQUIRE(cu >= 0.9999);
        REQUIRE(cv >= 0.9999);
        ++checked;
      }
    }
  }
  REQUIRE(checked > 0);
}
