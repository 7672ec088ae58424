// Wall time spent inside the model's forward and backward passes, summed over the process, so a
// run can say which share of its time went to the model (the rest is tokenisation, batching,
// bookkeeping). Scopes nest: time inside a nested scope counts once.
#pragma once

#include <chrono>
#include <cstdint>

namespace editlab {

class ModelClock {
 public:
  // Seconds counted so far (monotonic; take differences).
  static double seconds();

  class Scope {
   public:
    Scope();
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    std::chrono::steady_clock::time_point start_;
    bool outer_;
  };
};

}  // namespace editlab
