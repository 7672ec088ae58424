// Progress of long work on stderr: a redrawn bar with rate and ETA on a terminal; in a log (not
// a terminal) one plain line at most every `log_interval` seconds, so batch logs stay readable.
#pragma once

#include <chrono>
#include <string>

namespace editlab {

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit, double log_interval = 10.0);
  // `done` of `total`; `extra` is appended (e.g. "52,310 tokens").
  void update(int64_t done, const std::string& extra = "");
  void finish(const std::string& extra = "");

 private:
  void draw(int64_t done, const std::string& extra, bool final);
  std::string label_, unit_;
  int64_t total_;
  double log_interval_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

std::string format_duration(double seconds);  // "1m23s", "2h05m", "4.2s"

}  // namespace editlab
