#include "editlab/util/model_clock.h"

#include <atomic>

namespace editlab {
namespace {
std::atomic<int64_t> total_ns{0};
thread_local int depth = 0;
}  // namespace

double ModelClock::seconds() { return static_cast<double>(total_ns.load()) * 1e-9; }

ModelClock::Scope::Scope() : start_(std::chrono::steady_clock::now()), outer_(depth++ == 0) {}

ModelClock::Scope::~Scope() {
  --depth;
  if (!outer_) return;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_);
  total_ns += ns.count();
}

}  // namespace editlab
