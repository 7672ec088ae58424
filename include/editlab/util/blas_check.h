// Is libtorch's matmul fast? Debian's libtorch silently falls back to the reference BLAS
// (~6 GFLOP/s for a 1024^3 float32 matmul on the 2-core machines here, against ~95 with
// OpenBLAS). Measured, not guessed from library names.
#pragma once

#include <cstdint>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace editlab {

struct BlasCheck {
  double gflops = 0;
  int64_t size = 0;
  bool ok = true;  // false when far below what OpenBLAS gives
};

// Times a size^3 float32 matmul (best of a few runs, about 0.1-0.5 s in all).
BlasCheck check_blas(int64_t size = 1024, double min_ok_gflops = 20.0);

// Best-of-`repeats` GFLOP/s of an [m, k] x [k, n] float32 matmul.
double matmul_gflops(int64_t m, int64_t k, int64_t n, int repeats = 5);
// The same in another dtype (float32, float64, bfloat16, float16) and on a device (each timer
// read after the device has finished).
double matmul_gflops(int64_t m, int64_t k, int64_t n, int repeats, c10::ScalarType dtype,
                     c10::Device device = c10::kCPU);

}  // namespace editlab
