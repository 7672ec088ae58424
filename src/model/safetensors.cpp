// Safetensors reading (mmap + validation of the untrusted header), sharded checkpoints and
// atomic writing. The format and the policies (holes, alignment, copy-on-write) are described
// in include/editlab/model/safetensors.h.
#include "editlab/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "editlab/util/atomic_file.h"
#include "editlab/util/error.h"
#include "editlab/util/json_file.h"

namespace editlab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The reference implementation refuses larger headers too (safetensors' MAX_HEADER_SIZE).
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
constexpr std::size_t kLengthPrefixBytes = 8;
constexpr std::string_view kMetadataKey = "__metadata__";

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::size_t size;
};
constexpr std::array<DTypeInfo, 10> kDTypes{{
    {DType::F64, "F64", 8},
    {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8},
    {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},
    {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
}};

const DTypeInfo& info(DType dtype) {
  for (const auto& entry : kDTypes) {
    if (entry.dtype == dtype) return entry;
  }
  fail("invalid DType value {}", static_cast<int>(dtype));
}

std::string errno_text() { return std::strerror(errno); }

// A JSON value shown in an error message, cut short: headers are untrusted and may be huge.
std::string brief(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

// Parses JSON, failing on a key repeated within one object: nlohmann keeps the last one
// silently, which would hide a tensor listed twice. `top_level_noun` names what the top-level
// keys are ("tensor" in a safetensors header).
json parse_json_strict(const char* begin, const char* end, const std::string& file, std::string_view top_level_noun) {
  struct Frame {
    std::string parent_key;  // the key this object sits under ("" at the top level)
    std::string last_key;
    std::set<std::string> keys;
  };
  std::vector<Frame> frames;
  auto check_keys = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      frames.push_back({frames.empty() ? std::string() : frames.back().last_key, {}, {}});
    } else if (event == json::parse_event_t::object_end) {
      frames.pop_back();
    } else if (event == json::parse_event_t::key) {
      Frame& frame = frames.back();
      frame.last_key = parsed.get<std::string>();
      if (!frame.keys.insert(frame.last_key).second) {
        if (frames.size() == 1) fail("{}: {} '{}' appears twice", file, top_level_noun, frame.last_key);
        fail("{}: key '{}' appears twice in '{}'", file, frame.last_key, frame.parent_key);
      }
    }
    return true;
  };
  check_json_limits(std::string_view(begin, static_cast<std::size_t>(end - begin)), file);  // depth, string size
  try {
    return json::parse(begin, end, check_keys);
  } catch (const json::exception& e) {
    fail("{}: invalid JSON: {}", file, e.what());
  }
}

// ---- header validation ----

struct ParsedEntry {
  TensorView view;
  std::uint64_t begin;
  std::uint64_t end;
};

std::vector<int64_t> parse_shape(const std::string& where, const json& shape) {
  if (!shape.is_array()) {
    fail("{}: 'shape' must be an array of non-negative integers, found {}", where, brief(shape));
  }
  std::vector<int64_t> dims;
  for (const json& dim : shape) {
    if (dim.is_number_integer() && !dim.is_number_unsigned()) {
      fail("{}: negative dimension {} in shape {}", where, dim.get<int64_t>(), brief(shape));
    }
    if (!dim.is_number_unsigned() || dim.get<std::uint64_t>() > std::numeric_limits<int64_t>::max()) {
      fail("{}: 'shape' must be an array of non-negative integers, found {}", where, brief(shape));
    }
    dims.push_back(dim.get<int64_t>());
  }
  return dims;
}

std::pair<std::uint64_t, std::uint64_t> parse_offsets(const std::string& where, const json& offsets,
                                                      std::uint64_t data_size) {
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    fail("{}: 'data_offsets' must be [begin, end] with non-negative integers, found {}", where, brief(offsets));
  }
  const auto begin = offsets[0].get<std::uint64_t>();
  const auto end = offsets[1].get<std::uint64_t>();
  if (begin > end) fail("{}: data_offsets [{}, {}) begin after they end", where, begin, end);
  if (end > data_size) {
    fail("{}: data_offsets [{}, {}) end beyond the data section of {} bytes (file truncated?)", where, begin, end,
         data_size);
  }
  return {begin, end};
}

