// config.json parsing (GPT2Config keys and defaults) and model-directory loading errors; the
// limits every reader of downloaded files keeps (JSON nesting and sizes, number types, .npz
// archives: the regression tests of the fuzz targets' findings, tests/fuzz/).
#include "catch_torch.h"

#include <fmt/format.h>

#include <fstream>
#include <iterator>

#include "editlab/edit/hparams.h"
#include "editlab/edit/npz.h"
#include "editlab/edit/request.h"
#include "editlab/model/model_dir.h"
#include "editlab/model/safetensors_torch.h"
#include "editlab/probe/record.h"
#include "editlab/util/error.h"
#include "editlab/util/json_file.h"
#include "support.h"

using namespace editlab;
namespace fs = std::filesystem;
using Catch::Contains;

TEST_CASE("config.json: Hugging Face defaults and supported settings", "[config]") {
  auto c =
      GPT2Config::from_json({{"model_type", "gpt2"}, {"n_embd", 64}, {"n_head", 4}, {"n_inner", nullptr}}, "c.json");
  REQUIRE(c.d_mlp() == 256);  // null means 4 * n_embd
  REQUIRE(GPT2Config{}.d_mlp() == 3072);
  REQUIRE(c.vocab_size == 50257);
  REQUIRE(c.n_layer == 12);
  REQUIRE(c.layer_norm_epsilon == 1e-5);
  REQUIRE(c.activation_function == "gelu_new");
  REQUIRE_FALSE(c.scale_attn_by_inverse_layer_idx);
  auto round_trip = GPT2Config::from_json(c.to_json(), "round trip");
  REQUIRE(round_trip.to_json() == c.to_json());
  // A real gpt2 config.json carries many training-only keys: they are ignored.
  REQUIRE_NOTHROW(GPT2Config::from_json({{"n_ctx", 1024},
                                         {"summary_type", "cls_index"},
                                         {"task_specific_params", {{"text-generation", {{"do_sample", true}}}}}},
                                        "gpt2"));
}

TEST_CASE("config.json: unsupported or malformed settings are clear errors", "[config]") {
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"model_type", "gptj"}}, "c.json"),
                      Contains("c.json") && Contains("gptj"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"activation_function", "mish"}}, "c.json"),
                      Contains("activation_function"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"n_embd", 10}, {"n_head", 3}}, "c.json"), Contains("divisible"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"n_layer", "twelve"}}, "c.json"),
                      Contains("n_layer") && Contains("type"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"n_layer", -1}}, "c.json"), Contains("n_layer"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"n_ctx", 512}, {"n_positions", 1024}}, "c.json"), Contains("n_ctx"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json(nlohmann::json::array(), "c.json"), Contains("object"));
}

namespace {

// A copy of the fixture model whose weights are `tensors` (by checkpoint name).
void write_model(const fs::path& dir, const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  fs::create_directories(dir);
  for (const char* f : {"config.json", "vocab.json", "merges.txt"}) {
    fs::copy_file(test::fixture_model_dir() / f, dir / f, fs::copy_options::overwrite_existing);
  }
  save_tensors(dir / "model.safetensors", tensors);
}

std::vector<std::pair<std::string, torch::Tensor>> fixture_tensors() {
  auto loaded = load_model(test::fixture_model_dir());
  return loaded.model->parameters_by_name();
}

}  // namespace

