#include "editlab/util/blas_check.h"

#include <chrono>

#include <torch/torch.h>

#include "editlab/model/device_memory.h"
#include "editlab/util/steady_clock.h"

namespace editlab {

double matmul_gflops(int64_t m, int64_t k, int64_t n, int repeats) {
  return matmul_gflops(m, k, n, repeats, torch::kFloat32);
}

double matmul_gflops(int64_t m, int64_t k, int64_t n, int repeats, c10::ScalarType dtype, c10::Device device) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1234);
  auto a = torch::randn({m, k}, gen).to(device, dtype);
  auto b = torch::randn({k, n}, gen).to(device, dtype);
  auto c = torch::matmul(a, b);  // warm-up (thread pool, page faults, the GPU's kernel choice)
  synchronize_device(device);
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    auto start = std::chrono::steady_clock::now();
    c = torch::matmul(a, b);
    synchronize_device(device);
    best = std::min(best, seconds_since(start));
  }
  return 2.0 * m * k * n / best / 1e9;
}

BlasCheck check_blas(int64_t size, double min_ok_gflops) {
  BlasCheck check;
  check.size = size;
  check.gflops = matmul_gflops(size, size, size, 3);
  check.ok = check.gflops >= min_ok_gflops;
  return check;
}

}  // namespace editlab
