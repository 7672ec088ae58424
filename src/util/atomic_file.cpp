#include "editlab/util/atomic_file.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "editlab/util/error.h"

namespace editlab {
namespace fs = std::filesystem;

void write_file_atomically(const fs::path& path, std::string_view contents) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("{}: cannot write (is the directory writable?)", path.string());
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      fail("{}: write failed (disk full?)", path.string());
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail("{}: cannot rename the finished file into place", path.string());
  }
}

fs::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') return fs::path(xdg) / "editlab";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return fs::path(home) / ".cache" / "editlab";
  return fs::temp_directory_path() / "editlab-cache";
}

}  // namespace editlab