// Elements x dtype size, or nullopt on overflow (0 whenever a dimension is 0).
std::optional<std::uint64_t> byte_size(const std::vector<int64_t>& shape, DType dtype) {
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  std::uint64_t bytes = dtype_size(dtype);
  for (const int64_t dim : shape) {
    if (__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(dim), &bytes)) return std::nullopt;
  }
  return bytes;
}

ParsedEntry parse_entry(const std::string& file, const std::string& name, const json& entry, std::byte* data_section,
                        std::uint64_t data_size) {
  const std::string where = fmt::format("{}: tensor '{}'", file, name);
  if (!entry.is_object()) {
    fail("{}: expected an object with dtype, shape and data_offsets, found {}", where, brief(entry));
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(key)) fail("{}: missing '{}' (found {})", where, key, brief(entry));
  }
  const json& dtype_json = entry.at("dtype");
  if (!dtype_json.is_string()) fail("{}: 'dtype' must be a string, found {}", where, brief(dtype_json));
  const auto dtype = parse_dtype(dtype_json.get<std::string>());
  if (!dtype) {
    fail("{}: unknown dtype '{}' (editlab reads F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)", where,
         dtype_json.get<std::string>());
  }
  std::vector<int64_t> shape = parse_shape(where, entry.at("shape"));
  const auto [begin, end] = parse_offsets(where, entry.at("data_offsets"), data_size);
  const auto expected = byte_size(shape, *dtype);
  if (!expected || *expected != end - begin) {
    fail("{}: shape [{}] of {} needs {} bytes but data_offsets [{}, {}) hold {}", where, fmt::join(shape, ", "),
         dtype_name(*dtype), expected ? std::to_string(*expected) : std::string("more than 2^64"), begin, end,
         end - begin);
  }
  // A tensor with a 0 dimension holds no bytes, so the check above lets [0, 2^40, 2^40] through.
  // Its dimensions must still multiply (a 0 counted as 1, as strides count it) within int64:
  // numel() and a tensor's strides are int64 products of them. (Any other tensor's element
  // count is at most its byte size, which is within the file.)
  int64_t extent = 1;
  for (const int64_t dim : shape) {
    if (__builtin_mul_overflow(extent, std::max<int64_t>(dim, 1), &extent)) {
      fail("{}: shape [{}] is too large: its dimensions multiply past 2^63", where, fmt::join(shape, ", "));
    }
  }
  TensorView view{name, *dtype, std::move(shape), data_section + begin, end - begin};
  return {std::move(view), begin, end};
}

std::map<std::string, std::string> parse_metadata(const std::string& file, const json& metadata) {
  if (!metadata.is_object()) {
    fail("{}: '__metadata__' must be an object of strings, found {}", file, brief(metadata));
  }
  std::map<std::string, std::string> result;
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string()) {
      fail("{}: '__metadata__' must map strings to strings, but '{}' is {}", file, key, brief(value));
    }
    result.emplace(key, value.get<std::string>());
  }
  return result;
}

// Sorts by offset and checks that the tensors tile [0, data_size) exactly (see the holes policy).
void check_tiling(const std::string& file, std::vector<ParsedEntry>& entries, std::uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const ParsedEntry& a, const ParsedEntry& b) {
    return std::tie(a.begin, a.end, a.view.name) < std::tie(b.begin, b.end, b.view.name);
  });
  std::uint64_t cursor = 0;
  const ParsedEntry* previous = nullptr;
  for (const ParsedEntry& entry : entries) {
    if (entry.begin < cursor) {
      fail("{}: tensor '{}' bytes [{}, {}) overlap tensor '{}' bytes [{}, {})", file, entry.view.name, entry.begin,
           entry.end, previous->view.name, previous->begin, previous->end);
    }
    if (entry.begin > cursor) {
      fail(
          "{}: {} unused bytes before tensor '{}' (data_offsets [{}, {})); the tensors must fill "
          "the data section with no gaps, as the reference safetensors requires",
          file, entry.begin - cursor, entry.view.name, entry.begin, entry.end);
    }
    cursor = entry.end;
    previous = &entry;
  }
  if (cursor != data_size) {
    fail(
        "{}: the data section is {} bytes but the tensors end at byte {}: {} trailing bytes "
        "(a damaged header, or data appended to the file)",
        file, data_size, cursor, data_size - cursor);
  }
}

}  // namespace

