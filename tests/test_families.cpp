// GPT-J, GPT-NeoX, Llama, Mistral and Qwen2 against Hugging Face transformers 4.47.1 (eager), on
// the fixtures of tests/fixtures/families (scripts/reference/make_family_fixtures.py): logits of
// single and padded sequences, hidden states, MLP keys/values, rotary frequencies, greedy and
// beam generation; config errors; the CLI on each family.
#include "catch_torch.h"

#include <fstream>
#include <map>
#include <iostream>

#include "../src/model/decoder.h"
#include "editlab/edit/hparams.h"
#include "editlab/model/bench.h"
#include "editlab/model/generate.h"
#include "editlab/model/model_config.h"
#include "editlab/model/model_dir.h"
#include "editlab/model/safetensors_torch.h"
#include "editlab/util/error.h"
#include "support.h"

using namespace editlab;
namespace fs = std::filesystem;
using Catch::Contains;

namespace {

const std::vector<std::string> kFixtures = {"gptj",        "neox-parallel", "neox-sequential", "llama",   "llama-head-dim",
                                            "llama3-rope", "llama-dynamic", "mistral",         "qwen2"};
constexpr double kTolerance = 1e-4;

fs::path fixture_dir(const std::string& name) { return test::source_dir() / "tests/fixtures/families" / name; }

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// expected.safetensors: float tensors as float32, int64 tensors as int64 (copies).
class Expected {
 public:
  explicit Expected(const fs::path& path) : file_(SafetensorsFile::open(path)) {}
  bool has(const std::string& name) const { return file_->find(name) != nullptr; }
  torch::Tensor get(const std::string& name) const {
    const TensorView* view = file_->find(name);
    if (view == nullptr) FAIL("expected.safetensors lacks " << name);
    if (view->dtype == DType::I64) {
      return torch::from_blob(view->data, view->shape, torch::kLong).clone();
    }
    return to_tensor(file_, *view, torch::kFloat32).clone();
  }

