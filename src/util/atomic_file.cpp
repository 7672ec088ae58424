// The atomic file writer (see atomic_file.h for the steps and the guarantees).
#include "editlab/util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <streambuf>
#include <string>
#include <utility>

#include "editlab/util/error.h"

namespace editlab {
namespace fs = std::filesystem;

namespace {

std::string errno_text(int error) { return std::strerror(error); }

// A random 6-character suffix (mkstemp's alphabet): splitmix64 over the time, the process id
// and a counter, so that threads and processes writing the same target never collide for long.
std::string random_suffix() {
  static std::atomic<uint64_t> counter{0};
  uint64_t z = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
               (static_cast<uint64_t>(::getpid()) << 40) ^ (0x9E3779B97F4A7C15ULL * (counter.fetch_add(1) + 1));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string suffix;
  for (int i = 0; i < 6; ++i, z /= 62) suffix += kAlphabet[z % 62];
  return suffix;
}

// The temporary file, owned until commit(): on any earlier exit it is closed and removed.
class TempFile {
 public:
  TempFile(const fs::path& target, const fs::path& dir) : target_(target) {
    const std::string stem = "." + target.filename().string() + ".tmp-";
    for (int attempt = 0; attempt < 100; ++attempt) {
      temp_ = dir / (stem + random_suffix());
      fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);  // mode as umask allows
      if (fd_ >= 0 || errno != EEXIST) break;
    }
    if (fd_ < 0) {
      fail("{}: cannot create a temporary file in {}: {}", target_.string(), dir.string(), errno_text(errno));
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temp_.c_str());
  }
  int fd() const { return fd_; }

  // fsync, close, rename over the target, then fsync the directory.
  void commit(const fs::path& dir) {
    if (::fsync(fd_) != 0) fail("{}: cannot write (fsync): {}", target_.string(), errno_text(errno));
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) fail("{}: cannot write (close): {}", target_.string(), errno_text(errno));
    if (::rename(temp_.c_str(), target_.c_str()) != 0) {
      fail("{}: cannot rename the finished file into place: {}", target_.string(), errno_text(errno));
    }
    committed_ = true;
    sync_directory(dir);
  }

 private:
  fs::path target_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// A buffered stream buffer on a file descriptor that keeps the errno of the first failed write
// (iostreams themselves only say "bad"). Writes larger than the buffer go straight to the file.
class FdBuf : public std::streambuf {
 public:
  explicit FdBuf(int fd) : fd_(fd) { setp(buffer_.data(), buffer_.data() + buffer_.size()); }
  int error() const { return error_; }

 protected:
  int_type overflow(int_type ch) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  std::streamsize xsputn(const char* data, std::streamsize n) override {
    if (error_ != 0) return 0;
    if (n <= epptr() - pptr()) {
      std::memcpy(pptr(), data, static_cast<std::size_t>(n));
      pbump(static_cast<int>(n));
      return n;
    }
    if (!drain() || !write_all(data, static_cast<std::size_t>(n))) return 0;  // large: no copy
    return n;
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  bool drain() {
    if (error_ != 0) return false;
    const auto size = static_cast<std::size_t>(pptr() - pbase());
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return write_all(buffer_.data(), size);
  }
  bool write_all(const char* data, std::size_t size) {
    while (size > 0) {
      const ssize_t written = ::write(fd_, data, size);
      if (written < 0 && errno == EINTR) continue;
      if (written < 0) {
        error_ = errno;
        return false;
      }
      data += written;
      size -= static_cast<std::size_t>(written);
    }
    return true;
  }

  int fd_;
  int error_ = 0;
  std::array<char, 1 << 16> buffer_{};
};

}  // namespace

void write_file_atomically(const fs::path& path, const std::function<void(std::ostream&)>& write, ParentDirs parents) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (parents == ParentDirs::create && path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail("{}: cannot create the directory {}: {}", path.string(), dir.string(), ec.message());
  }
  TempFile temp(path, dir);
  {
    FdBuf buffer(temp.fd());
    std::ostream out(&buffer);
    out.exceptions(std::ios::badbit);
    try {
      write(out);
      out.flush();
    } catch (...) {
      // A failed write, perhaps reported by the caller's code in its own words: say what failed.
      if (buffer.error() != 0) fail("{}: cannot write: {}", path.string(), errno_text(buffer.error()));
      throw;
    }
    if (buffer.error() != 0) fail("{}: cannot write: {}", path.string(), errno_text(buffer.error()));
  }
  temp.commit(dir);
}

void write_file_atomically(const fs::path& path, std::string_view contents, ParentDirs parents) {
  write_file_atomically(
      path, [&](std::ostream& out) { out.write(contents.data(), static_cast<std::streamsize>(contents.size())); },
      parents);
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);  // best effort: only the durability of a name is at stake
  ::close(fd);
}

fs::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') return fs::path(xdg) / "editlab";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return fs::path(home) / ".cache" / "editlab";
  return fs::temp_directory_path() / "editlab-cache";
}

void prepare_output_dir(const std::filesystem::path& dir, const std::string& setting) {
  const std::string what = setting.empty() ? dir.string() : setting + " " + dir.string();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    fail("{}: cannot create the output directory ({})", what, ec ? ec.message() : "a file of that name exists");
  }
  const auto probe = dir / ".editlab-write-test";
  try {
    write_file_atomically(probe, "", ParentDirs::must_exist);
  } catch (const Error& e) {
    fail("{}: the directory is not writable ({})", what, e.what());
  }
  std::filesystem::remove(probe, ec);
}

}  // namespace editlab
