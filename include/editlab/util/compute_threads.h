// How many cores editlab computes on (the global --threads, an experiment's "threads").
//
// With OpenBLAS (Debian's libtorch), the N threads go to OpenBLAS, which runs the matrix products
// where nearly all the time goes, and libtorch's own element-wise kernels run on one thread.
// Giving libtorch's OpenMP pool N threads as well makes its spinning threads compete with
// OpenBLAS's for the same cores: measured on 2 cores (docs/performance.md), one ROME edit on the
// GPT-2-small shape took 16.0 s that way against 7.4 s, and the bench forward 2.74 s against
// 1.88 s. Without OpenBLAS (MKL, another BLAS), libtorch gets the N threads as before.
#pragma once

#include <string>

namespace editlab {

// n >= 1.
void set_compute_threads(int n);
// What set_compute_threads was last given (libtorch's thread count before any call).
int compute_threads();
// Who runs on those threads, for `editlab info`: "OpenBLAS 2, libtorch 1" or "libtorch 2".
std::string compute_threads_layout();

}  // namespace editlab
