// Shared by the tests: where the fixtures are, temporary directories, running the real executable.
#pragma once

#include <filesystem>
#include <string>

#ifndef EDITLAB_SOURCE_DIR
#define EDITLAB_SOURCE_DIR "."
#endif
#ifndef EDITLAB_EXECUTABLE
#define EDITLAB_EXECUTABLE "editlab"
#endif

namespace editlab::test {

inline std::filesystem::path source_dir() { return EDITLAB_SOURCE_DIR; }
inline std::filesystem::path fixture_model_dir() { return source_dir() / "tests/fixtures/tiny-gpt2"; }

// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs the built editlab executable with `args` (a shell-quoted string), no stdin.
CliResult run_cli(const std::string& args);

// Single-quotes a string for /bin/sh.
std::string shell_quote(const std::string& s);

}  // namespace editlab::test