 private:
  std::shared_ptr<SafetensorsFile> file_;
};

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

ForwardResult run(LanguageModel& model, const torch::Tensor& ids, const torch::Tensor& mask = {}) {
  torch::NoGradGuard no_grad;
  ForwardRequest request;
  request.input_ids = ids;
  request.attention_mask = mask;
  return model.forward(request);
}

// Greedy decoding of a left-padded batch with the KV cache, as HF's generate runs it.
std::vector<std::vector<int64_t>> batched_greedy(LanguageModel& model, torch::Tensor ids, torch::Tensor mask,
                                                 int64_t new_tokens) {
  torch::NoGradGuard no_grad;
  KVCache cache;
  const int64_t B = ids.size(0);
  std::vector<std::vector<int64_t>> out(B);
  for (int64_t b = 0; b < B; ++b) {
    auto row = ids[b];
    out[b].assign(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
  }
  auto step_ids = ids;
  for (int64_t s = 0; s < new_tokens; ++s) {
    ForwardRequest request;
    request.input_ids = step_ids;
    request.attention_mask = mask;
    request.cache = &cache;
    auto logits = model.forward(request).logits.select(1, step_ids.size(1) - 1);  // [B, V]
    auto next = logits.argmax(-1);                                                // [B]
    for (int64_t b = 0; b < B; ++b) out[b].push_back(next[b].item<int64_t>());
    step_ids = next.unsqueeze(1);
    mask = torch::cat({mask, torch::ones({B, 1}, mask.options())}, 1);
  }
  return out;
}

struct Parity {
  double logits = 0, padded = 0, hidden = 0, mlp = 0;
  bool greedy = true, beam = true, batch = true;
};

Parity check_fixture(const std::string& name) {
  INFO("fixture " << name);
  const auto dir = fixture_dir(name);
  const auto meta = read_json(dir / "expected.json");
  const Expected expected(dir / "expected.safetensors");
  auto loaded = load_model(dir);
  auto& model = *loaded.model;
  Parity p;

  // rotary frequencies
  auto* decoder = dynamic_cast<editlab::detail::DecoderModel*>(&model);
  REQUIRE(decoder != nullptr);
  {
    editlab::detail::Rotary rotary(loaded.config.rope);
    CHECK(max_diff(rotary.inv_freq(1), expected.get("rope_inv_freq")) <= 1e-7);
    if (expected.has("rope_inv_freq_seq40")) {
      auto inv40 = rotary.inv_freq(40);
      CHECK(max_diff(inv40, expected.get("rope_inv_freq_seq40")) <= 1e-7);
      CHECK(max_diff(inv40, expected.get("rope_inv_freq")) > 1e-6);  // it did change
    }
  }

  // single sequences, positions 0..T-1
  for (int i = 0; i < 3; ++i) {
    auto ids = expected.get(fmt::format("ids_single_{}", i)).unsqueeze(0);
    auto positions = expected.get(fmt::format("logit_positions_single_{}", i));
    auto logits = run(model, ids).logits[0].index_select(0, positions);
    p.logits = std::max(p.logits, max_diff(logits, expected.get(fmt::format("logits_single_{}", i))));
  }
  // padded batches at the stored real positions
  for (std::string side : {"right", "left"}) {
    const auto pre = side + "_padded_";
    torch::NoGradGuard no_grad;
    ForwardRequest request;
    request.input_ids = expected.get(pre + "input_ids");
    request.attention_mask = expected.get(pre + "attention_mask");
    request.logit_batch = expected.get(pre + "logit_batch");
    request.logit_position = expected.get(pre + "logit_position");
    auto logits = model.forward(request).logits;
    p.padded = std::max(p.padded, max_diff(logits, expected.get(pre + "logits")));
    // our own positions equal HF's at real tokens
    auto mask = request.attention_mask.to(torch::kBool);
    auto ours = positions_from_mask(request.attention_mask).masked_select(mask);
    CHECK(torch::equal(ours, expected.get(pre + "position_ids").masked_select(mask)));
  }
  CHECK(p.logits <= kTolerance);
  CHECK(p.padded <= kTolerance);

  // hidden states and MLP keys/values of the 7-token sequence
  {
    const int64_t L = loaded.config.n_layer;
    torch::NoGradGuard no_grad;
    ForwardRequest request;
    request.input_ids = expected.get("ids_single_1").unsqueeze(0);
    request.capture_sites = true;
    for (int64_t l = 0; l < L; ++l) {
      MlpIntervention iv;
      iv.layer = l;
      iv.capture_key = iv.capture_value = true;
      request.interventions.push_back(iv);
    }
    auto result = model.forward(request);
    for (int64_t l = 0; l < L; ++l) {
      p.hidden = std::max(p.hidden, max_diff(result.sites.block_in[l][0], expected.get(fmt::format("hidden_{}", l))));
      p.mlp = std::max(p.mlp, max_diff(result.captures[l].key[0], expected.get(fmt::format("mlp_in_{}", l))));
      p.mlp = std::max(p.mlp, max_diff(result.captures[l].value[0], expected.get(fmt::format("mlp_out_{}", l))));
    }
    p.hidden = std::max(p.hidden, max_diff(result.hidden[0], expected.get("last_layer_out")));
    CHECK(p.hidden <= kTolerance);
    CHECK(p.mlp <= kTolerance);
  }

  // generation
  const auto& gen = meta["generate"];
  for (const auto& g : gen["greedy"]) {
    GenerateOptions options;
    options.max_new_tokens = g["max_new_tokens"].get<int64_t>();
    options.eos_token_id = -1;
    const auto prompt = g["prompt"].get<std::vector<int64_t>>();
    auto result = generate(model, prompt, options);
    const bool same = result.ids == g["ids"].get<std::vector<int64_t>>();
    CHECK(same);
    p.greedy = p.greedy && same;
  }
  for (const auto& g : gen["beam"]) {
    GenerateOptions options;
    options.max_new_tokens = g["max_new_tokens"].get<int64_t>();
    options.num_beams = g["num_beams"].get<int64_t>();
    options.length_penalty = g["length_penalty"].get<double>();
    options.eos_token_id = -1;
    const auto prompt = g["prompt"].get<std::vector<int64_t>>();
    auto result = generate(model, prompt, options);
    const bool same = result.ids == g["ids"].get<std::vector<int64_t>>();
    CHECK(same);
    p.beam = p.beam && same;
  }
  {
    const auto& g = gen["greedy_left_padded_batch"];
    std::vector<torch::Tensor> rows, masks;
    for (const auto& r : g["input_ids"]) rows.push_back(torch::tensor(r.get<std::vector<int64_t>>(), torch::kLong));
    for (const auto& r : g["attention_mask"]) masks.push_back(torch::tensor(r.get<std::vector<int64_t>>(), torch::kLong));
    auto out = batched_greedy(model, torch::stack(rows), torch::stack(masks), g["max_new_tokens"].get<int64_t>());
    p.batch = out == g["ids"].get<std::vector<std::vector<int64_t>>>();
    CHECK(p.batch);
  }

  // the rank-one edit target aliases the parameter
  {
    torch::NoGradGuard no_grad;
    auto w = model.mlp_out_weight(0);
    CHECK(w.sizes() == std::vector<int64_t>{loaded.config.d_mlp(), loaded.config.n_embd});
    auto ids = expected.get("ids_single_1").unsqueeze(0);
    auto before = run(model, ids).logits;
    const auto saved = w.clone();
    w.add_(torch::linspace(-0.1, 0.1, w.numel()).view(w.sizes()).to(w.dtype()));
    CHECK(max_diff(run(model, ids).logits, before) > 1e-4);
    w.copy_(saved);
    CHECK(max_diff(run(model, ids).logits, before) == 0);
    bool found = false;
    for (auto& [n, t] : model.parameters_by_name()) {
      if (n == model.mlp_out_weight_name(0)) found = t.data_ptr() == w.data_ptr();
    }
    CHECK(found);
    auto rm = meta["modules"]["rewrite_module"].get<std::string>();
    CHECK(loaded.rewrite_module_template == rm);
    CHECK(model.mlp_out_weight_name(1) == fmt::format(fmt::runtime(rm), 1) + ".weight");
  }
  return p;
}

}  // namespace

TEST_CASE("every family fixture matches Hugging Face transformers", "[families]") {
  std::vector<std::pair<std::string, Parity>> table;
  for (const auto& name : kFixtures) {
    DYNAMIC_SECTION(name) { table.emplace_back(name, check_fixture(name)); }
  }
  for (const auto& [name, p] : table) {
    std::cout << fmt::format("parity {:16} logits {:.2e} padded {:.2e} hidden {:.2e} mlp {:.2e} greedy {} beam {} "
                             "batch {}\n",
                             name, p.logits, p.padded, p.hidden, p.mlp, p.greedy, p.beam, p.batch);
  }
}

TEST_CASE("a BF16 checkpoint loads and computes in float32", "[families]") {
  const auto dir = fixture_dir("llama-bf16");
  const Expected expected(dir / "expected.safetensors");
  auto loaded = load_model(dir);
  auto logits = run(*loaded.model, expected.get("ids_single_1").unsqueeze(0)).logits[0];
  CHECK(loaded.model->dtype() == torch::kFloat32);
  const double diff = max_diff(logits, expected.get("logits_single_1"));
  std::cout << fmt::format("parity llama-bf16       logits {:.2e}\n", diff);
  CHECK(diff <= kTolerance);
}

TEST_CASE("family checkpoints: shards and float64 compute", "[families]") {
  const auto src = fixture_dir("mistral");
  const Expected expected(src / "expected.safetensors");
  auto ids = expected.get("ids_single_2").unsqueeze(0);
  auto positions = expected.get("logit_positions_single_2");
  auto want = expected.get("logits_single_2");
  SECTION("two shards with model.safetensors.index.json") {
    test::TempDir tmp;
    fs::create_directories(tmp / "m");
    for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json"}) {
      fs::copy_file(src / f, tmp / "m" / f);
    }
    auto whole = load_model(src);
    std::vector<std::pair<std::string, torch::Tensor>> a, b;
    nlohmann::json map = nlohmann::json::object();
    int i = 0;
    for (auto& [name, t] : whole.model->parameters_by_name()) {
      const bool first = i++ % 2 == 0;
      (first ? a : b).emplace_back(name, t.to(torch::kFloat16));  // F16 storage too
      map[name] = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
    }
    save_tensors(tmp / "m" / "model-00001-of-00002.safetensors", a);
    save_tensors(tmp / "m" / "model-00002-of-00002.safetensors", b);
    std::ofstream(tmp / "m" / "model.safetensors.index.json") << nlohmann::json{{"weight_map", map}}.dump();
    auto sharded = load_model(tmp / "m");
    CHECK(sharded.checkpoint.files().size() == 2);
    auto logits = run(*sharded.model, ids).logits[0].index_select(0, positions);
    CHECK(max_diff(logits, want) < 0.5);  // F16 rounding of the weights
    CHECK(max_diff(logits, want) > 0);
  }
  SECTION("float64 compute agrees with HF's float32") {
    auto loaded = load_model(src, {torch::kFloat64, torch::kCPU});
    CHECK(loaded.model->dtype() == torch::kFloat64);
    auto logits = run(*loaded.model, ids).logits[0].index_select(0, positions);
    CHECK(max_diff(logits, want) <= kTolerance);
  }
}

