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

#include <nlohmann/json.hpp>

namespace editlab {

struct BenchSettings {
  std::filesystem::path work_dir = std::filesystem::temp_directory_path();
  bool measure_load = true;
  // vocab.json + merges.txt for the load test's model directory: GPT-2's real files, so that the
  // load time includes building the real tokenizer.
  std::filesystem::path tokenizer_dir = std::filesystem::path(EDITLAB_DATA_DIR) / "gpt2-tokenizer";
  int64_t batch = 8;
  int64_t tokens = 128;
  int repeats = 3;
};

nlohmann::json run_foundation_bench(const BenchSettings& settings,
                                    const std::function<void(const std::string&)>& progress);
std::string format_bench_report(const nlohmann::json& report);

// Loads `dir` `repeats` times (each to every weight touched) and runs one forward pass; returns
// {load_seconds (best), peak_rss_bytes (this process's VmHWM)}. The bench runs it in a fresh
// process (`editlab bench --measure-load DIR`) so that the peak is the load's own.
nlohmann::json measure_load(const std::filesystem::path& dir, int repeats = 3);

// Multiply-add FLOPs (x2) of one GPT-2 forward pass over B x T tokens, logits at every position.
double gpt2_forward_flops(int64_t n_layer, int64_t d_model, int64_t d_mlp, int64_t vocab, int64_t batch,
                          int64_t tokens);

}  // namespace editlab
