// The sequential loop's baseline file (see baseline_file.h for the layout).
#include "baseline_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "editlab/util/error.h"

namespace editlab::run_detail {
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

constexpr char kMagic[] = "editlab-baseline";  // 16 characters, no terminator written
constexpr char kComplete[] = "editlab-complete";
constexpr uint64_t kVersion = 1;
constexpr uint64_t kByteOrder = 0x0102030405060708ULL;
constexpr uint64_t kHeaderSize = 32;   // magic, version, byte-order marker
constexpr uint64_t kTrailerSize = 48;  // index offset, index size, hash, magic
constexpr char kFormat[] = "editlab.sequential-baseline/1";

std::string errno_text() { return std::strerror(errno); }

XXH3_state_t* state_of(void* p) { return static_cast<XXH3_state_t*>(p); }

// Reads exactly `size` bytes at `offset`; false when the file ends first.
bool pread_all(int fd, void* data, size_t size, uint64_t offset, const fs::path& path) {
  auto* out = static_cast<char*>(data);
  while (size > 0) {
    const auto got = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail("{}: read failed at byte {}: {}", path.string(), offset, errno_text());
    if (got == 0) return false;
    out += got;
    size -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

uint64_t read_u64(int fd, uint64_t offset, const fs::path& path) {
  uint64_t v = 0;
  if (!pread_all(fd, &v, sizeof v, offset, path)) throw Error("cut short");
  return v;
}

}  // namespace

BaselineFile::BaselineFile(fs::path path, int fd) : path_(std::move(path)), fd_(fd) {}

BaselineFile::BaselineFile(BaselineFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      end_(other.end_),
      hash_(std::exchange(other.hash_, nullptr)),
      key_(std::move(other.key_)),
      records_(std::move(other.records_)) {}

BaselineFile::~BaselineFile() {
  if (fd_ >= 0) ::close(fd_);
  if (hash_ != nullptr) XXH3_freeState(state_of(hash_));
}

BaselineFile BaselineFile::create(const fs::path& path, const std::string& key) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) fail("{}: cannot create: {}", path.string(), errno_text());
  BaselineFile f(path, fd);
  f.key_ = key;
  f.hash_ = XXH3_createState();
  XXH3_128bits_reset(state_of(f.hash_));
  f.write_all(kMagic, 16);
  f.write_all(&kVersion, sizeof kVersion);
  f.write_all(&kByteOrder, sizeof kByteOrder);
  return f;
}

void BaselineFile::write_all(const void* data, size_t size) {
  if (hash_ == nullptr) fail("{}: the baseline file is complete; nothing more is written to it", path_.string());
  XXH3_128bits_update(state_of(hash_), data, size);
  const auto* in = static_cast<const char*>(data);
  while (size > 0) {
    const auto put = ::pwrite(fd_, in, size, static_cast<off_t>(end_));
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) fail("{}: cannot write: {}", path_.string(), errno_text());
    in += put;
    size -= static_cast<size_t>(put);
    end_ += static_cast<uint64_t>(put);
  }
}

SpilledRows BaselineFile::append(const torch::Tensor& logprobs) {
  SpilledRows where{end_, 0, 0};
  if (!logprobs.defined() || logprobs.numel() == 0) return where;
  if (logprobs.dim() != 2 || logprobs.scalar_type() != torch::kDouble || !logprobs.device().is_cpu())
    fail("{}: expected [K, V] float64 CPU distributions", path_.string());
  const auto t = logprobs.contiguous();
  where.rows = t.size(0);
  where.cols = t.size(1);
  write_all(t.data_ptr<double>(), static_cast<size_t>(t.numel()) * sizeof(double));
  return where;
}

void BaselineFile::finish(size_t count, const std::function<Json(size_t)>& record) {
  const uint64_t index_offset = end_;
  const uint64_t docs = count + 1;
  write_all(&docs, sizeof docs);
  auto write_doc = [&](const Json& doc) {
    const auto bytes = Json::to_cbor(doc);
    const uint64_t size = bytes.size();
    write_all(&size, sizeof size);
    write_all(bytes.data(), bytes.size());
  };
  write_doc({{"format", kFormat}, {"key", key_}});
  for (size_t i = 0; i < count; ++i) write_doc(record(i));
  const uint64_t index_size = end_ - index_offset;
  XXH128_canonical_t digest;
  XXH128_canonicalFromHash(&digest, XXH3_128bits_digest(state_of(hash_)));
  write_all(&index_offset, sizeof index_offset);
  write_all(&index_size, sizeof index_size);
  write_all(digest.digest, sizeof digest.digest);
  write_all(kComplete, 16);
  XXH3_freeState(state_of(hash_));
  hash_ = nullptr;
  if (::fsync(fd_) != 0) fail("{}: cannot write (fsync): {}", path_.string(), errno_text());
}

