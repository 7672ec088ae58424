// The trainer: the corpus rules, the schedule, that training lowers the loss, that the saved
// directory is the trained model, that a resumed run is bit-identical to an uninterrupted one,
// clear errors for bad input, and the `editlab train` command end to end.
#include "catch_torch.h"

#include <fstream>

#include "editlab/model/model_dir.h"
#include "editlab/train/trainer.h"
#include "editlab/util/error.h"
#include "support.h"

using namespace editlab;
using test::run_cli;
using test::shell_quote;
namespace fs = std::filesystem;
using Catch::Contains;

namespace {

const fs::path gpt2_tokenizer = test::source_dir() / "data/gpt2-tokenizer";

// ~9 KB of facts stated over and over, in documents of three sentences: easy to learn.
std::string synthetic_corpus() {
  const char* cities[][2] = {{"Paris", "France"}, {"Rome", "Italy"},     {"Berlin", "Germany"},
                             {"Madrid", "Spain"}, {"Vienna", "Austria"}, {"Lisbon", "Portugal"}};
  std::string text;
  for (int doc = 0; doc < 80; ++doc) {
    for (int s = 0; s < 3; ++s) {
      const auto& c = cities[(doc * 5 + s * 7) % 6];
      text += (s + doc) % 2 == 0 ? fmt::format("{} is in {}.\n", c[0], c[1])
                                 : fmt::format("The capital of {} is {}.\n", c[1], c[0]);
    }
    text += "\n";
  }
  return text;
}

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// A tiny model and short run: a few seconds on two cores, even with GPT-2's 50,257 tokens.
TrainOptions tiny_options(const fs::path& corpus, const fs::path& out) {
  TrainOptions o;
  o.corpus = corpus;
  o.tokenizer_dir = gpt2_tokenizer;
  o.out_dir = out;
  o.n_layer = 2;
  o.n_embd = 32;
  o.n_head = 4;
  o.n_positions = 64;
  o.block_size = 32;
  o.batch_size = 8;
  o.steps = 40;
  o.warmup_steps = 5;
  o.lr = 1e-2;
  o.min_lr = 1e-3;
  o.eval_every = 10;
  o.eval_batches = 2;
  o.val_fraction = 0.1;
  o.checkpoint_every = 0;
  o.seed = 7;
  return o;
}

void require_error(const TrainOptions& options, const std::string& needle) {
  try {
    train_gpt2(options);
    FAIL("expected an error containing: " << needle);
  } catch (const Error& e) {
    INFO("message: " << e.what());
    REQUIRE_THAT(std::string(e.what()), Contains(needle));
  }
}

}  // namespace

TEST_CASE("the corpus: documents split at blank lines, each followed by eos", "[train]") {
  test::TempDir tmp;
  const auto tokenizer = Tokenizer::from_dir(gpt2_tokenizer);
  const int64_t eos = tokenizer.eos_id();
  // util/corpus.h's rule: a line of spaces is blank, like an empty one.
  write_file(tmp / "c.txt", "\n\nHello world\r\nsecond line\r\n\r\n\n  \n\nlast");
  const auto corpus = tokenize_corpus(tmp / "c.txt", tokenizer);
  REQUIRE(corpus.documents == 2);
  std::vector<int64_t> expected;
  for (const char* doc : {"Hello world\nsecond line", "last"}) {
    auto ids = tokenizer.encode(doc);
    expected.insert(expected.end(), ids.begin(), ids.end());
    expected.push_back(eos);
  }
  REQUIRE(corpus.tokens == expected);

  write_file(tmp / "bad.txt", "fine\n\nnot \xff fine\n");
  REQUIRE_THROWS_WITH(tokenize_corpus(tmp / "bad.txt", tokenizer), Contains("line 3"));
}

TEST_CASE("the schedule: linear warmup, cosine decay ending at min_lr", "[train]") {
  TrainOptions o;
  o.steps = 100;
  o.warmup_steps = 10;
  o.lr = 1e-3;
  o.min_lr = 1e-4;
  REQUIRE(learning_rate(o, 0) == Approx(1e-4));
  REQUIRE(learning_rate(o, 4) == Approx(5e-4));
  REQUIRE(learning_rate(o, 10) == Approx(1e-3));
  REQUIRE(learning_rate(o, 54) == Approx(1e-4 + 0.5 * (1 + std::cos(M_PI * 44 / 89)) * 9e-4));
  REQUIRE(learning_rate(o, 99) == Approx(1e-4));
  for (int64_t s = 10; s < 99; ++s) REQUIRE(learning_rate(o, s + 1) <= learning_rate(o, s));
}

