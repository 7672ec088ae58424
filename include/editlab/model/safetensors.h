// The safetensors format: reading (memory-mapped, validated) and writing (atomic), without torch.
// The torch bridge is safetensors_torch.h.
//
// File layout (https://github.com/huggingface/safetensors):
//   [8 bytes: N, little-endian u64] [N bytes: JSON header, padded with spaces] [data section]
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end)}, with
// offsets relative to the start of the data section, and may hold "__metadata__" (string ->
// string).
//
// Reading. A file is mapped whole with MAP_PRIVATE and PROT_READ | PROT_WRITE: copy-on-write.
// Tensors over the mapping can be edited in place in memory (ROME's rank-one updates on
// zero-copy weights); the touched pages become private copies and the file on disk never
// changes. Two consequences: memory grows by the pages edited, and the file must not be
// rewritten in place or truncated while it is mapped (a truncation under a mapping is SIGBUS).
// write_safetensors renames a new file over the old one, which is safe: an existing mapping
// keeps the old inode.
//
// The header is untrusted input. open() checks it fully before any tensor is used and throws
// editlab::Error naming the file (and the tensor) on: a file shorter than 8 bytes; a header
// length beyond the file or over 100 MB; invalid JSON, a non-object header, a key repeated
// in one object (nlohmann would keep the last silently), or JSON beyond util/json_file.h's
// limits (nesting, string size); an entry without dtype / shape / data_offsets or with wrong
// types; an unknown dtype; a negative or non-integer dimension; a shape whose dimensions (a 0
// counted as 1) multiply past 2^63, so that numel() and strides fit in int64; shape product x
// dtype size != byte range (checked for overflow); begin > end or end past the data section;
// overlapping ranges; "__metadata__" that is not string -> string.
// Memory: nothing is allocated by what the header declares. Reading maps the file and parses
// the header (at most 100 MB of JSON); a tensor's bytes are checked against the file's size
// before any view is made, and views point into the mapping.
//
// Holes policy: like the reference implementation, the tensors must tile the data section
// exactly (sorted by offset, each begins where the previous ends, the last ends at the end of
// the file). Gaps and trailing bytes are errors. Hugging Face loaders reject such files, so
// accepting them here would let editlab work on a checkpoint that nothing else can read, and
// a gap is more often a sign of a damaged header than of a deliberate layout.
//
// Alignment: the mapping is page-aligned and the data section starts at 8 + N, a multiple of
// 8 when the writer padded the header as the reference does. Tensors are packed without
// padding (padding would be a hole), so a tensor's data pointer is aligned to its dtype only
// if the tensors before it happen to keep it so. Readers that need alignment check it (the
// torch bridge copies misaligned tensors instead of viewing them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace editlab {

// The element types editlab reads and writes, named as in the safetensors header.
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

std::size_t dtype_size(DType dtype);                      // bytes per element
std::string_view dtype_name(DType dtype);                 // "F32", "BF16", ...
std::optional<DType> parse_dtype(std::string_view name);  // nullopt for names editlab lacks

// One tensor inside a mapped file. `data` points into the (copy-on-write) mapping and is valid
// while the SafetensorsFile that produced the view is alive.
struct TensorView {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;  // empty for a scalar
  std::byte* data;
  std::size_t nbytes;  // == numel() * dtype_size(dtype), checked by open()

  int64_t numel() const;
};

namespace detail {

// A read-only file descriptor plus a private (copy-on-write) mapping of the whole file; both
// are released by the destructor. Move-constructible only.
class MappedFile {
 public:
  static MappedFile open(const std::filesystem::path& path);  // Error if shorter than 8 bytes
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;  // not needed: the owner is never reassigned
  ~MappedFile();

  std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  int fd() const { return fd_; }  // kept open: fingerprints read the file, not the mapping

 private:
  MappedFile() = default;

