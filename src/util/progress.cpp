#include "editlab/util/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "editlab/util/steady_clock.h"

namespace editlab {

std::string format_duration(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return fmt::format("{}h{:02}m", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
}

Progress::Progress(std::string label, int64_t total, std::string unit, double log_interval)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      log_interval_(log_interval),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void Progress::update(int64_t done, const std::string& extra) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (since < (tty_ ? 0.2 : log_interval_)) return;
  last_ = now;
  draw(done, extra, false);
}

void Progress::finish(const std::string& extra) { draw(total_, extra, true); }

void Progress::draw(int64_t done, const std::string& extra, bool final) {
  const double elapsed = seconds_since(start_);
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const double fraction = total_ > 0 ? static_cast<double>(done) / total_ : 1.0;
  std::string eta = final ? "done in " + format_duration(elapsed)
                          : (rate > 0 ? "ETA " + format_duration((total_ - done) / rate) : "ETA ?");
  std::string line = fmt::format("{} {}/{} {} ({:.0f}%), {:.1f} {}/s, {}{}", label_, done, total_, unit_,
                                 100 * fraction, rate, unit_, eta, extra.empty() ? "" : ", " + extra);
  if (tty_) {
    const int width = 24, filled = static_cast<int>(fraction * width);
    fmt::print(stderr, "\r[{}{}] {}\x1b[K{}", std::string(filled, '='), std::string(width - filled, ' '), line,
               final ? "\n" : "");
  } else {
    fmt::print(stderr, "{}\n", line);
  }
  std::fflush(stderr);
}

}  // namespace editlab
