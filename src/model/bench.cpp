#include "editlab/util/compute_threads.h"
#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)
#include "editlab/model/bench.h"

#include <sys/resource.h>
#include <unistd.h>
#include <chrono>
#include <fstream>
#include <sstream>

#include <torch/torch.h>

#include "decoder.h"
#include "editlab/model/device_memory.h"
#include "editlab/model/model_dir.h"
#include "editlab/model/safetensors_torch.h"
#include "editlab/util/blas_check.h"
#include "editlab/util/error.h"
#include "editlab/util/steady_clock.h"

namespace editlab {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// A /proc/self/status field in bytes. VmHWM belongs to the address space, which exec replaces,
// so a freshly started process reports only its own peak.
double proc_status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) * 1024.0;
  }
  return 0;
}

nlohmann::json bench_forward(const BenchSettings& s, const std::function<void(const std::string&)>& progress) {
  GPT2Config config;  // GPT-2 small: 12 layers, 768, 12 heads, 3072, 50257
  torch::NoGradGuard no_grad;
  GPT2 model(config);
  model.init_random(0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  auto ids = torch::randint(config.vocab_size, {s.batch, s.tokens}, gen);
  ForwardRequest request;
  request.input_ids = ids;
  model.forward(request);  // warm-up
  double best = 1e30;
  for (int i = 0; i < s.repeats; ++i) {
    auto start = Clock::now();
    model.forward(request);
    best = std::min(best, seconds_since(start));
  }
  const double flops =
      gpt2_forward_flops(config.n_layer, config.n_embd, config.d_mlp(), config.vocab_size, s.batch, s.tokens);
  progress(fmt::format("forward: {:.3f} s for {}x{} tokens", best, s.batch, s.tokens));
  return {{"seconds", best}, {"gflops", flops / best / 1e9}, {"flops", flops}};
}

nlohmann::json bench_load(const BenchSettings& s, const std::function<void(const std::string&)>& progress) {
  const fs::path dir = s.work_dir / fmt::format("editlab-bench-{}", ::getpid());
  fs::create_directories(dir);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  {
    torch::NoGradGuard no_grad;
    GPT2Config config;
    GPT2 model(config);
    model.init_random(0);
    save_model(model, config, s.tokenizer_dir, dir);
  }
  progress(fmt::format("load: wrote a GPT-2-small directory to {}", dir.string()));
  const auto file = dir / "model.safetensors";
  const double bytes = fs::file_size(file);

  double raw_best = 1e30;
  for (int i = 0; i < s.repeats; ++i) {
    auto start = Clock::now();
    std::ifstream in(file, std::ios::binary);
    auto buffer = std::make_unique_for_overwrite<char[]>(static_cast<size_t>(bytes));
    in.read(buffer.get(), static_cast<std::streamsize>(bytes));
    if (!in) fail("{}: raw read failed", file.string());
    raw_best = std::min(raw_best, seconds_since(start));
  }
  progress(fmt::format("load: raw read of {:.0f} MB: {:.3f} s", bytes / 1e6, raw_best));
  const bool fresh = static_cast<bool>(s.measure_load_in_fresh_process);
  const auto measured = fresh ? s.measure_load_in_fresh_process(dir) : measure_load(dir, s.repeats);
  const double load_best = measured["load_seconds"], peak = measured["peak_rss_bytes"];
  progress(fmt::format("load: {} loaded it in {:.3f} s, peak RSS {:.0f} MB", fresh ? "a fresh process" : "this process",
                       load_best, peak / 1e6));
  return {{"weights_bytes", bytes},
          {"raw_read_seconds", raw_best},
          {"load_seconds", load_best},
          {"load_vs_raw", load_best / raw_best},
          {"peak_rss_bytes", peak},
          {"peak_rss_vs_weights", peak / bytes},
          {"rss_target_bytes", 1.2 * bytes + 100e6},
          {"fresh_process", fresh}};
}

}  // namespace