  int fd_ = -1;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace detail

// One .safetensors file, memory-mapped and validated. Shared (tensors made over the mapping
// hold a shared_ptr to it) and immutable apart from the tensor bytes themselves.
class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::vector<TensorView>& tensors() const { return tensors_; }  // sorted by data offset
  const TensorView* find(std::string_view name) const;                 // nullptr if absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::size_t file_size() const { return map_.size(); }
  std::size_t header_size() const { return header_size_; }  // N: the JSON bytes with padding
  // Gives back the resident pages that lie wholly inside `view`'s data (madvise MADV_DONTNEED),
  // once a converted copy replaces it: they would otherwise count in the RSS beside the copy.
  // Only for a view never written through the mapping (the private pages would be discarded);
  // reading it again later reads the file.
  void release_pages(const TensorView& view) const;

  // Reads the whole file as it is on disk (not the mapping, so in-memory edits are not seen),
  // handing it to `consume` in chunks of at most 1 MiB. Used by Checkpoint::fingerprint.
  void read_disk_bytes(const std::function<void(std::span<const std::byte>)>& consume) const;

 private:
  SafetensorsFile(std::filesystem::path path, detail::MappedFile map);

  std::filesystem::path path_;
  detail::MappedFile map_;
  std::size_t header_size_ = 0;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::size_t, std::less<>> by_name_;  // name -> index in tensors_
  std::map<std::string, std::string> metadata_;
};

// A model directory's weights: model.safetensors, or shards listed by
// model.safetensors.index.json ({"weight_map": {tensor name: shard file name}}). A cheap value:
// copies share the mapped files.
//
// Index checks (each an Error naming the index file and the tensor): malformed JSON or a
// weight_map that is not {string: string}; a shard name that is not a plain file name in the
// directory; a missing shard file; a weight_map tensor absent from its shard; a tensor present
// in two shards; a shard tensor that the weight_map does not list, or lists under another shard.
class Checkpoint {
 public:
  static Checkpoint open_dir(const std::filesystem::path& dir);  // prefers the index if present
  static Checkpoint open_file(const std::filesystem::path& file);

  // All tensors: shards in shard order (sorted by file name), each in data-offset order.
  std::vector<const TensorView*> tensors() const;
  const TensorView* find(std::string_view name) const;  // nullptr if absent
  // The shard that holds `name` (to tie a tensor's lifetime to its mapping); nullptr if absent.
  std::shared_ptr<SafetensorsFile> file_of(std::string_view name) const;
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }

  // "xxh3-128:<32 lowercase hex>": XXH3-128 (seed 0, canonical big-endian digest) of the shards'
  // bytes concatenated in shard order, each shard being its 8-byte header length, its header
  // JSON bytes (padding included) and its data bytes, i.e. the whole file. So for one file it
  // equals `xxh128sum model.safetensors`, and for shards `cat shards... | xxh128sum`. It is read
  // from disk through the descriptors kept open, so in-memory edits of mapped tensors do not
  // change it; it reads every byte of every shard (fast, but not free for large models).
  // The same weights stored as one file or as shards give different fingerprints.
  std::string fingerprint() const;

  // Sum of the tensors' byte sizes (the data sections; headers not counted).
  std::uint64_t total_bytes() const;

 private:
  Checkpoint() = default;
  static Checkpoint open_index(const std::filesystem::path& index_path);
  // Appends a shard; Error (prefixed with `index`) if it repeats a tensor of an earlier one.
  void add_file(std::shared_ptr<SafetensorsFile> file, const std::string& index);

  struct Entry {
    std::size_t file_index;
    const TensorView* view;
  };
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, Entry, std::less<>> by_name_;
};

// One tensor to write: `nbytes` bytes at `data`, which must equal numel(shape) * dtype_size.
struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;
  std::size_t nbytes;
};

// Writes a safetensors file as the reference implementation does: an 8-byte little-endian
// header length, compact JSON ("__metadata__" first when not empty, then the tensors) padded
// with spaces to a multiple of 8, then the tensors packed in the order given. Atomic, through
// write_file_atomically (util/atomic_file.h): on any error the temporary file is removed and
// `path` is untouched; the directory must exist. Error on duplicate or empty names, the name
// "__metadata__", a negative dimension, or nbytes that does not match the shape.
void write_safetensors(const std::filesystem::path& path, std::span<const TensorToWrite> tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace editlab
