// Fuzz target: what editlab reads of a downloaded model directory before any tensor is built:
// config.json (GPT2Config, and ModelConfig for every family), model.safetensors.index.json with its shards (Checkpoint), and
// vocab.json + merges.txt (Tokenizer).
//
// The input is up to six files separated by lines "--8<--": config.json, the index JSON, vocab.json,
// merges.txt, then two shards written as model-00001-of-00002.safetensors and
// model-00002-of-00002.safetensors (the first also as model.safetensors when there is no index).
// They go to a scratch directory, as these readers take paths. Each reader either rejects its
// file with an editlab::Error or gives a value that holds: a config's sizes are positive, its
// parameter count is set (every product of its sizes fits in int64); a checkpoint's tensors are
// each in the weight map under their shard and found by name; a tokenizer round-trips a fixed
// UTF-8 text (decode(encode(x)) == x) and token ids within its vocabulary.
#include <string>

#include "editlab/model/config.h"
#include "editlab/model/model_config.h"
#include "editlab/model/safetensors.h"
#include "editlab/model/tokenizer.h"
#include "editlab/util/error.h"
#include "editlab/util/json_file.h"
#include "fuzz_support.h"

using namespace editlab;

namespace {

void check_config(std::string_view text) {
  GPT2Config config;
  try {
    config = GPT2Config::from_json(parse_json_text(text, "config.json", "model's config.json"), "config.json");
  } catch (const Error&) {
    return;
  }
  FUZZ_CHECK(config.vocab_size > 0 && config.n_positions > 0 && config.n_embd > 0 && config.n_layer > 0);
  FUZZ_CHECK(config.n_head > 0 && config.n_embd % config.n_head == 0 && config.n_inner >= 0);
  FUZZ_CHECK(config.parameter_count().has_value());
  FUZZ_CHECK(config.head_dim() > 0 && config.d_mlp() > 0);
  const GPT2Config again = GPT2Config::from_json(config.to_json(), "to_json");  // what save_model writes
  FUZZ_CHECK(again.parameter_count() == config.parameter_count());
}

// Every family's reader: a config either is an Error or describes a model whose sizes are
// positive, whose heads divide evenly, whose rotary part fits a head, and whose parameter count fits.
void check_model_config(std::string_view text) {
  ModelConfig config;
  try {
    config = ModelConfig::from_json(parse_json_text(text, "config.json", "model's config.json"), "config.json");
  } catch (const Error&) {
    return;
  }
  FUZZ_CHECK(config.vocab_size > 0 && config.n_positions > 0 && config.n_embd > 0 && config.n_layer > 0);
  FUZZ_CHECK(config.n_head > 0 && config.n_kv_head > 0 && config.n_head % config.n_kv_head == 0);
  FUZZ_CHECK(config.head_dim > 0 && config.d_mlp() > 0);
  FUZZ_CHECK(config.parameter_count().has_value());
  if (!config.gpt2) {
    FUZZ_CHECK(config.rope.rotary_dim > 0 && config.rope.rotary_dim <= config.head_dim &&
               config.rope.rotary_dim % 2 == 0);
    FUZZ_CHECK(config.rope.theta > 0 && config.layer_norm_epsilon > 0);
    FUZZ_CHECK(!config.sliding_window || *config.sliding_window > 0);
  }
}

void check_checkpoint(const std::filesystem::path& dir) {
  try {
    const Checkpoint checkpoint = Checkpoint::open_dir(dir);
    for (const TensorView* view : checkpoint.tensors()) {
      FUZZ_CHECK(checkpoint.find(view->name) == view);
      FUZZ_CHECK(checkpoint.file_of(view->name) != nullptr);
    }
  } catch (const Error&) {
  }
}

void check_tokenizer(const std::filesystem::path& dir) {
  try {
    const Tokenizer tokenizer = Tokenizer::from_dir(dir);
    const std::string text = "Hello world, it's 2024: \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac!\n  x";
    const auto ids = tokenizer.encode(text);
    for (const int64_t id : ids) FUZZ_CHECK(id >= 0 && id < tokenizer.vocab_size());
    FUZZ_CHECK(tokenizer.decode(ids) == text);
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto sections = fuzz::split_sections({reinterpret_cast<const char*>(data), size}, 6);
  auto section = [&](std::size_t i) { return i < sections.size() ? sections[i] : std::string_view(); };
  check_config(section(0));
  check_model_config(section(0));

  const auto& dir = fuzz::scratch_dir();
  for (const char* name : {"model.safetensors.index.json", "model.safetensors", "model-00001-of-00002.safetensors",
                           "model-00002-of-00002.safetensors"}) {
    fuzz::remove_scratch(name);
  }
  if (sections.size() > 1 && !section(1).empty()) fuzz::write_scratch("model.safetensors.index.json", section(1));
  if (sections.size() > 4) {
    fuzz::write_scratch("model-00001-of-00002.safetensors", section(4));
    if (section(1).empty()) fuzz::write_scratch("model.safetensors", section(4));
  }
  if (sections.size() > 5) fuzz::write_scratch("model-00002-of-00002.safetensors", section(5));
  check_checkpoint(dir);

  if (sections.size() > 3) {
    fuzz::write_scratch("vocab.json", section(2));
    fuzz::write_scratch("merges.txt", section(3));
    check_tokenizer(dir);
  }
  return 0;
}