nlohmann::json measure_load(const fs::path& dir, int repeats, c10::ScalarType dtype, c10::Device device) {
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    auto start = Clock::now();
    auto loaded = load_model(dir, {dtype, device});
    torch::NoGradGuard no_grad;
    double checksum = 0;  // touch every weight: mapped pages are only read when used
    for (auto& [name, p] : loaded.model->parameters_by_name()) checksum += p.sum().item<double>();
    if (std::isnan(checksum)) fail("bench: NaN in the weights of {}", dir.string());
    best = std::min(best, seconds_since(start));
    if (i + 1 == repeats) {  // and one forward pass, as any use of the model makes
      ForwardRequest request;
      request.input_ids = torch::zeros({1, 8}, torch::TensorOptions(torch::kLong).device(device));
      loaded.model->forward(request);
    }
  }
  return {{"load_seconds", best}, {"peak_rss_bytes", proc_status_bytes("VmHWM")}};
}

double gpt2_forward_flops(int64_t n_layer, int64_t d_model, int64_t d_mlp, int64_t vocab, int64_t batch,
                          int64_t tokens) {
  const double n = static_cast<double>(batch) * tokens, c = d_model;
  const double per_layer = 2 * n * c * 3 * c                      // c_attn
                           + 2 * 2 * batch * tokens * tokens * c  // q k^T and probs v
                           + 2 * n * c * c                        // attn.c_proj
                           + 2 * 2 * n * c * d_mlp;               // mlp.c_fc and mlp.c_proj
  return n_layer * per_layer + 2 * n * c * vocab;                 // + LM head
}

nlohmann::json run_foundation_bench(const BenchSettings& s, const std::function<void(const std::string&)>& progress) {
  nlohmann::json report;
  report["threads"] = compute_threads();
  report["shape"] = {{"model", "gpt2-small (random weights)"}, {"batch", s.batch}, {"tokens", s.tokens}};
  const int64_t rows = s.batch * s.tokens;
  const double sgemm = matmul_gflops(rows, 768, 3072, 5);
  progress(fmt::format("sgemm [{}x768]x[768x3072]: {:.1f} GFLOP/s", rows, sgemm));
  report["sgemm_gflops"] = sgemm;
  report["forward"] = bench_forward(s, progress);
  report["forward_vs_sgemm"] = report["forward"]["gflops"].get<double>() / sgemm;
  if (s.measure_load) report["load"] = bench_load(s, progress);
  return report;
}

double forward_flops(const ModelConfig& c, int64_t batch, int64_t tokens) {
  const double n = static_cast<double>(batch) * tokens, C = c.n_embd;
  const double q = static_cast<double>(c.n_head) * c.head_dim, kv = static_cast<double>(c.n_kv_head) * c.head_dim;
  const double mlp_matrices = c.family == ModelFamily::kLlama ? 3 : 2;  // SwiGLU: gate, up, down
  const double per_layer = 2 * n * C * (q + 2 * kv)                          // q, k, v
                           + 2 * 2 * static_cast<double>(batch) * tokens * tokens * q  // q k^T, probs v
                           + 2 * n * q * C                                    // attention output
                           + mlp_matrices * 2 * n * C * c.n_inner;            // MLP
  return c.n_layer * per_layer + 2 * n * C * c.vocab_size;                    // + LM head
}

std::vector<std::string> bench_shape_names() { return {"llama-1b", "gpt2-xl"}; }

nlohmann::json bench_shape_config(const std::string& name) {
  if (name == "llama-1b") {
    return {{"model_type", "llama"},         {"architectures", {"LlamaForCausalLM"}},
            {"hidden_size", 2048},           {"intermediate_size", 8192},
            {"num_hidden_layers", 16},       {"num_attention_heads", 32},
            {"num_key_value_heads", 8},      {"head_dim", 64},
            {"vocab_size", 128256},          {"max_position_embeddings", 131072},
            {"rms_norm_eps", 1e-5},          {"rope_theta", 500000.0},
            {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 32.0}, {"low_freq_factor", 1.0},
                              {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}}},
            {"hidden_act", "silu"},          {"tie_word_embeddings", true},
            {"bos_token_id", 128000},        {"eos_token_id", 128001},
            {"torch_dtype", "float32"}};
  }
  if (name == "gpt2-xl") {
    return {{"model_type", "gpt2"}, {"n_embd", 1600}, {"n_layer", 48}, {"n_head", 25}, {"n_positions", 1024},
            {"n_ctx", 1024},        {"vocab_size", 50257}, {"activation_function", "gelu_new"}};
  }
  fail("--shape {}: unknown (known: {})", name, fmt::join(bench_shape_names(), ", "));
}