TEST_CASE("a family directory needs a tokenizer; GPT-2-only features say so", "[families]") {
  test::TempDir tmp;
  fs::create_directories(tmp / "m");
  for (const char* f : {"config.json", "model.safetensors"}) {
    fs::copy_file(fixture_dir("qwen2") / f, tmp / "m" / f);
  }
  REQUIRE_THROWS_WITH(load_model(tmp / "m"), Contains("tokenizer.json") && Contains("vocab.json"));
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    fs::copy_file(fixture_dir("qwen2") / f, tmp / "m" / f);
  }
  auto loaded = load_model(tmp / "m");
  CHECK(loaded.gpt2 == nullptr);
  CHECK(loaded.config.family_name() == "Qwen2");
  REQUIRE_THROWS_WITH(require_gpt2(loaded, "train"), Contains("GPT-2") && Contains("Qwen2"));
  CHECK(loaded.model->has_module("model.layers.1.mlp"));
  CHECK(loaded.model->has_module("lm_head"));  // tied, still a module
  CHECK_FALSE(loaded.model->has_module("model.layers.3.mlp"));
  CHECK_FALSE(loaded.model->has_module("transformer.h.0.mlp"));
}

TEST_CASE("family config.json: spellings, defaults and clear errors", "[families]") {
  using nlohmann::json;
  SECTION("unknown model_type names the supported ones") {
    REQUIRE_THROWS_WITH(ModelConfig::from_json({{"model_type", "falcon"}}, "c.json"),
                        Contains("falcon") && Contains("gptj") && Contains("gpt_neox") && Contains("llama") &&
                            Contains("mistral") && Contains("qwen2"));
  }
  SECTION("yarn and longrope are named and refused") {
    json j = {{"model_type", "llama"}, {"rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}}}};
    REQUIRE_THROWS_WITH(ModelConfig::from_json(j, "c.json"),
                        Contains("yarn") && Contains("linear") && Contains("dynamic") && Contains("llama3"));
    j["rope_scaling"] = {{"type", "longrope"}, {"factor", 4.0}};
    REQUIRE_THROWS_WITH(ModelConfig::from_json(j, "c.json"), Contains("longrope"));
  }
  SECTION("NeoX: rotary_pct / rotary_emb_base or rope_parameters") {
    json a = {{"model_type", "gpt_neox"}, {"hidden_size", 64}, {"num_attention_heads", 4},
              {"rotary_pct", 0.5},        {"rotary_emb_base", 500}};
    json b = {{"model_type", "gpt_neox"},
              {"hidden_size", 64},
              {"num_attention_heads", 4},
              {"rope_parameters", {{"rope_theta", 500}, {"partial_rotary_factor", 0.5}, {"rope_type", "default"}}}};
    for (const auto& j : {a, b}) {
      auto c = ModelConfig::from_json(j, "c.json");
      CHECK(c.rope.rotary_dim == 8);
      CHECK(c.rope.theta == 500);
      CHECK(c.use_parallel_residual);
    }
  }
  SECTION("Llama defaults: kv heads and head_dim, tie") {
    auto c = ModelConfig::from_json({{"model_type", "llama"}, {"hidden_size", 64}, {"num_attention_heads", 4}}, "c");
    CHECK(c.n_kv_head == 4);
    CHECK(c.head_dim == 16);
    CHECK_FALSE(c.tie_word_embeddings);
    CHECK(c.eos_token_id == 2);
    auto l3 = ModelConfig::from_json({{"model_type", "llama"}, {"eos_token_id", {128001, 128009}}}, "c");
    CHECK(l3.eos_token_id == 128001);
    auto rp = ModelConfig::from_json({{"model_type", "llama"},
                                      {"rope_parameters",
                                       {{"rope_type", "llama3"},
                                        {"rope_theta", 500000.0},
                                        {"factor", 8.0},
                                        {"low_freq_factor", 1.0},
                                        {"high_freq_factor", 4.0},
                                        {"original_max_position_embeddings", 8192}}}},
                                     "c");
    CHECK(rp.rope.type == "llama3");
    CHECK(rp.rope.theta == 500000.0);
    REQUIRE_THROWS_WITH(ModelConfig::from_json({{"model_type", "llama"}, {"rope_scaling", {{"rope_type", "llama3"}}}},
                                               "c.json"),
                        Contains("factor"));
  }
  SECTION("Qwen2's window only with use_sliding_window; Mistral's null window") {
    auto q = ModelConfig::from_json({{"model_type", "qwen2"}, {"sliding_window", 16}}, "c");
    CHECK_FALSE(q.sliding_window.has_value());
    auto m = ModelConfig::from_json({{"model_type", "mistral"}, {"sliding_window", nullptr}}, "c");
    CHECK_FALSE(m.sliding_window.has_value());
  }
  SECTION("GQA must divide") {
    REQUIRE_THROWS_WITH(ModelConfig::from_json({{"model_type", "llama"}, {"num_attention_heads", 6},
                                                {"num_key_value_heads", 4}, {"hidden_size", 48}},
                                               "c.json"),
                        Contains("num_key_value_heads"));
  }
  SECTION("GPT-2 unchanged") {
    auto c = ModelConfig::from_json({{"model_type", "gpt2"}, {"n_embd", 64}, {"n_head", 4}}, "c");
    REQUIRE(c.gpt2.has_value());
    CHECK(c.n_embd == 64);
  }
}

TEST_CASE("the CLI runs on every family fixture", "[families]") {
  for (const auto& name : kFixtures) {
    const auto dir = fixture_dir(name);
    if (!fs::exists(dir / "tokenizer.json")) continue;  // tokenizer not copied in yet
    DYNAMIC_SECTION(name) {
      auto info = test::run_cli("info --no-blas-check --json --model " + test::shell_quote(dir.string()));
      INFO(info.err);
      REQUIRE(info.exit_code == 0);
      auto j = nlohmann::json::parse(info.out);
      CHECK(j["config"]["model_type"] == read_json(dir / "config.json")["model_type"]);
      auto score = test::run_cli("score --json --model " + test::shell_quote(dir.string()) +
                                 " --prefix 'The capital of France is' --target 'Paris'");
      INFO(score.err);
      REQUIRE(score.exit_code == 0);
      // A prefix starts with BOS where the tokenizer adds one (Llama 2, Llama 3, Mistral), the
      // target is tokenized as it follows the prefix: "▁Paris", not "▁", "▁Paris".
      const auto tok = Tokenizer::from_dir(dir);
      const auto sj = nlohmann::json::parse(score.out);
      CHECK(sj["prefix_ids"].get<std::vector<int64_t>>() == tok.encode("The capital of France is", true));
      CHECK(sj["target_ids"].get<std::vector<int64_t>>() == tok.encode_continuation(" Paris"));
      auto gen = test::run_cli("generate --model " + test::shell_quote(dir.string()) +
                               " --prompt 'Hello world' --max-new-tokens 4");
      INFO(gen.err);
      CHECK(gen.exit_code == 0);

      // stats, ROME (the reference repositories' module names for this family), trace
      test::TempDir tmp;
      const auto ref = read_json(test::source_dir() / "tests/fixtures/tiny-gpt2-rome.json");
      {
        std::ofstream corpus(tmp / "corpus.txt");
        for (const auto& t : ref["corpus"]) corpus << t.get<std::string>() << "\n\n";
      }
      const auto modules = read_json(dir / "expected.json")["modules"];
      // the published hparams file of this family names the same modules
      const auto model_type = read_json(dir / "config.json")["model_type"].get<std::string>();
      const std::map<std::string, std::string> published = {
          {"gptj", "gpt-j-6b.json"}, {"gpt_neox", "gpt-neox-20b.json"}, {"llama", "llama-2-7b.yaml"},
          {"mistral", "llama-2-7b.yaml"}, {"qwen2", "llama-2-7b.yaml"}};
      const auto hp_file = read_hparams_file(test::source_dir() / "configs/rome" / published.at(model_type));
      CHECK(hp_file["rewrite_module_tmp"] == modules["rewrite_module"]);
      CHECK(hp_file["ln_f_module"] == modules["final_norm"]);
      auto tokenize = test::run_cli("tokenize --json --model " + test::shell_quote(dir.string()) +
                                    " --text 'The Eiffel Tower is in Paris' --special");
      INFO(tokenize.err);
      CHECK(tokenize.exit_code == 0);
      auto hparams = ref["hparams"];
      hparams["rewrite_module_tmp"] = modules["rewrite_module"];
      hparams["layer_module_tmp"] = modules["layers"];
      hparams["mlp_module_tmp"] = modules["mlp"];
      hparams["ln_f_module"] = modules["final_norm"];
      hparams["lm_head_module"] = modules["lm_head"];
      std::ofstream(tmp / "rome.json") << hparams.dump();
      // context templates with a prefix: the subject lookup counts BOS and works on SentencePiece
      std::ofstream(tmp / "templates.json") << R"(["{}", "The city was quiet. {}", "Therefore, {}"])";
      const std::string common = "--model " + test::shell_quote(dir.string()) + " --cache-dir " +
                                 test::shell_quote((tmp / "cache").string());
      auto stats = test::run_cli("stats " + common + " --layer 0 --corpus " +
                                 test::shell_quote((tmp / "corpus.txt").string()) + " --json");
      INFO(stats.err);
      CHECK(stats.exit_code == 0);
      const std::string edit = "edit " + common + " --stats-corpus " + test::shell_quote((tmp / "corpus.txt").string()) +
                               " --prompt " + test::shell_quote("{} is located in the city of") + " --subject " +
                               test::shell_quote("The Eiffel Tower") +
                               " --target-new Rome --target-true Paris --max-new-tokens 4 --probe-edits --json --context-templates " +
                               test::shell_quote((tmp / "templates.json").string()) + " --hparams ";
      auto rome = test::run_cli(edit + test::shell_quote((tmp / "rome.json").string()));
      INFO(rome.err);
      REQUIRE(rome.exit_code == 0);
      auto rj = nlohmann::json::parse(rome.out);
      CHECK(rj["edits"][0]["weights"][0] == fmt::format(fmt::runtime(modules["rewrite_module"].get<std::string>()), 0) +
                                                ".weight");
      // the v optimisation works through this family's forward (a random model's probes need not follow)
      const auto& losses = rj["edits"][0]["diagnostics"]["layers"][0]["losses"];
      CHECK(losses.back()["nll"].get<double>() < losses.front()["nll"].get<double>() - 1.0);
      // the same edit on the model in bfloat16 (ROME's vectors and v loss in float32)
      auto rome_bf16 = test::run_cli("--dtype bfloat16 " + edit + test::shell_quote((tmp / "rome.json").string()));
      INFO(rome_bf16.err);
      REQUIRE(rome_bf16.exit_code == 0);
      const auto bf16_losses = nlohmann::json::parse(rome_bf16.out)["edits"][0]["diagnostics"]["layers"][0]["losses"];
      CHECK(bf16_losses.back()["nll"].get<double>() < bf16_losses.front()["nll"].get<double>() - 1.0);
      // a module name the model lacks is an error
      hparams["rewrite_module_tmp"] = "transformer.h.{}.mlp.c_proj";
      std::ofstream(tmp / "wrong.json") << hparams.dump();
      auto wrong = test::run_cli(edit + test::shell_quote((tmp / "wrong.json").string()));
      CHECK(wrong.exit_code != 0);
      CHECK_THAT(wrong.err, Contains("rewrite_module_tmp"));
      // edit --save writes the edited model as a HF directory that loads and scores as edited
      auto save = test::run_cli(edit + test::shell_quote((tmp / "rome.json").string()) + " --save " +
                                test::shell_quote((tmp / "saved").string()));
      INFO(save.err);
      REQUIRE(save.exit_code == 0);
      const auto saved_json = nlohmann::json::parse(save.out);
      const double p_new = saved_json["after"]["targets"][0]["p_new"].get<double>();
      auto rescore = test::run_cli("score --json --model " + test::shell_quote((tmp / "saved").string()) +
                                   " --prefix 'The Eiffel Tower is located in the city of' --target Rome");
      INFO(rescore.err);
      REQUIRE(rescore.exit_code == 0);
      CHECK(nlohmann::json::parse(rescore.out)["prob"].get<double>() == Approx(p_new).epsilon(1e-4));
      CHECK(read_json(tmp / "saved" / "config.json")["model_type"] == read_json(dir / "config.json")["model_type"]);
      // an experiment (FT, two records, three suites)
      {
        nlohmann::json data = nlohmann::json::array();
        for (int i = 0; i < 2; ++i) {
          const std::string subject = i == 0 ? "The Eiffel Tower" : "The Louvre";
          data.push_back({{"case_id", i},
                          {"requested_rewrite",
                           {{"prompt", "{} is located in"},
                            {"subject", subject},
                            {"target_new", {{"str", "Berlin"}}},
                            {"target_true", {{"str", "Paris"}}}}},
                          {"paraphrase_prompts", {"In fact, " + subject + " is in"}},
                          {"neighborhood_prompts", {"The Colosseum is located in"}}});
        }
        std::ofstream(tmp / "data.json") << data.dump();
        std::ofstream(tmp / "ft.json") << nlohmann::json{{"layers", {0}},     {"num_steps", 3}, {"lr", 1e-2},
                                                         {"weight_decay", 0}, {"kl_factor", 0}, {"norm_constraint", false}}
                                              .dump();
        nlohmann::json e = {{"model", dir.string()},
                            {"method", "ft"},
                            {"hparams", "ft.json"},
                            {"dataset", "data.json"},
                            {"suites", {"efficacy", "paraphrase", "specificity"}},
                            {"seed", 1},
                            {"threads", 1},
                            {"out", "out"}};
        std::ofstream(tmp / "experiment.json") << e.dump();
        auto run = test::run_cli("run " + test::shell_quote((tmp / "experiment.json").string()));
        INFO(run.err);
        CHECK(run.exit_code == 0);
      }
      auto trace = test::run_cli("trace --model " + test::shell_quote(dir.string()) + " --prompt " +
                                 test::shell_quote("The Eiffel Tower is located in") + " --subject " +
                                 test::shell_quote("The Eiffel Tower") + " --samples 2 --out " +
                                 test::shell_quote((tmp / "trace").string()) + " --json");
      INFO(trace.err);
      CHECK(trace.exit_code == 0);
    }
  }
}

TEST_CASE("an eos_token_id list ends generation at any of its ids, generation_config.json first",
          "[families]") {
  const auto src = fixture_dir("llama");
  auto loaded = load_model(src);
  const std::vector<int64_t> prompt = {1, 379, 295, 370};
  GenerateOptions options;
  options.max_new_tokens = 6;
  options.eos_token_id = -1;
  const auto free_run = generate(*loaded.model, prompt, options).ids;
  REQUIRE(free_run.size() == prompt.size() + 6);
  const int64_t third = free_run[prompt.size() + 2];
  // config.json with a list, generation_config.json absent: every listed id stops.
  test::TempDir tmp;
  fs::create_directories(tmp / "m");
  for (const char* f : {"model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
    fs::copy_file(src / f, tmp / "m" / f);
  }
  auto config = read_json(src / "config.json");
  config["eos_token_id"] = {5000, third};
  std::ofstream(tmp / "m" / "config.json") << config.dump();
  auto listed = load_model(tmp / "m");
  CHECK(listed.config.eos_token_id == 5000);
  CHECK(listed.config.eos_token_ids == std::vector<int64_t>{5000, third});
  options.eos_token_id = listed.config.eos_token_id;
  options.more_eos_token_ids = listed.config.eos_token_ids;
  auto stopped = generate(*listed.model, prompt, options).ids;
  // the run up to the first generated `third`, inclusive
  const auto first = std::find(free_run.begin() + prompt.size(), free_run.end(), third);
  CHECK(stopped == std::vector<int64_t>(free_run.begin(), first + 1));
  // generation_config.json's list wins, as transformers' generate reads it.
  std::ofstream(tmp / "m" / "generation_config.json") << R"({"eos_token_id": [7, 9]})";
  auto from_generation = load_model(tmp / "m");
  CHECK(from_generation.config.eos_token_id == 7);
  CHECK(from_generation.config.eos_token_ids == std::vector<int64_t>{7, 9});
}

TEST_CASE("bfloat16 compute: weights in bfloat16, logits near HF's float32; float16 needs CUDA", "[families]") {
  for (const auto& name : kFixtures) {
    const auto dir = fixture_dir(name);
    const Expected expected(dir / "expected.safetensors");
    auto loaded = load_model(dir, {torch::kBFloat16, torch::kCPU});
    CHECK(loaded.model->dtype() == torch::kBFloat16);
    const auto want = expected.get("logits_single_2");
    auto got = run(*loaded.model, expected.get("ids_single_2").unsqueeze(0))
                   .logits[0]
                   .index_select(0, expected.get("logit_positions_single_2"));
    CHECK(got.scalar_type() == torch::kFloat32);  // logits are upcast, as HF's heads do
    const double diff = max_diff(got, want);
    const double scale = want.abs().max().item<double>();
    const double agree = (got.argmax(-1) == want.argmax(-1)).to(torch::kDouble).mean().item<double>();
    std::cout << fmt::format("bfloat16 {:16s} logits max |diff| {:.2e} (max |logit| {:.2f}), argmax agree {:.2f}\n",
                             name, diff, scale, agree);
    // bfloat16 keeps 8 significant bits: a relative error of a few 2^-8 through the layers.
    CHECK(diff <= 0.05 * std::max(1.0, scale));
  }
  // A BF16 checkpoint in bfloat16 compute is used in place (zero-copy over the mapping).
  auto bf16 = load_model(fixture_dir("llama-bf16"), {torch::kBFloat16, torch::kCPU});
  bool mapped = false;
  for (const auto& [name, t] : bf16.model->parameters_by_name()) {
    const auto* view = bf16.checkpoint.find(name);
    if (view != nullptr && t.data_ptr() == view->data) mapped = true;
  }
  CHECK(mapped);
  REQUIRE_THROWS_WITH(load_model(fixture_dir("llama"), {torch::kHalf, torch::kCPU}),
                      Contains("float16") && Contains("CUDA") && Contains("bfloat16"));
}

TEST_CASE("bench --model measures a family directory in a fresh process", "[families]") {
  for (const std::string dtype : {"float32", "bfloat16"}) {
    auto r = test::run_cli("--dtype " + dtype + " bench --json --tokens 8 --model " +
                           test::shell_quote(fixture_dir("llama").string()));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["dtype"] == dtype);
    CHECK(j["config"]["family"] == "Llama");
    CHECK(j["weights_bytes"].get<double>() == static_cast<double>(fs::file_size(fixture_dir("llama") / "model.safetensors")));
    CHECK(j["load"]["peak_rss_bytes"].get<double>() > 0);
    CHECK(j["forward"]["gflops"].get<double>() > 0);
    CHECK(j["forward"]["flops"].get<double>() == forward_flops(ModelConfig::from_file(fixture_dir("llama") / "config.json"), 1, 8));
  }
  // the named shapes are configs every family reader accepts
  for (const auto& name : bench_shape_names()) {
    const auto c = ModelConfig::from_json(bench_shape_config(name), name);
    CHECK(*c.parameter_count() > 1'000'000'000);
  }
  auto bad = test::run_cli("bench --shape llama-7b");
  CHECK(bad.exit_code == 2);
}