// Checks in the order of their cost: trailer and header, then the key, then the hash of the
// whole file, then every record's entry.
std::optional<BaselineFile> BaselineFile::open(const fs::path& path, const std::string& key, std::string& why) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    why = "there is none";
    return std::nullopt;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    why = "cannot open it: " + errno_text();
    return std::nullopt;
  }
  BaselineFile f(path, fd);
  try {
    struct stat st {};
    if (::fstat(fd, &st) != 0) fail("cannot stat it: {}", errno_text());
    const auto size = static_cast<uint64_t>(st.st_size);
    std::array<char, kTrailerSize> trailer{};
    if (size < kHeaderSize + kTrailerSize || !pread_all(fd, trailer.data(), kTrailerSize, size - kTrailerSize, path) ||
        std::memcmp(trailer.data() + 32, kComplete, 16) != 0) {
      fail("it is incomplete (the run stopped before its baseline was)");
    }
    uint64_t index_offset = 0, index_size = 0;
    std::memcpy(&index_offset, trailer.data(), 8);
    std::memcpy(&index_size, trailer.data() + 8, 8);
    if (index_offset < kHeaderSize || index_size > size || index_offset + index_size + kTrailerSize != size)
      fail("its size does not match its trailer ({} bytes)", size);
    std::array<char, kHeaderSize> header{};
    uint64_t version = 0, order = 0;
    pread_all(fd, header.data(), kHeaderSize, 0, path);
    std::memcpy(&version, header.data() + 16, 8);
    std::memcpy(&order, header.data() + 24, 8);
    if (std::memcmp(header.data(), kMagic, 16) != 0 || version != kVersion || order != kByteOrder)
      fail("it is not a baseline file of this editlab version and byte order");

    uint64_t at = index_offset;
    const uint64_t index_end = index_offset + index_size;
    auto read_doc = [&]() {
      const uint64_t n = read_u64(fd, at, path);
      if (n > index_end - at - 8) fail("its index is cut short");
      std::vector<uint8_t> bytes(n);
      if (!pread_all(fd, bytes.data(), n, at + 8, path)) fail("its index is cut short");
      at += 8 + n;
      return Json::from_cbor(bytes);
    };
    const uint64_t docs = read_u64(fd, at, path);
    at += 8;
    if (docs == 0 || docs > index_size) fail("its index is malformed");
    const auto head = read_doc();
    if (head.value("format", "") != kFormat) fail("its index is not {}", kFormat);
    if (head.value("key", "") != key)
      fail("it was written for another run (the config, model, dataset, selection, record_batch or device differ)");

    XXH3_state_t* state = XXH3_createState();
    XXH3_128bits_reset(state);
    std::vector<char> buffer(1 << 20);
    bool read_ok = true;
    for (uint64_t off = 0; off < index_end && read_ok; off += buffer.size()) {
      const auto n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), index_end - off));
      read_ok = pread_all(fd, buffer.data(), n, off, path);
      XXH3_128bits_update(state, buffer.data(), n);
    }
    XXH128_canonical_t digest;
    XXH128_canonicalFromHash(&digest, XXH3_128bits_digest(state));
    XXH3_freeState(state);
    if (!read_ok || std::memcmp(digest.digest, trailer.data() + 16, 16) != 0)
      fail("its contents do not match their hash (the file is damaged)");

    for (uint64_t d = 1; d < docs; ++d) {
      auto doc = read_doc();
      if (doc.contains("rows")) {
        const auto w = rows_of(doc);
        if (w.rows < 0 || w.cols < 0 || w.offset < kHeaderSize ||
            w.offset + static_cast<uint64_t>(w.rows * w.cols) * sizeof(double) > index_offset)
          fail("record {}'s rows lie outside its data", doc.value("index", -1));
      }
      f.records_.push_back(std::move(doc));
    }
    if (at != index_end) fail("its index is malformed");
  } catch (const std::exception& e) {
    why = e.what();
    return std::nullopt;
  }
  return f;
}

torch::Tensor BaselineFile::read(const SpilledRows& where) const {
  if (where.rows == 0) return {};
  auto t = torch::empty({where.rows, where.cols}, torch::kDouble);
  const size_t bytes = static_cast<size_t>(t.numel()) * sizeof(double);
  if (!pread_all(fd_, t.data_ptr<double>(), bytes, where.offset, path_))
    fail("{}: cut short at byte {} (was it changed during the run?)", path_.string(), where.offset);
  return t;
}

Json BaselineFile::rows_json(const SpilledRows& where) {
  return {{"offset", where.offset}, {"rows", where.rows}, {"cols", where.cols}};
}

SpilledRows BaselineFile::rows_of(const Json& entry) {
  const auto& r = entry.at("rows");
  return {r.at("offset").get<uint64_t>(), r.at("rows").get<int64_t>(), r.at("cols").get<int64_t>()};
}

void trim_baseline(Observation& o) {
  o.next_logprobs = torch::Tensor();
  for (auto& s : o.scores) {
    std::vector<int64_t>().swap(s.prefix_ids);
    std::vector<int64_t>().swap(s.target_ids);
    std::vector<double>().swap(s.token_logprobs);
  }
  o.scores.shrink_to_fit();
}

Json baseline_json(const Observation& o) {
  Json nll = Json::array(), greedy = Json::array();
  for (const auto& s : o.scores) {
    nll.push_back(s.nll);
    greedy.push_back(s.greedy_correct);
  }
  return {{"nll", std::move(nll)},
          {"greedy_correct", std::move(greedy)},
          {"generations", o.generations},
          {"samples", o.samples},
          {"benchmark_texts", o.benchmark_texts}};
}

Observation baseline_of(const Json& j) {
  Observation o;
  const auto& nll = j.at("nll");
  const auto& greedy = j.at("greedy_correct");
  if (nll.size() != greedy.size()) fail("baseline entry: {} nll values, {} greedy flags", nll.size(), greedy.size());
  o.scores.resize(nll.size());
  for (size_t i = 0; i < nll.size(); ++i) {
    o.scores[i].nll = nll[i].get<double>();
    o.scores[i].greedy_correct = greedy[i].get<bool>();
  }
  o.generations = j.at("generations").get<std::vector<std::string>>();
  o.samples = j.at("samples").get<std::vector<std::string>>();
  o.benchmark_texts = j.at("benchmark_texts").get<std::vector<std::vector<std::string>>>();
  return o;
}

}  // namespace editlab::run_detail