// ---- dtypes and views ----

std::size_t dtype_size(DType dtype) { return info(dtype).size; }
std::string_view dtype_name(DType dtype) { return info(dtype).name; }

std::optional<DType> parse_dtype(std::string_view name) {
  for (const auto& entry : kDTypes) {
    if (entry.name == name) return entry.dtype;
  }
  return std::nullopt;
}

int64_t TensorView::numel() const {
  int64_t count = 1;
  for (const int64_t dim : shape) count *= dim;
  return count;
}

// ---- the mapping ----

namespace detail {

MappedFile MappedFile::open(const fs::path& path) {
  MappedFile mapped;
  mapped.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (mapped.fd_ < 0) fail("{}: cannot open: {}", path.string(), errno_text());
  struct stat st {};
  if (::fstat(mapped.fd_, &st) != 0) fail("{}: cannot stat: {}", path.string(), errno_text());
  if (!S_ISREG(st.st_mode)) fail("{}: not a regular file", path.string());
  if (st.st_size < static_cast<off_t>(kLengthPrefixBytes)) {
    fail(
        "{}: file is {} bytes; a safetensors file starts with an 8-byte header length "
        "(empty or truncated file?)",
        path.string(), st.st_size);
  }
  mapped.size_ = static_cast<std::size_t>(st.st_size);
  void* address = ::mmap(nullptr, mapped.size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, mapped.fd_, 0);
  if (address == MAP_FAILED) fail("{}: cannot mmap {} bytes: {}", path.string(), mapped.size_, errno_text());
  mapped.data_ = static_cast<std::byte*>(address);
  return mapped;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace detail

// ---- one file ----

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const fs::path& path) {
  return std::shared_ptr<SafetensorsFile>(new SafetensorsFile(path, detail::MappedFile::open(path)));
}

SafetensorsFile::SafetensorsFile(fs::path path, detail::MappedFile map) : path_(std::move(path)), map_(std::move(map)) {
  const std::string file = path_.string();
  std::uint64_t header_size = 0;
  for (std::size_t i = 0; i < kLengthPrefixBytes; ++i) {
    header_size |= static_cast<std::uint64_t>(map_.data()[i]) << (8 * i);  // little-endian
  }
  const std::uint64_t after_prefix = map_.size() - kLengthPrefixBytes;
  if (header_size > after_prefix) {
    fail(
        "{}: header length {} is larger than the {} bytes that follow it (truncated, or not a "
        "safetensors file)",
        file, header_size, after_prefix);
  }
  if (header_size > kMaxHeaderBytes) {
    fail("{}: header length {} is over the {} byte limit", file, header_size, kMaxHeaderBytes);
  }
  header_size_ = static_cast<std::size_t>(header_size);
  const char* header = reinterpret_cast<const char*>(map_.data() + kLengthPrefixBytes);
  const json root = parse_json_strict(header, header + header_size_, file, "tensor");
  if (!root.is_object()) fail("{}: the header must be a JSON object, found {}", file, brief(root));

  std::byte* data_section = map_.data() + kLengthPrefixBytes + header_size_;
  const std::uint64_t data_size = after_prefix - header_size;
  std::vector<ParsedEntry> entries;
  for (const auto& [key, value] : root.items()) {
    if (key == kMetadataKey) {
      metadata_ = parse_metadata(file, value);
    } else {
      entries.push_back(parse_entry(file, key, value, data_section, data_size));
    }
  }
  check_tiling(file, entries, data_size);
  tensors_.reserve(entries.size());
  for (ParsedEntry& entry : entries) {
    by_name_.emplace(entry.view.name, tensors_.size());
    tensors_.push_back(std::move(entry.view));
  }
}

void SafetensorsFile::release_pages(const TensorView& view) const {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(view.data);
  const std::uintptr_t first = (begin + page - 1) / page * page, last = (begin + view.nbytes) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

const TensorView* SafetensorsFile::find(std::string_view name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::read_disk_bytes(const std::function<void(std::span<const std::byte>)>& consume) const {
  std::vector<std::byte> buffer(std::size_t{1} << 20);
  std::size_t offset = 0;
  while (offset < map_.size()) {
    const std::size_t want = std::min(buffer.size(), map_.size() - offset);
    const ssize_t got = ::pread(map_.fd(), buffer.data(), want, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail("{}: read failed at byte {}: {}", path_.string(), offset, errno_text());
    if (got == 0) fail("{}: file shrank to {} bytes while open (was {})", path_.string(), offset, map_.size());
    consume(std::span<const std::byte>(buffer.data(), static_cast<std::size_t>(got)));
    offset += static_cast<std::size_t>(got);
  }
}

// ---- checkpoints ----

namespace {

constexpr std::string_view kSingleFile = "model.safetensors";
constexpr std::string_view kIndexFile = "model.safetensors.index.json";

// The index's weight_map as tensor name -> shard file name, checked for shape and for shard
// names that would leave the model directory.
std::map<std::string, std::string> read_weight_map(const fs::path& index_path) {
  const std::string file = index_path.string();
  std::ifstream in(index_path, std::ios::binary);
  if (!in) fail("{}: cannot open: {}", file, errno_text());
  std::ostringstream text;
  text << in.rdbuf();
  const std::string content = text.str();
  const json root = parse_json_strict(content.data(), content.data() + content.size(), file, "key");
  if (!root.is_object() || !root.contains("weight_map") || !root.at("weight_map").is_object()) {
    fail("{}: expected a JSON object with a \"weight_map\" object {{tensor name: shard file}}", file);
  }
  std::map<std::string, std::string> weight_map;
  for (const auto& [name, shard] : root.at("weight_map").items()) {
    if (!shard.is_string()) {
      fail("{}: weight_map entry for tensor '{}' must be a shard file name, found {}", file, name, brief(shard));
    }
    const std::string shard_name = shard.get<std::string>();
    if (shard_name.empty() || shard_name == "." || shard_name == ".." ||
        fs::path(shard_name).filename().string() != shard_name) {
      fail(
          "{}: tensor '{}' maps to shard '{}', which is not a plain file name in the model "
          "directory",
          file, name, shard_name);
    }
    weight_map.emplace(name, shard_name);
  }
  if (weight_map.empty()) fail("{}: the weight_map is empty", file);
  return weight_map;
}

}  // namespace

Checkpoint Checkpoint::open_dir(const fs::path& dir) {
  if (!fs::is_directory(dir)) fail("{}: not a directory (expected a model directory)", dir.string());
  if (fs::exists(dir / kIndexFile)) return open_index(dir / kIndexFile);
  if (fs::exists(dir / kSingleFile)) return open_file(dir / kSingleFile);
  fail("{}: no weights: expected {} or {} (sharded) in this directory", dir.string(), kSingleFile, kIndexFile);
}

Checkpoint Checkpoint::open_file(const fs::path& file) {
  Checkpoint checkpoint;
  checkpoint.add_file(SafetensorsFile::open(file), file.string());
  return checkpoint;
}

void Checkpoint::add_file(std::shared_ptr<SafetensorsFile> file, const std::string& index) {
  const std::size_t file_index = files_.size();
  files_.push_back(std::move(file));
  const SafetensorsFile& added = *files_.back();
  for (const TensorView& view : added.tensors()) {
    const auto [it, inserted] = by_name_.try_emplace(view.name, Entry{file_index, &view});
    if (!inserted) {
      fail("{}: tensor '{}' is in two shards: {} and {}", index, view.name,
           files_[it->second.file_index]->path().filename().string(), added.path().filename().string());
    }
  }
}

Checkpoint Checkpoint::open_index(const fs::path& index_path) {
  const std::string index = index_path.string();
  const std::map<std::string, std::string> weight_map = read_weight_map(index_path);
  std::map<std::string, std::string> a_tensor_of_shard;  // shard -> one tensor, for messages
  for (const auto& [name, shard] : weight_map) a_tensor_of_shard.try_emplace(shard, name);

  Checkpoint checkpoint;
  const fs::path dir = index_path.parent_path();
  for (const auto& [shard, tensor] : a_tensor_of_shard) {  // sorted by file name: shard order
    if (!fs::exists(dir / shard)) {
      fail("{}: tensor '{}' is mapped to shard '{}', which does not exist in {}", index, tensor, shard, dir.string());
    }
    checkpoint.add_file(SafetensorsFile::open(dir / shard), index);  // Error if in two shards
  }
  for (const auto& [name, entry] : checkpoint.by_name_) {
    const std::string shard = checkpoint.files_[entry.file_index]->path().filename().string();
    const auto listed = weight_map.find(name);
    if (listed == weight_map.end()) {
      fail("{}: shard '{}' holds tensor '{}', which the weight_map does not list", index, shard, name);
    }
    if (listed->second != shard) {
      fail("{}: the weight_map puts tensor '{}' in shard '{}', but it is in shard '{}'", index, name, listed->second,
           shard);
    }
  }
  for (const auto& [name, shard] : weight_map) {
    if (!checkpoint.by_name_.contains(name)) {
      fail("{}: tensor '{}' is mapped to shard '{}', which does not hold it", index, name, shard);
    }
  }
  return checkpoint;
}

std::vector<const TensorView*> Checkpoint::tensors() const {
  std::vector<const TensorView*> all;
  for (const auto& file : files_) {
    for (const TensorView& view : file->tensors()) all.push_back(&view);
  }
  return all;
}

const TensorView* Checkpoint::find(std::string_view name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second.view;
}

std::shared_ptr<SafetensorsFile> Checkpoint::file_of(std::string_view name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : files_[it->second.file_index];
}

std::string Checkpoint::fingerprint() const {
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), &XXH3_freeState);
  if (!state || XXH3_128bits_reset(state.get()) != XXH_OK) fail("fingerprint: cannot set up XXH3");
  for (const auto& file : files_) {
    file->read_disk_bytes(
        [&](std::span<const std::byte> chunk) { XXH3_128bits_update(state.get(), chunk.data(), chunk.size()); });
  }
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state.get()));
  std::string hex = "xxh3-128:";
  for (const unsigned char byte : canonical.digest) hex += fmt::format("{:02x}", byte);
  return hex;
}