TEST_CASE("model directory: parameter names, ignored buffers and the tied LM head", "[config]") {
  test::TempDir tmp;
  auto tensors = fixture_tensors();
  SECTION("old checkpoints' attn.bias / masked_bias buffers are ignored; a tied lm_head is accepted") {
    auto with_buffers = tensors;
    with_buffers.emplace_back("h.0.attn.bias", torch::ones({1, 1, 64, 64}));
    with_buffers.emplace_back("h.0.attn.masked_bias", torch::tensor(-1e4));
    for (auto& [name, t] : tensors)
      if (name == "wte.weight") with_buffers.emplace_back("lm_head.weight", t);
    write_model(tmp / "m", with_buffers);
    REQUIRE_NOTHROW(load_model(tmp / "m"));
  }
  SECTION("an untied lm_head is refused") {
    auto untied = tensors;
    for (auto& [name, t] : tensors)
      if (name == "wte.weight") untied.emplace_back("lm_head.weight", t + 1);
    write_model(tmp / "m", untied);
    REQUIRE_THROWS_WITH(load_model(tmp / "m"), Contains("lm_head"));
  }
  SECTION("a missing parameter is named") {
    auto missing = tensors;
    missing.erase(std::remove_if(missing.begin(), missing.end(), [](auto& p) { return p.first == "h.1.ln_2.bias"; }),
                  missing.end());
    write_model(tmp / "m", missing);
    REQUIRE_THROWS_WITH(load_model(tmp / "m"), Contains("h.1.ln_2.bias"));
  }
  SECTION("an unexpected tensor is named") {
    auto extra = tensors;
    extra.emplace_back("h.7.mlp.c_fc.weight", torch::zeros({2, 2}));
    write_model(tmp / "m", extra);
    REQUIRE_THROWS_WITH(load_model(tmp / "m"), Contains("h.7.mlp.c_fc.weight"));
  }
  SECTION("a wrong shape is named with both shapes") {
    auto wrong = tensors;
    for (auto& [name, t] : wrong)
      if (name == "h.0.mlp.c_proj.weight") t = t.t().contiguous();  // [C, M]: Linear layout
    write_model(tmp / "m", wrong);
    REQUIRE_THROWS_WITH(load_model(tmp / "m"), Contains("h.0.mlp.c_proj.weight") && Contains("96x24"));
  }
  SECTION("missing files") {
    REQUIRE_THROWS_WITH(load_model(tmp / "nothing"), Contains("not a directory"));
    fs::create_directories(tmp / "empty");
    REQUIRE_THROWS_WITH(load_model(tmp / "empty"), Contains("config.json"));
  }
}

// ---- hostile inputs (issue: fuzzing; tests/fuzz/ holds the fuzz targets and their corpora) ----

TEST_CASE("config.json: sizes must be integers and the model must fit in int64", "[config]") {
  REQUIRE(GPT2Config{}.parameter_count() == 124439808);  // GPT-2 small
  REQUIRE(GPT2Config::from_json({{"n_embd", 768.0}}, "c.json").n_embd == 768);
  // A float out of int64's range was converted with a cast (undefined behaviour).
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"n_layer", 1e300}}, "c.json"),
                      Contains("c.json") && Contains("n_layer") && Contains("type"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"n_embd", 1.5}}, "c.json"), Contains("n_embd") && Contains("type"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"vocab_size", 18446744073709551615ULL}}, "c.json"),
                      Contains("vocab_size") && Contains("type"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"n_layer", 1000000000000LL}, {"n_embd", 4096}, {"n_head", 32}}, "c.json"),
                      Contains("c.json") && Contains("2^63 parameters"));
  REQUIRE_THROWS_WITH(GPT2Config::from_json({{"n_embd", 4611686018427387904LL}, {"n_head", 1}}, "c.json"),
                      Contains("2^63 parameters"));  // 4 * n_embd (d_mlp) alone overflows
}

TEST_CASE("model directory: a config.json far larger than its checkpoint fails before building the model",
          "[config]") {
  test::TempDir tmp;
  write_model(tmp / "m", fixture_tensors());
  auto config = read_json_file(tmp / "m" / "config.json", "config");
  config["n_layer"] = 1000000000;  // a billion blocks would be built (and allocated) first
  std::ofstream(tmp / "m" / "config.json") << config.dump();
  REQUIRE_THROWS_WITH(load_model(tmp / "m"), Contains("describes a model of") && Contains("checkpoint holds only"));
}

TEST_CASE("JSON files: nesting, string size, object size and numbers are bounded with clear errors", "[config]") {
  test::TempDir tmp;
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(tmp / name, std::ios::binary) << text;
    return tmp / name;
  };
  // A million '[' overflowed the stack when a reader copied or printed the value.
  const auto deep = write("deep.json", std::string(1000000, '[') + std::string(1000000, ']'));
  REQUIRE_THROWS_WITH(read_json_file(deep, "dataset"), Contains("deep.json") && Contains("deeper than 512"));
  REQUIRE_THROWS_WITH(read_ordered_json_file(deep, "report"), Contains("deep.json") && Contains("deeper than 512"));
  REQUIRE_THROWS_WITH(load_json_records(deep, "dataset"), Contains("deep.json") && Contains("deeper than 512"));
  REQUIRE_NOTHROW(parse_json_text(std::string(512, '[') + std::string(512, ']'), "ok.json", "x"));
  REQUIRE_THROWS_WITH(parse_json_text(std::string(513, '[') + std::string(513, ']'), "x.json", "x"),
                      Contains("line 1, column 513"));
  // Brackets inside strings do not count.
  REQUIRE_NOTHROW(parse_json_text("[\"" + std::string(1000, '[') + "\\\"[\"]", "ok.json", "x"));
  // A number past double's range: nlohmann throws out_of_range, not parse_error.
  REQUIRE_THROWS_WITH(parse_json_text(R"({"n_layer": 1e400})", "c.json", "config"),
                      Contains("c.json") && Contains("not valid JSON"));
  REQUIRE_THROWS_WITH(parse_json_records(R"([{"x": 1e400}])", "d.json", "dataset"), Contains("d.json"));
  // Order-keeping objects look keys up linearly: 10,000 members at most.
  std::string members = "{";
  for (int i = 0; i <= 10000; ++i) members += fmt::format("{}\"k{}\":{}", i ? "," : "", i, i);
  members += "}";
  REQUIRE_THROWS_WITH(parse_ordered_json_text(members, "r.json", "report"), Contains("more than 10000 members"));
  REQUIRE(parse_json_text(members, "r.json", "report").size() == 10001);
  // One string over 64 MiB.
  std::string big = "[\"";
  big.append((std::size_t{64} << 20) + 1, 'x');
  big += "\"]";
  REQUIRE_THROWS_WITH(parse_json_text(big, "big.json", "dataset"), Contains("big.json") && Contains("64 MiB"));
}

