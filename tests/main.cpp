// The test binary's entry point: Catch2's session, after the compute threads are set as the CLI
// sets them. EDITLAB_THREADS=N gives the tests the layout of `editlab --threads N` (the CLI reads
// the same variable), so scripts/test-portability.sh can run the suite at 1 and 2 threads;
// without it libtorch and OpenBLAS keep their own defaults.
#define CATCH_CONFIG_RUNNER
#include <catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "editlab/util/compute_threads.h"

int main(int argc, char* argv[]) {
  if (const char* threads = std::getenv("EDITLAB_THREADS"); threads != nullptr && *threads != '\0') {
    const int n = std::atoi(threads);
    if (n < 1) {
      std::fprintf(stderr, "EDITLAB_THREADS=%s: expected a positive integer\n", threads);
      return 2;
    }
    editlab::set_compute_threads(n);
  }
  return Catch::Session().run(argc, argv);
}
