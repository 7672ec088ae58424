// editlab devices: what this editlab can compute on (its libtorch, CUDA devices and their memory).
#include "common.h"
#include "editlab/model/device_memory.h"
#include "editlab/util/compute_threads.h"

namespace editlab::cli {
namespace {

struct DevicesOptions {
  bool json = false;
};

void run_devices(const DevicesOptions& opt) {
  const auto d = compute_devices();
  if (opt.json) {
    nlohmann::json devices = nlohmann::json::array();
    for (const auto& c : d.cuda) {
      devices.push_back({{"device", fmt::format("cuda:{}", c.index)},
                         {"total_bytes", c.total_bytes >= 0 ? nlohmann::json(c.total_bytes) : nlohmann::json()},
                         {"free_bytes", c.free_bytes >= 0 ? nlohmann::json(c.free_bytes) : nlohmann::json()}});
    }
    print_json({{"torch_version", d.torch_version},
                {"cpu_threads", compute_threads()},
                {"cuda_built", d.cuda_built},
                {"cudnn", d.cudnn},
                {"cuda_devices", devices}});
    return;
  }
  fmt::print("libtorch     {}{}\n", d.torch_version, d.cuda_built ? " (with CUDA)" : " (CPU only)");
  fmt::print("cpu          {} thread(s) ({})\n", compute_threads(), compute_threads_layout());
  if (!d.cuda_built) {
    fmt::print("cuda         none: this libtorch has no CUDA (build against a CUDA libtorch: scripts/setup-cuda.sh)\n");
    return;
  }
  if (d.cuda.empty()) {
    fmt::print("cuda         no device visible (no GPU, no driver, or CUDA_VISIBLE_DEVICES hides them)\n");
    return;
  }
  for (const auto& c : d.cuda) {
    if (c.total_bytes >= 0) {
      fmt::print("cuda:{}       {:.1f} GiB, {:.1f} GiB free{}\n", c.index, c.total_bytes / 1073741824.0,
                 c.free_bytes / 1073741824.0, d.cudnn ? ", cuDNN" : "");
    } else {
      fmt::print("cuda:{}{}\n", c.index, d.cudnn ? "       cuDNN" : "");
    }
  }
}

}  // namespace

void setup_devices(CLI::App& app, const GlobalOptions&) {
  auto opt = std::make_shared<DevicesOptions>();
  auto* sub = app.add_subcommand("devices", "what this editlab can compute on: its libtorch, CUDA devices and memory");
  sub->footer("Exit status 0 in every case; with --json, cuda_devices is empty where none is visible (what "
              "scripts and the CUDA-labelled tests check before they run).");
  sub->add_flag("--json", opt->json, "machine-readable output");
  sub->callback([opt] { run_devices(*opt); });
}

}  // namespace editlab::cli
