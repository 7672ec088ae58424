// The real executable: help, JSON outputs agreeing with the library, and one clear error line
// with exit code 2 for each kind of bad input.
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

void require_one_line_error(const test::CliResult& r, const std::string& needle) {
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(r.err, Contains(needle));
  REQUIRE(std::count(r.err.begin(), r.err.end(), '\n') <= 2);  // CLI11 adds a "Run with --help" hint
}
}  // namespace

TEST_CASE("--help and --version", "[cli]") {
  auto help = run_cli("--help");
  REQUIRE(help.exit_code == 0);
  for (const char* sub : {"info", "tokenize", "score", "generate", "bench", "--threads", "--device", "--dtype"}) {
    REQUIRE_THAT(help.out, Contains(sub));
  }
  for (const char* sub : {"info", "tokenize", "score", "generate", "bench"}) {
    auto r = run_cli(std::string(sub) + " --help");
    INFO(sub);
    REQUIRE(r.exit_code == 0);
    REQUIRE_THAT(r.out, Contains("--json"));
  }
  auto version = run_cli("--version");
  REQUIRE(version.exit_code == 0);
  REQUIRE_THAT(version.out, Contains("editlab"));
}

TEST_CASE("devices says what this editlab computes on; --device reaches every command", "[cli]") {
  auto r = run_cli("devices --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK_FALSE(j["torch_version"].get<std::string>().empty());
  REQUIRE(j["cuda_devices"].is_array());
  CHECK(j["cpu_threads"].get<int>() >= 1);
  if (!j["cuda_devices"].empty()) CHECK(j["cuda_built"] == true);
  auto text = run_cli("devices");
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Contains("libtorch") && Contains("cuda"));
  if (j["cuda_devices"].empty()) {
    // The global --device wins over an experiment config's "device" (which defaults to cpu): without
    // a device the run stops at once, naming the flag.
    auto run = run_cli("--device cuda run " + shell_quote((test::source_dir() / "tests/regression/rome.json").string()) +
                       " --limit 1 --out " + shell_quote((std::filesystem::temp_directory_path() / "editlab-no-cuda").string()));
    CHECK(run.exit_code != 0);
    CHECK_THAT(run.err, Contains("--device cuda") && Contains("CUDA"));
  }
}

TEST_CASE("info, tokenize, score and generate print what the library computes", "[cli]") {
  auto loaded = load_model(test::fixture_model_dir());
  SECTION("info") {
    auto r = run_cli("--threads 1 info " + model_arg + " --json --no-blas-check");
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    REQUIRE(j["threads"] == 1);
    REQUIRE(j["fingerprint"] == loaded.fingerprint());
    REQUIRE(j["config"]["n_layer"] == 2);
    REQUIRE(j["parameters"] == 1222200);
  }
  SECTION("tokenize") {
    auto r = run_cli("tokenize " + model_arg + " --text " + shell_quote("The Louvre's café, 2023!") + " --json");
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    REQUIRE(j["ids"].get<std::vector<int64_t>>() == loaded.tokenizer->encode("The Louvre's café, 2023!"));
  }
  SECTION("score") {
    auto r = run_cli("score " + model_arg + " --prefix " + shell_quote("The Eiffel Tower is located in") +
                     " --target Paris --json --dtype float64");
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    std::ifstream in(test::source_dir() / "tests/fixtures/tiny-gpt2-expected.json");
    auto meta = nlohmann::json::parse(in);
    REQUIRE(j["nll"].get<double>() == Approx(meta["scores"][0]["nll"].get<double>()).margin(1e-10));
  }
  SECTION("generate") {
    std::ifstream in(test::source_dir() / "tests/fixtures/tiny-gpt2-expected.json");
    auto meta = nlohmann::json::parse(in);
    for (const auto& g : meta["generations"]) {
      if (g["prompt"] != "Hello" || g["num_beams"] != 3) continue;
      auto r = run_cli(fmt::format("generate {} --prompt Hello --beams 3 --max-length {} --json", model_arg,
                                   g["max_length"].get<int>()));
      REQUIRE(r.exit_code == 0);
      REQUIRE(nlohmann::json::parse(r.out)["ids"] == g["ids"]);
    }
  }
}

TEST_CASE("bad input: one clear line on stderr and exit code 2", "[cli]") {
  test::TempDir tmp;
  SECTION("missing model directory") { require_one_line_error(run_cli("info --model /no/such/dir"), "/no/such/dir"); }
  SECTION("malformed config.json") {
    fs::create_directories(tmp / "m");
    for (const char* f : {"vocab.json", "merges.txt", "model.safetensors"})
      fs::copy_file(test::fixture_model_dir() / f, tmp / "m" / f);
    std::ofstream(tmp / "m" / "config.json") << "{\"n_layer\": 2,";
    require_one_line_error(run_cli("info --model " + shell_quote((tmp / "m").string())), "config.json");
  }
  SECTION("malformed weights") {
    fs::create_directories(tmp / "m");
    for (const char* f : {"vocab.json", "merges.txt", "config.json"})
      fs::copy_file(test::fixture_model_dir() / f, tmp / "m" / f);
    fs::copy_file(test::fixture_model_dir() / "model.safetensors", tmp / "m" / "model.safetensors");
    fs::resize_file(tmp / "m" / "model.safetensors", 1000);
    require_one_line_error(run_cli("info --model " + shell_quote((tmp / "m").string())), "model.safetensors");
  }
  SECTION("prompt longer than n_positions") {
    std::string long_prompt;
    for (int i = 0; i < 80; ++i) long_prompt += " word";
    require_one_line_error(run_cli("generate " + model_arg + " --prompt " + shell_quote(long_prompt)), "n_positions");
    require_one_line_error(run_cli("score " + model_arg + " --prefix " + shell_quote(long_prompt) + " --target x"),
                           "n_positions");
  }
  SECTION("unknown or missing command: named, with the valid ones") {
    auto r = run_cli("frobnicate");
    require_one_line_error(r, "editlab: error: unknown command \"frobnicate\"; the commands are: info, tokenize");
    CHECK_THAT(r.err, Contains("run, merge"));
    r = run_cli("--threads 1 toy-world frobnicate --seed 3");
    require_one_line_error(r, "error: toy-world: unknown command \"frobnicate\"; the commands are: generate");
    CHECK_THAT(r.err, Contains("(see editlab toy-world --help)"));
    require_one_line_error(run_cli("toy-world"), "error: toy-world: a command is required: generate, bpe, check");
    require_one_line_error(run_cli(""), "editlab: error: a command is required: info");
  }
  SECTION("unknown option, missing argument, bad value") {
    require_one_line_error(run_cli("info " + model_arg + " --bogus"), "--bogus");
    require_one_line_error(run_cli("score " + model_arg + " --prefix x"), "--target");
    require_one_line_error(run_cli("--dtype float16 info " + model_arg), "float16");
    require_one_line_error(run_cli("generate " + model_arg + " --prompt x --beams 0"), "--beams");
    if (!torch::cuda::is_available()) require_one_line_error(run_cli("--device cuda info " + model_arg), "cuda");
    require_one_line_error(run_cli("tokenize " + model_arg), "--text");
  }
}
