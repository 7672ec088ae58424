#include "editlab/util/compute_threads.h"

#include <dlfcn.h>

#include <atomic>

#include <fmt/format.h>
#include <torch/torch.h>

namespace editlab {
namespace {

std::atomic<int> g_threads{0};  // 0: never set

// OpenBLAS's own setter, when the BLAS libtorch loaded is OpenBLAS (looked up at run time, so
// that editlab links no BLAS itself).
using SetThreads = void (*)(int);
SetThreads openblas_setter() {
  static const auto setter = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  return setter;
}

}  // namespace

void set_compute_threads(int n) {
  n = std::max(1, n);
  g_threads = n;
  if (const SetThreads openblas = openblas_setter()) {
    openblas(n);
    torch::set_num_threads(1);
  } else {
    torch::set_num_threads(n);
  }
}

int compute_threads() {
  const int n = g_threads;
  return n > 0 ? n : torch::get_num_threads();
}

std::string compute_threads_layout() {
  if (openblas_setter() != nullptr && g_threads > 0) {
    return fmt::format("OpenBLAS {}, libtorch {}", compute_threads(), torch::get_num_threads());
  }
  return fmt::format("libtorch {}", torch::get_num_threads());
}

}  // namespace editlab