void write_random_model(const nlohmann::json& config_json, const fs::path& tokenizer_dir, const fs::path& dir,
                        uint64_t seed) {
  torch::NoGradGuard no_grad;
  const auto config = ModelConfig::from_json(config_json, "bench shape");
  fs::create_directories(dir);
  if (config.gpt2) {
    GPT2 model(*config.gpt2);
    model.init_random(seed);
    save_model(model, *config.gpt2, tokenizer_dir, dir);
    return;
  }
  auto model = detail::make_decoder(config);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto params = model->parameters_by_name();
  for (auto& [name, t] : params) {
    const bool norm = name.find("norm") != std::string::npos || name.find("ln_") != std::string::npos;
    if (norm && t.dim() == 1 && !name.ends_with("bias")) {
      t.fill_(1.0);
    } else if (t.dim() == 1) {
      t.zero_();
    } else {
      t.normal_(0.0, 0.02, gen);
    }
  }
  save_tensors(dir / "model.safetensors", params, {{"format", "pt"}});
  std::ofstream(dir / "config.json") << config_json.dump(2) << "\n";
  for (const char* f : {"vocab.json", "merges.txt"}) {
    fs::copy_file(tokenizer_dir / f, dir / f, fs::copy_options::overwrite_existing);
  }
}

nlohmann::json run_model_bench(const fs::path& dir, const ModelBenchSettings& s,
                               const std::function<void(const std::string&)>& progress) {
  nlohmann::json report;
  report["model"] = dir.string();
  report["threads"] = compute_threads();
  report["dtype"] = compute_dtype_name(s.dtype);
  report["device"] = s.device.str();
  report["shape"] = {{"batch", s.batch}, {"tokens", s.tokens}};
  double weight_bytes = 0;  // the checkpoint's files (the index's shards, or model.safetensors)
  const auto checkpoint = Checkpoint::open_dir(dir);
  for (const auto& file : checkpoint.files()) weight_bytes += static_cast<double>(file->file_size());
  report["weights_bytes"] = weight_bytes;
  if (s.measure_load_in_fresh_process) {
    const auto measured = s.measure_load_in_fresh_process(dir);
    const double peak = measured["peak_rss_bytes"];
    // Weights converted to another dtype are a copy beside the mapped file: the target counts
    // the weights as held in the compute dtype.
    report["load"] = {{"load_seconds", measured["load_seconds"]},
                      {"peak_rss_bytes", peak},
                      {"peak_rss_vs_weights", peak / weight_bytes},
                      {"rss_target_bytes", 1.2 * weight_bytes + 100e6}};
    progress(fmt::format("load: a fresh process loaded {:.0f} MB in {:.2f} s, peak RSS {:.0f} MB", weight_bytes / 1e6,
                         measured["load_seconds"].get<double>(), peak / 1e6));
  }
  auto loaded = load_model(dir, {s.dtype, s.device});
  const auto& c = loaded.config;
  report["config"] = {{"family", c.family_name()}, {"layers", c.n_layer},       {"hidden", c.n_embd},
                      {"heads", c.n_head},          {"kv_heads", c.n_kv_head},  {"mlp", c.n_inner},
                      {"vocab", c.vocab_size},      {"parameters", *c.parameter_count()}};
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  ForwardRequest request;
  request.input_ids = torch::randint(std::min<int64_t>(c.vocab_size, loaded.tokenizer->vocab_size()),
                                     {s.batch, s.tokens}, gen)
                          .to(s.device);
  synchronize_device(s.device);
  reset_peak_device_memory(s.device);  // from here: the weights and one batch's activations
  auto start = Clock::now();
  loaded.model->forward(request);  // warm-up (and the first touch of every mapped weight)
  synchronize_device(s.device);
  progress(fmt::format("forward: warm-up {:.2f} s", seconds_since(start)));
  double best = 1e30;
  for (int i = 0; i < s.repeats; ++i) {
    start = Clock::now();
    loaded.model->forward(request);
    synchronize_device(s.device);
    best = std::min(best, seconds_since(start));
  }
  if (const auto memory = device_memory(s.device)) {
    report["device_memory"] = {{"weights_bytes", parameter_bytes(*loaded.model)},
                               {"peak_allocated_bytes", memory->peak_allocated_bytes}};
  }
  const double flops = forward_flops(c, s.batch, s.tokens);
  const double sgemm = matmul_gflops(s.batch * s.tokens, c.n_embd, c.n_inner, 3, s.dtype, s.device);
  progress(fmt::format("forward: {:.2f} s for {}x{} tokens ({:.1f} GFLOP/s); sgemm [{}x{}]x[{}x{}] {:.1f} GFLOP/s",
                       best, s.batch, s.tokens, flops / best / 1e9, s.batch * s.tokens, c.n_embd, c.n_embd, c.n_inner,
                       sgemm));
  report["forward"] = {{"seconds", best}, {"gflops", flops / best / 1e9}, {"flops", flops},
                       {"tokens_per_second", s.batch * s.tokens / best}};
  report["sgemm_gflops"] = sgemm;
  report["forward_vs_sgemm"] = flops / best / 1e9 / sgemm;
  return report;
}

