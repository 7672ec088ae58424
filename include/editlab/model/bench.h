// The foundation benchmark (`editlab bench`): every figure measured in one process, so that
// ratios compare like with like on the machine at hand.
//   - sgemm GFLOP/s at the MLP's matmul shape ([B*T, C] x [C, 4C]);
//   - forward-pass GFLOP/s of a GPT-2-small-shaped model (random weights made in memory) at
//     batch B x T, and its ratio to the sgemm figure;
//   - load time of a model directory (to weights touched and ready) against a raw read of the
//     same bytes, and peak RSS against the weights' bytes.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "editlab/model/model_config.h"
#include "editlab/util/data_dir.h"

namespace editlab {

struct BenchSettings {
  std::filesystem::path work_dir = std::filesystem::temp_directory_path();
  bool measure_load = true;
  // vocab.json + merges.txt for the load test's model directory: GPT-2's real files, so that the
  // load time includes building the real tokenizer.
  std::filesystem::path tokenizer_dir = data_dir() / "gpt2-tokenizer";
  // Measures loading the model directory `dir` in a fresh process, so that the peak RSS is the
  // load's own, and returns that process's measure_load(dir) (its JSON). The CLI runs itself
  // (`editlab bench --measure-load DIR --json`). Unset: the load is measured in this process,
  // whose peak RSS then includes everything it held before ("fresh_process": false in the report).
  std::function<nlohmann::json(const std::filesystem::path& dir)> measure_load_in_fresh_process;
  int64_t batch = 8;
  int64_t tokens = 128;
  int repeats = 3;
};

nlohmann::json run_foundation_bench(const BenchSettings& settings,
                                    const std::function<void(const std::string&)>& progress);
std::string format_bench_report(const nlohmann::json& report);

// Loads `dir` `repeats` times (each to every weight touched) and runs one forward pass; returns
// {load_seconds (best), peak_rss_bytes (this process's VmHWM)}. The bench runs it in a fresh
// process (BenchSettings::measure_load_in_fresh_process) so that the peak is the load's own.
nlohmann::json measure_load(const std::filesystem::path& dir, int repeats = 3, c10::ScalarType dtype = c10::kFloat,
                            c10::Device device = c10::kCPU);

// `editlab bench --model DIR | --shape NAME`: one model at its real size. The load (to every
// weight touched, plus a forward pass) in a fresh process with its peak RSS against the weights'
// bytes; the forward pass over batch x tokens (logits at every position) in GFLOP/s, against
// sgemm at the model's MLP shape in the same dtype.
struct ModelBenchSettings {
  c10::ScalarType dtype = c10::kFloat;
  c10::Device device = c10::kCPU;  // on a GPU: timers read after the device has finished, and its peak memory
  int64_t batch = 1;
  int64_t tokens = 128;
  int repeats = 2;
  // As BenchSettings::measure_load_in_fresh_process (the child gets the same --dtype and --device).
  std::function<nlohmann::json(const std::filesystem::path& dir)> measure_load_in_fresh_process;
};
nlohmann::json run_model_bench(const std::filesystem::path& dir, const ModelBenchSettings& settings,
                               const std::function<void(const std::string&)>& progress);
std::string format_model_bench_report(const nlohmann::json& report);

// The named shapes `--shape` writes as random-weight Hugging Face directories: their config.json.
//   llama-1b: Llama 3.2 1B (16 layers, 2048, 32 heads / 8 KV heads, MLP 8192, vocab 128256, tied)
//   gpt2-xl:  GPT-2 XL (48 layers, 1600, 25 heads, vocab 50257)
std::vector<std::string> bench_shape_names();
nlohmann::json bench_shape_config(const std::string& name);
// Writes config.json, model.safetensors (weights N(0, 0.02), norms 1, biases 0; F32) and
// tokenizer_dir's vocab.json + merges.txt into dir.
void write_random_model(const nlohmann::json& config, const std::filesystem::path& tokenizer_dir,
                        const std::filesystem::path& dir, uint64_t seed = 0);

// Multiply-add FLOPs (x2) of one forward pass of any supported family over B x T tokens, logits at
// every position.
double forward_flops(const ModelConfig& config, int64_t batch, int64_t tokens);

// Multiply-add FLOPs (x2) of one GPT-2 forward pass over B x T tokens, logits at every position.
double gpt2_forward_flops(int64_t n_layer, int64_t d_model, int64_t d_mlp, int64_t vocab, int64_t batch,
                          int64_t tokens);

}  // namespace editlab