std::uint64_t Checkpoint::total_bytes() const {
  std::uint64_t total = 0;
  for (const auto& file : files_) {
    for (const TensorView& view : file->tensors()) total += view.nbytes;
  }
  return total;
}

// ---- writing ----

namespace {

// The header JSON, as the reference writes it: compact, "__metadata__" first, tensors in
// layout order, padded with spaces to a multiple of 8 so the data section starts aligned.
std::string build_header(const std::string& file, std::span<const TensorToWrite> tensors,
                         const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  std::set<std::string_view> names;
  std::uint64_t offset = 0;
  for (const TensorToWrite& tensor : tensors) {
    const std::string where = fmt::format("{}: tensor '{}'", file, tensor.name);
    if (tensor.name.empty() || tensor.name == kMetadataKey) fail("{}: invalid tensor name", where);
    if (!names.insert(tensor.name).second) fail("{}: name given twice", where);
    for (const int64_t dim : tensor.shape) {
      if (dim < 0) fail("{}: negative dimension in shape [{}]", where, fmt::join(tensor.shape, ", "));
    }
    const auto expected = byte_size(tensor.shape, tensor.dtype);
    if (!expected || *expected != tensor.nbytes) {
      fail("{}: shape [{}] of {} needs {} bytes but {} were given", where, fmt::join(tensor.shape, ", "),
           dtype_name(tensor.dtype), expected ? std::to_string(*expected) : std::string("> 2^64"), tensor.nbytes);
    }
    if (tensor.data == nullptr && tensor.nbytes > 0) fail("{}: null data", where);
    header[tensor.name] = {{"dtype", dtype_name(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + tensor.nbytes}}};
    offset += tensor.nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    fail("{}: cannot write the header: {}", file, e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

void write_safetensors(const fs::path& path, std::span<const TensorToWrite> tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string header = build_header(path.string(), tensors, metadata);
  std::array<unsigned char, kLengthPrefixBytes> prefix{};
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    prefix[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(header.size()) >> (8 * i));
  }
  write_file_atomically(
      path,
      [&](std::ostream& out) {
        out.write(reinterpret_cast<const char*>(prefix.data()), static_cast<std::streamsize>(prefix.size()));
        out.write(header.data(), static_cast<std::streamsize>(header.size()));
        for (const TensorToWrite& tensor : tensors) {
          if (tensor.nbytes == 0) continue;  // data may be null
          out.write(static_cast<const char*>(tensor.data), static_cast<std::streamsize>(tensor.nbytes));
        }
      },
      ParentDirs::must_exist);
}

}  // namespace editlab