std::string format_model_bench_report(const nlohmann::json& r) {
  std::ostringstream out;
  const auto& c = r["config"];
  out << fmt::format("model                    {} ({}: {} layers x {}, {} heads / {} KV, MLP {}, vocab {}; {:.2f} B "
                     "parameters), {} on {}, {} threads\n",
                     r["model"].get<std::string>(), c["family"].get<std::string>(), c["layers"].get<int64_t>(),
                     c["hidden"].get<int64_t>(), c["heads"].get<int64_t>(), c["kv_heads"].get<int64_t>(),
                     c["mlp"].get<int64_t>(), c["vocab"].get<int64_t>(), c["parameters"].get<int64_t>() / 1e9,
                     r["dtype"].get<std::string>(), r.value("device", std::string("cpu")), r["threads"].get<int>());
  out << fmt::format("weights                  {:.0f} MB\n", r["weights_bytes"].get<double>() / 1e6);
  if (r.contains("load")) {
    const auto& l = r["load"];
    out << fmt::format("load to ready            {:.2f} s (fresh process)\n", l["load_seconds"].get<double>());
    out << fmt::format("peak RSS, load + forward {:.0f} MB = {:.2f} x weights (target <= 1.2 x + 100 MB = {:.0f} MB)\n",
                       l["peak_rss_bytes"].get<double>() / 1e6, l["peak_rss_vs_weights"].get<double>(),
                       l["rss_target_bytes"].get<double>() / 1e6);
  }
  out << fmt::format("forward                  {:.1f} GFLOP/s, {:.0f} tokens/s ({:.2f} s for {}x{} tokens)\n",
                     r["forward"]["gflops"].get<double>(), r["forward"]["tokens_per_second"].get<double>(),
                     r["forward"]["seconds"].get<double>(), r["shape"]["batch"].get<int>(),
                     r["shape"]["tokens"].get<int>());
  out << fmt::format("sgemm (MLP shape)        {:.1f} GFLOP/s\n", r["sgemm_gflops"].get<double>());
  out << fmt::format("forward / sgemm          {:.2f}   (target >= 0.70)\n", r["forward_vs_sgemm"].get<double>());
  return out.str();
}

std::string format_bench_report(const nlohmann::json& r) {
  std::ostringstream out;
  out << fmt::format("threads                  {}\n", r["threads"].get<int>());
  out << fmt::format("sgemm (MLP shape)        {:.1f} GFLOP/s\n", r["sgemm_gflops"].get<double>());
  out << fmt::format("forward, GPT-2 small     {:.1f} GFLOP/s ({:.3f} s for {}x{} tokens)\n",
                     r["forward"]["gflops"].get<double>(), r["forward"]["seconds"].get<double>(),
                     r["shape"]["batch"].get<int>(), r["shape"]["tokens"].get<int>());
  out << fmt::format("forward / sgemm          {:.2f}   (target >= 0.70)\n", r["forward_vs_sgemm"].get<double>());
  if (r.contains("load")) {
    const auto& l = r["load"];
    out << fmt::format("load to ready / raw read {:.2f}   ({:.3f} s vs {:.3f} s for {:.0f} MB; target <= 1.5)\n",
                       l["load_vs_raw"].get<double>(), l["load_seconds"].get<double>(),
                       l["raw_read_seconds"].get<double>(), l["weights_bytes"].get<double>() / 1e6);
    out << fmt::format("peak RSS, load + forward {:.0f} MB = {:.2f} x weights (target <= 1.2 x + 100 MB = {:.0f} MB)\n",
                       l["peak_rss_bytes"].get<double>() / 1e6, l["peak_rss_vs_weights"].get<double>(),
                       l["rss_target_bytes"].get<double>() / 1e6);
  }
  return out.str();
}

}  // namespace editlab