TEST_CASE("edit inputs: list elements and optional fields are type-checked", "[config]") {
  auto ft = nlohmann::json{{"layers", {0}}, {"num_steps", 1},       {"lr", 1e-3},
                           {"weight_decay", 0}, {"kl_factor", 0}, {"norm_constraint", false}};
  REQUIRE(FtHparams::from_json(ft, "h.json").layers == std::vector<int64_t>{0});
  ft["layers"] = {1e300};  // converted with a cast before: undefined behaviour
  REQUIRE_THROWS_WITH(FtHparams::from_json(ft, "h.json"), Contains("h.json") && Contains("layers"));
  ft["layers"] = {0};
  ft[std::string(100000, 'x')] = 1;  // the "did you mean" search must not be O(n m) on a long key
  REQUIRE_THROWS_WITH(FtHparams::from_json(ft, "h.json"), Contains("unknown key"));
  const nlohmann::json record = {
      {"prompt", "{} is in"},
      {"subject", "X"},
      {"target_new", "Rome"},
      {"benchmark_tests",
       {{{"benchmark", "mquake"},
         {"family", "multi_hop"},
         {"test_condition", 1},
         {"test_queries", {{{"prompt", "p"}, {"answers", {{{"value", "v"}}}}}}}}}}};
  REQUIRE_THROWS_WITH(parse_probe_record(record, "d.json: record 0"),
                      Contains("d.json: record 0") && Contains("test_condition"));
}

TEST_CASE("ROME's .npz statistics: malformed archives and arrays are errors naming the file", "[config]") {
  const auto fixture = test::source_dir() / "tests/fixtures/tiny-gpt2-layer0-mom2.npz";
  const auto stats = read_npz_stats(fixture);
  REQUIRE(stats.mom2.shape == std::vector<int64_t>{96, 96});
  REQUIRE(stats.count > 0);
  std::ifstream in(fixture, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(read_npz_stats_bytes(bytes, "s.npz").count == stats.count);
  // The central directory's uncompressed size of a stored entry, set to 2 GiB - 1: nothing may
  // be allocated by it.
  std::string lying = bytes;
  const auto central = lying.find("PK\x01\x02");
  REQUIRE(central != std::string::npos);
  lying.replace(central + 24, 4, "\xff\xff\xff\x7f");
  REQUIRE_THROWS_WITH(read_npz_stats_bytes(lying, "s.npz"), Contains("s.npz") && Contains("declares"));
  REQUIRE_THROWS_WITH(read_npz_stats_bytes(bytes.substr(0, bytes.size() / 2), "s.npz"), Contains("s.npz"));
  auto npy = [](const std::string& header, std::size_t data) {
    std::string h = header + std::string((64 - (10 + header.size() + 1) % 64) % 64, ' ') + "\n";
    return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(h.size() & 0xff) + static_cast<char>(h.size() >> 8) +
           h + std::string(data, '\0');
  };
  REQUIRE(parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24), "a").numel() == 6);
  REQUIRE_THROWS_WITH(parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", 0),
                                "s.npz: mom2.mom2"),
                      Contains("s.npz: mom2.mom2") && Contains("2^63"));
  REQUIRE_THROWS_WITH(parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, ), }", 0),
                                "a"),
                      Contains("past 2^63"));
  REQUIRE_THROWS_WITH(parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20), "a"),
                      Contains("does not match"));
  REQUIRE_THROWS_WITH(parse_npy(npy("{'descr': '<f4', 'shape': (2, 3), 'extra': 1}", 24), "a"),
                      Contains("malformed .npy header"));
  REQUIRE_THROWS_WITH(parse_npy(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 4), "a"),
                      Contains("big-endian"));
}
