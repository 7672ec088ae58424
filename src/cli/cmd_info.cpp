// editlab info --model DIR: what a model directory holds, and whether this machine computes fast.
#include <chrono>
#include <iostream>

#include "common.h"
#include "editlab/util/compute_threads.h"
#include "editlab/util/blas_check.h"

namespace editlab::cli {
namespace {

struct InfoOptions {
  std::string model_dir;
  bool json = false;
  bool no_blas_check = false;
};

void run_info(const InfoOptions& opt, const GlobalOptions& global) {
  auto loaded = load(global, opt.model_dir);
  int64_t n_params = 0;
  for (const auto& [name, p] : loaded.model->parameters_by_name()) n_params += p.numel();
  const auto& c = loaded.config;
  nlohmann::json j = {
      {"model_dir", opt.model_dir},
      {"family", c.family_name()},
      {"config", c.to_json()},
      {"parameters", n_params},
      {"weights_bytes", loaded.checkpoint.total_bytes()},
      {"shards", loaded.checkpoint.files().size()},
      {"dtype", global.dtype},
      {"device", global.device},
      {"fingerprint", loaded.fingerprint()},
      {"tokenizer", {{"vocab_size", loaded.tokenizer->vocab_size()}, {"eos_id", loaded.tokenizer->eos_id()}}},
      {"threads", compute_threads()},
      {"threads_layout", compute_threads_layout()},
  };
  BlasCheck blas;
  if (!opt.no_blas_check) {
    blas = check_blas();
    j["blas"] = {{"matmul_gflops", blas.gflops}, {"size", blas.size}, {"ok", blas.ok}};
  }
  if (opt.json) {
    print_json(j);
  } else {
    fmt::print("model        {}\n", opt.model_dir);
    fmt::print("architecture {}: {} layers, d_model {}, {} heads", c.family_name(), c.n_layer, c.n_embd, c.n_head);
    if (c.n_kv_head != c.n_head) fmt::print(" ({} key/value heads)", c.n_kv_head);
    fmt::print(", head_dim {}, d_mlp {}, vocab {}, n_positions {}\n", c.head_dim, c.d_mlp(), c.vocab_size,
               c.n_positions);
    fmt::print("activation   {}, {} epsilon {}\n", c.activation_function,
               c.family == ModelFamily::kLlama ? "rms_norm" : "layer_norm", c.layer_norm_epsilon);
    if (!c.gpt2) {
      fmt::print("rotary       {} of {} dims per head ({}), theta {}, scaling {}", c.rope.rotary_dim, c.head_dim,
                 c.rope.every_two ? "rotate-every-two" : "rotate-half", c.rope.theta, c.rope.type);
      if (c.sliding_window) fmt::print(", sliding window {}", *c.sliding_window);
      fmt::print("\n");
    }
    fmt::print("parameters   {} ({:.1f} MB of weights in {} file(s))\n", n_params,
               loaded.checkpoint.total_bytes() / 1e6, loaded.checkpoint.files().size());
    fmt::print("compute      {} on {}, {} thread(s) ({})\n", global.dtype, global.device, compute_threads(),
               compute_threads_layout());
    fmt::print("fingerprint  {}\n", loaded.fingerprint());
    fmt::print("tokenizer    {} tokens, eos = {}\n", loaded.tokenizer->vocab_size(),
               loaded.tokenizer->eos_id());
    if (!opt.no_blas_check) {
      fmt::print("blas         {:.1f} GFLOP/s for a {}^3 float32 matmul\n", blas.gflops, blas.size);
    }
  }
  if (!opt.no_blas_check && !blas.ok) {
    std::cerr << fmt::format(
        "editlab: warning: matmul runs at {:.1f} GFLOP/s, far below OpenBLAS (~95 GFLOP/s on 2 cores "
        "here): libtorch is probably using the reference BLAS. Install libopenblas0-pthread "
        "(scripts/setup.sh does).\n",
        blas.gflops);
  }
}

}  // namespace

void setup_info(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<InfoOptions>();
  auto* sub = app.add_subcommand("info", "describe a model directory; check BLAS speed");
  sub->add_option("--model", opt->model_dir, "Hugging Face model directory")->required();
  sub->add_flag("--json", opt->json, "machine-readable output");
  sub->add_flag("--no-blas-check", opt->no_blas_check, "skip the matmul speed measurement");
  sub->callback([opt, &global] { run_info(*opt, global); });
}

}  // namespace editlab::cli
