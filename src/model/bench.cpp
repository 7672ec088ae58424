#include "editlab/model/bench.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <torch/torch.h>

#include "editlab/model/model_dir.h"
#include "editlab/util/blas_check.h"
#include "editlab/util/error.h"

namespace editlab {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A /proc/self/status field in bytes (VmRSS, VmHWM).
double proc_status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) * 1024.0;
  }
  return 0;
}

void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// A byte-level tokenizer (256 tokens + <|endoftext|>): enough for load_model to accept the dir.
void write_byte_tokenizer(const fs::path& dir) {
  nlohmann::json vocab = nlohmann::json::object();
  int id = 0;
  auto add = [&](int byte) {
    // GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to 256 + n.
    static int next_unprintable = 0;
    const bool printable = (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || byte >= 174;
    const int code = printable ? byte : 256 + next_unprintable++;
    std::string utf8;
    if (code < 0x80) {
      utf8 = std::string(1, static_cast<char>(code));
    } else {
      utf8 = {static_cast<char>(0xC0 | (code >> 6)), static_cast<char>(0x80 | (code & 0x3F))};
    }
    vocab[utf8] = id++;
  };
  for (int b = 0; b < 256; ++b) add(b);
  vocab["<|endoftext|>"] = id;
  std::ofstream(dir / "vocab.json") << vocab.dump();
  std::ofstream(dir / "merges.txt") << "#version: 0.2\n";
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
  const double flops = gpt2_forward_flops(config.n_layer, config.n_embd, config.d_mlp(),
                                          config.vocab_size, s.batch, s.tokens);
  progress(fmt::format("forward: {:.3f} s for {}x{} tokens", best, s.batch, s.tokens));
  return {{"seconds", best}, {"gflops", flops / best / 1e9}, {"flops", flops}};
}

nlohmann::json bench_load(const BenchSettings& s, const std::function<void(const std::string&)>& progress) {
  const fs::path dir = s.work_dir / fmt::format("editlab-bench-{}", ::getpid());
  fs::create_directories(dir);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() { std::error_code ec; fs::remove_all(dir, ec); }
  } cleanup{dir};
  {
    torch::NoGradGuard no_grad;
    GPT2Config config;
    GPT2 model(config);
    model.init_random(0);
    write_byte_tokenizer(dir);
    save_model(model, config, dir, dir);
  }
  progress(fmt::format("load: wrote a GPT-2-small directory to {}", dir.string()));
  const auto file = dir / "model.safetensors";
  const double bytes = fs::file_size(file);

  double raw_best = 1e30, load_best = 1e30, peak = 0;
  for (int i = 0; i < s.repeats; ++i) {
    auto start = Clock::now();
    {
      std::ifstream in(file, std::ios::binary);
      std::vector<char> buffer(static_cast<size_t>(bytes));
      in.read(buffer.data(), buffer.size());
      if (!in) fail("{}: raw read failed", file.string());
    }
    raw_best = std::min(raw_best, seconds_since(start));

    reset_peak_rss();
    start = Clock::now();
    {
      auto loaded = load_model(dir);
      torch::NoGradGuard no_grad;
      double checksum = 0;  // touch every weight so the lazily mapped pages are really read
      for (auto& [name, p] : loaded.model->parameters_by_name()) checksum += p.sum().item<double>();
      if (std::isnan(checksum)) fail("bench: NaN in freshly written weights");
      load_best = std::min(load_best, seconds_since(start));
      peak = std::max(peak, proc_status_bytes("VmHWM"));
    }
  }
  return {{"weights_bytes", bytes},      {"raw_read_seconds", raw_best},
          {"load_seconds", load_best},   {"load_vs_raw", load_best / raw_best},
          {"peak_rss_bytes", peak},      {"peak_rss_vs_weights", peak / bytes},
          {"rss_target_bytes", 1.3 * bytes + 200e6}};
}

}  // namespace

double gpt2_forward_flops(int64_t n_layer, int64_t d_model, int64_t d_mlp, int64_t vocab,
                          int64_t batch, int64_t tokens) {
  const double n = static_cast<double>(batch) * tokens, c = d_model;
  const double per_layer = 2 * n * c * 3 * c              // c_attn
                           + 2 * 2 * batch * tokens * tokens * c  // q k^T and probs v
                           + 2 * n * c * c                  // attn.c_proj
                           + 2 * 2 * n * c * d_mlp;         // mlp.c_fc and mlp.c_proj
  return n_layer * per_layer + 2 * n * c * vocab;           // + LM head
}

nlohmann::json run_foundation_bench(const BenchSettings& s,
                                    const std::function<void(const std::string&)>& progress) {
  nlohmann::json report;
  report["threads"] = torch::get_num_threads();
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

std::string format_bench_report(const nlohmann::json& r) {
  std::ostringstream out;
  out << fmt::format("threads                  {}\n", r["threads"].get<int>());
  out << fmt::format("sgemm (MLP shape)        {:.1f} GFLOP/s\n", r["sgemm_gflops"].get<double>());
  out << fmt::format("forward, GPT-2 small     {:.1f} GFLOP/s ({:.3f} s for {}x{} tokens)\n",
                     r["forward"]["gflops"].get<double>(), r["forward"]["seconds"].get<double>(),
                     r["shape"]["batch"].get<int>(), r["shape"]["tokens"].get<int>());
  out << fmt::format("forward / sgemm          {:.2f}   (target >= 0.5)\n", r["forward_vs_sgemm"].get<double>());
  if (r.contains("load")) {
    const auto& l = r["load"];
    out << fmt::format("load to ready / raw read {:.2f}   ({:.3f} s vs {:.3f} s for {:.0f} MB; target <= 1.5)\n",
                       l["load_vs_raw"].get<double>(), l["load_seconds"].get<double>(),
                       l["raw_read_seconds"].get<double>(), l["weights_bytes"].get<double>() / 1e6);
    out << fmt::format("peak RSS                 {:.0f} MB = {:.2f} x weights (target <= 1.3 x + 200 MB = {:.0f} MB)\n",
                       l["peak_rss_bytes"].get<double>() / 1e6, l["peak_rss_vs_weights"].get<double>(),
                       l["rss_target_bytes"].get<double>() / 1e6);
  }
  return out.str();
}

}  // namespace editlab
