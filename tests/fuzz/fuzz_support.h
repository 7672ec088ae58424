// Shared by the fuzz targets (tests/fuzz/*.cpp): scratch files for readers that only take a path,
// splitting one input into several files, and the checks every target makes.
//
// Error policy of every target: editlab::Error is the readers' way of rejecting an input and is
// caught; anything else that escapes (a std::out_of_range, a nlohmann type_error, bad_alloc)
// is left uncaught, so libFuzzer reports it as a crash: a reader must turn every bad input into
// an Error that names the file. A failed expectation aborts with a message (FUZZ_CHECK).
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace editlab::fuzz {

#define FUZZ_CHECK(condition)                                                                 \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

// A directory of this process's own (in /dev/shm when it exists: the readers mmap and fsync,
// which cost nothing on tmpfs), removed at exit. Paths only take in-memory bytes through it.
// libFuzzer leaves by _Exit after a crash (and in some modes), skipping atexit: the directories
// of processes that no longer exist are removed when the next one starts.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path base = std::filesystem::temp_directory_path();
    if (const char* tmp = std::getenv("EDITLAB_FUZZ_TMPDIR")) {
      base = tmp;
    } else if (std::filesystem::is_directory("/dev/shm") && ::access("/dev/shm", W_OK) == 0) {
      base = "/dev/shm";
    }
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(base, ec)) {
      const std::string name = entry.path().filename().string();
      if (!name.starts_with("editlab-fuzz-")) continue;
      const std::string pid = name.substr(13);
      if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
      if (::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH) {
        std::filesystem::remove_all(entry.path(), ec);
      }
    }
    auto path = base / ("editlab-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return path;
  }();
  return dir;
}

// Writes `bytes` to scratch_dir() / name (replacing it) and returns the path.
inline std::filesystem::path write_scratch(const std::string& name, std::string_view bytes) {
  const auto path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  FUZZ_CHECK(out.good());
  return path;
}

inline void remove_scratch(const std::string& name) {
  std::error_code ec;
  std::filesystem::remove(scratch_dir() / name, ec);
}

// One input as several files: the parts between lines "--8<--" ("\n--8<--\n"). The seed corpora
// and the dictionaries use the same separator.
inline constexpr std::string_view kSeparator = "\n--8<--\n";

inline std::vector<std::string_view> split_sections(std::string_view data, std::size_t max_sections) {
  std::vector<std::string_view> sections;
  while (sections.size() + 1 < max_sections) {
    const auto at = data.find(kSeparator);
    if (at == std::string_view::npos) break;
    sections.push_back(data.substr(0, at));
    data.remove_prefix(at + kSeparator.size());
  }
  sections.push_back(data);
  return sections;
}

// Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF), written here
// independently of the tokenizer's and PCRE2's checks so that the targets can compare them.
inline bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + need >= s.size()) return false;  // cut short
    for (std::size_t k = 1; k <= need; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return false;
    }
    i += need + 1;
  }
  return true;
}

}  // namespace editlab::fuzz