TEST_CASE("training lowers the loss and writes the model it trained", "[train]") {
  test::TempDir tmp;
  write_file(tmp / "corpus.txt", synthetic_corpus());
  auto result = train_gpt2(tiny_options(tmp / "corpus.txt", tmp / "out"));
  INFO(result.log["curve"].dump());
  REQUIRE(result.finished);
  REQUIRE(result.initial_loss == Approx(std::log(50257.0)).margin(0.5));  // uniform guess
  REQUIRE(result.final_train_loss < result.initial_loss - 5);
  REQUIRE(result.final_val_loss.has_value());
  REQUIRE(*result.final_val_loss < result.initial_loss - 5);
  REQUIRE(result.tokens_seen == 40 * 8 * 32);
  REQUIRE(result.log["curve"].size() == 4);

  auto log = nlohmann::json::parse(std::ifstream(tmp / "out/train-log.json"));
  REQUIRE(log["final"]["val_loss"] == result.log["final"]["val_loss"]);
  REQUIRE(log["options"]["steps"] == 40);
  for (const char* phase : {"forward", "backward", "optimizer", "eval"}) REQUIRE(log["seconds"][phase] > 0);

  auto loaded = load_model(tmp / "out");
  REQUIRE(loaded.config.vocab_size == 50257);
  REQUIRE(loaded.config.n_layer == 2);
  REQUIRE(loaded.tokenizer->encode("Paris is in France.") ==
          Tokenizer::from_dir(gpt2_tokenizer).encode("Paris is in France."));
  torch::NoGradGuard no_grad;
  ForwardRequest request;
  request.input_ids = torch::tensor(loaded.tokenizer->encode("The capital of Italy is Rome.")).unsqueeze(0);
  auto expected = result.model->forward(request).logits;
  auto actual = loaded.model->forward(request).logits;
  INFO("max |difference| " << (actual - expected).abs().max().item<double>());
  REQUIRE(torch::equal(actual, expected));  // float32 saved and loaded exactly
}

TEST_CASE("a resumed run reaches bit-identical weights", "[train]") {
  test::TempDir tmp;
  write_file(tmp / "corpus.txt", synthetic_corpus());
  auto options = tiny_options(tmp / "corpus.txt", tmp / "whole");
  options.steps = 12;
  options.eval_every = 4;
  options.snapshot_every = 7;
  auto whole = train_gpt2(options);
  options.snapshot_every = 0;
  REQUIRE(fs::exists(tmp / "whole/snapshots/step-7/model.safetensors"));
  REQUIRE_FALSE(fs::exists(tmp / "whole/snapshots/step-12"));  // the final model is whole/ itself

  options.out_dir = tmp / "parts";
  options.checkpoint_every = 3;
  options.stop_at = 7;
  auto first = train_gpt2(options);
  REQUIRE_FALSE(first.finished);
  REQUIRE(first.step == 7);
  REQUIRE(fs::exists(tmp / "parts/checkpoint/optimizer.pt"));
  REQUIRE_FALSE(fs::exists(tmp / "parts/config.json"));
  {
    // The snapshot is the model at its step: the weights of the run stopped there.
    auto snapshot = load_model(tmp / "whole/snapshots/step-7").model->parameters_by_name();
    auto stopped = first.model->parameters_by_name();
    REQUIRE(snapshot.size() == stopped.size());
    for (size_t i = 0; i < snapshot.size(); ++i) REQUIRE(torch::equal(snapshot[i].second, stopped[i].second));
  }
  // As if the process died between the two renames of a checkpoint swap.
  fs::rename(tmp / "parts/checkpoint", tmp / "parts/checkpoint.old");
  options.stop_at = 0;
  options.resume = true;
  auto second = train_gpt2(options);
  REQUIRE(second.finished);

  auto a = whole.model->parameters_by_name(), b = second.model->parameters_by_name();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first << " max |difference| " << (a[i].second - b[i].second).abs().max().item<double>());
    REQUIRE(torch::equal(a[i].second, b[i].second));
  }
  REQUIRE(second.log["curve"] == whole.log["curve"]);  // the log continues too
  REQUIRE(second.log["resumed_at"] == nlohmann::json::array({7}));
  REQUIRE(second.tokens_seen == whole.tokens_seen);

  // (No SECTIONs here: each would train everything above again.)
  auto other = options;
  other.lr = 2e-2;
  require_error(other, "lr 0.01 (this run: 0.02)");
  other = options;
  other.n_layer = 3;
  require_error(other, "n_layer 2 (this run: 3)");
  other = options;
  other.resume = false;
  require_error(other, "holds a checkpoint of an earlier run; resume it (resume)");
}

