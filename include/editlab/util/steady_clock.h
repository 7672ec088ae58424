// Elapsed wall time for timings and progress: one definition for every command and bench.
#pragma once

#include <chrono>

namespace editlab {

// Seconds on the steady clock since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace editlab
