// Fuzz target: the safetensors reader (model/safetensors.h) on arbitrary file bytes.
//
// The input is a whole .safetensors file. SafetensorsFile::open only takes a path (it mmaps the
// file), so the bytes go to a scratch file first. Either open() rejects the file with an
// editlab::Error, or every view it hands out must hold: nbytes == numel() x dtype size; the
// views, in offset order, tile the data section exactly (no byte outside the file, none
// overlapping); each view's bytes are the input's bytes at that place; find() finds each by
// name; and writing the tensors back with write_safetensors and reading that file gives the same
// tensors and metadata. Checkpoint::open_file and fingerprint() read it too. Covers the header
// (length prefix, JSON, limits), shapes, dtypes, offsets, overlaps, sizes that overflow, and a
// header longer than the file.
#include <cstring>
#include <string>

#include "editlab/model/safetensors.h"
#include "editlab/util/error.h"
#include "fuzz_support.h"

using namespace editlab;

namespace {

void check_views(const SafetensorsFile& file, std::string_view input) {
  const std::size_t data_start = 8 + file.header_size();
  FUZZ_CHECK(data_start <= input.size());
  FUZZ_CHECK(file.file_size() == input.size());
  std::size_t offset = 0;
  const std::byte* first = file.tensors().empty() ? nullptr : file.tensors().front().data;
  for (const TensorView& view : file.tensors()) {
    FUZZ_CHECK(view.numel() >= 0);
    FUZZ_CHECK(static_cast<std::size_t>(view.numel()) * dtype_size(view.dtype) == view.nbytes);
    FUZZ_CHECK(view.data == first + offset);  // tiles the data section in order
    FUZZ_CHECK(offset + view.nbytes <= input.size() - data_start);
    FUZZ_CHECK(std::memcmp(view.data, input.data() + data_start + offset, view.nbytes) == 0);
    FUZZ_CHECK(file.find(view.name) == &view);
    offset += view.nbytes;
  }
  FUZZ_CHECK(offset == input.size() - data_start);  // no trailing bytes
}

void round_trip(const SafetensorsFile& file) {
  std::vector<TensorToWrite> tensors;
  for (const TensorView& view : file.tensors()) {
    tensors.push_back({view.name, view.dtype, view.shape, view.data, view.nbytes});
  }
  const auto copy_path = fuzz::scratch_dir() / "copy.safetensors";
  write_safetensors(copy_path, tensors, file.metadata());
  const auto copy = SafetensorsFile::open(copy_path);
  FUZZ_CHECK(copy->metadata() == file.metadata());
  FUZZ_CHECK(copy->tensors().size() == file.tensors().size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorView& a = file.tensors()[i];
    const TensorView& b = copy->tensors()[i];
    FUZZ_CHECK(a.name == b.name && a.dtype == b.dtype && a.shape == b.shape && a.nbytes == b.nbytes);
    FUZZ_CHECK(std::memcmp(a.data, b.data, a.nbytes) == 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto path = fuzz::write_scratch("model.safetensors", input);
  std::shared_ptr<SafetensorsFile> file;
  try {
    file = SafetensorsFile::open(path);
  } catch (const Error&) {
    return 0;  // rejected, as it may be
  }
  check_views(*file, input);
  // The writer refuses names the reader accepts ("" is a valid JSON key); anything it writes
  // must read back identically.
  bool writable = true;
  for (const TensorView& view : file->tensors()) writable = writable && !view.name.empty();
  if (writable) round_trip(*file);
  const Checkpoint checkpoint = Checkpoint::open_file(path);
  FUZZ_CHECK(checkpoint.tensors().size() == file->tensors().size());
  FUZZ_CHECK(checkpoint.fingerprint().starts_with("xxh3-128:"));
  std::uint64_t total = 0;
  for (const TensorView& view : file->tensors()) total += view.nbytes;
  FUZZ_CHECK(checkpoint.total_bytes() == total);
  return 0;
}