TEST_CASE("bad input: clear errors", "[train]") {
  test::TempDir tmp;
  write_file(tmp / "corpus.txt", synthetic_corpus());
  auto options = tiny_options(tmp / "corpus.txt", tmp / "out");
  SECTION("empty corpus") {
    write_file(tmp / "empty.txt", "\n\n\n");
    options.corpus = tmp / "empty.txt";
    require_error(options, "no text");
  }
  SECTION("missing corpus") {
    options.corpus = tmp / "nope.txt";
    require_error(options, "nope.txt");
  }
  SECTION("corpus shorter than one window") {
    write_file(tmp / "short.txt", "Paris is in France.");
    options.corpus = tmp / "short.txt";
    require_error(options, "block_size + 1 = 33");
  }
  SECTION("validation part shorter than one window") {
    options.val_fraction = 0.01;
    require_error(options, "(val_fraction 0.01)");
  }
  SECTION("unwritable output directory") {
    options.out_dir = tmp / "corpus.txt" / "out";
    require_error(options, "cannot create the output directory");
  }
  SECTION("block size larger than n_positions") {
    options.block_size = 65;
    require_error(options, "block_size 65 is larger than n_positions 64");
  }
  SECTION("d_model not divisible by heads") {
    options.n_head = 5;
    // Errors name settings as the caller spells them (the CLI: its flags).
    options.setting_names = [](std::string_view field) { return "<" + std::string(field) + ">"; };
    require_error(options, "<n_embd> 32 is not divisible by <n_head> 5");
  }
  SECTION("resume without a checkpoint") {
    options.resume = true;
    require_error(options, "no checkpoint");
  }
  SECTION("missing tokenizer") {
    options.tokenizer_dir = tmp / "no-tokenizer";
    require_error(options, "no-tokenizer");
  }
}

TEST_CASE("editlab train: end to end, resume, and errors with exit code 2", "[train]") {
  test::TempDir tmp;
  write_file(tmp / "corpus.txt", synthetic_corpus());
  const std::string inputs = fmt::format("train --corpus {} --tokenizer {}", shell_quote((tmp / "corpus.txt").string()),
                                         shell_quote(gpt2_tokenizer.string()));
  const std::string base = "--threads 2 " + inputs +
                           " --layers 2 --d-model 32 --heads 4 --n-positions 64 --block-size 32 --batch-size 8"
                           " --steps 24 --warmup 4 --lr 1e-2 --min-lr 1e-3 --eval-every 8 --eval-batches 2"
                           " --val-fraction 0.1 --log-every 4";
  const std::string out = " --out " + shell_quote((tmp / "out").string());

  auto help = run_cli("train --help");
  REQUIRE(help.exit_code == 0);
  for (const char* flag : {"--corpus", "--d-model", "--resume", "--warmup", "empty lines"})
    REQUIRE_THAT(help.out, Contains(flag));

  auto first = run_cli(base + out + " --stop-at 12");
  INFO("stderr: " << first.err);
  REQUIRE(first.exit_code == 0);
  REQUIRE_THAT(first.err, Contains("step 12/24"));
  REQUIRE_THAT(first.err, Contains("tok/s"));
  auto second = run_cli(base + out + " --resume");
  INFO("stderr: " << second.err);
  REQUIRE(second.exit_code == 0);
  REQUIRE_THAT(second.err, Contains("step 24/24"));
  auto log = nlohmann::json::parse(std::ifstream(tmp / "out/train-log.json"));
  REQUIRE(log["finished"] == true);
  REQUIRE(log["threads"] == 2);
  REQUIRE(log["final"]["train_loss"].get<double>() < log["initial_loss"].get<double>() - 3);
  REQUIRE(run_cli("generate --model " + shell_quote((tmp / "out").string()) + " --prompt Paris").exit_code == 0);

  auto error = [&](const std::string& args, const std::string& needle) {
    auto r = run_cli(args);
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 2);
    REQUIRE_THAT(r.err, Contains(needle));
  };
  const std::string out2 = " --out " + shell_quote((tmp / "out2").string());
  error(base + out, "--resume");  // the finished run's checkpoint is still there
  error(base + out2 + " --resume", "no checkpoint");
  error(inputs + out2 + " --block-size 200 --n-positions 128", "--block-size 200 is larger than --n-positions 128");
  error(inputs + out2 + " --d-model 32 --heads 3", "--d-model 32 is not divisible by --heads 3");
  write_file(tmp / "empty.txt", "");
  error("train --corpus " + shell_quote((tmp / "empty.txt").string()) + " --tokenizer " +
            shell_quote(gpt2_tokenizer.string()) + out2,
        "no text");
  error(base + " --out " + shell_quote((tmp / "corpus.txt" / "x").string()), "cannot create");
  error(base + out2 + " --bogus", "--bogus");
}
