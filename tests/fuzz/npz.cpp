// Fuzz target: importing ROME's .npz second-moment statistics (edit/npz.h), zip and .npy layers.
//
// Two kinds of input. One that starts with "PK" is a whole .npz archive and goes to
// read_npz_stats_bytes as it is (bad zip structures, declared sizes, truncation). Any other input
// is up to two .npy files separated by a line "--8<--", mom2.mom2.npy and mom2.count.npy: each is
// parsed with parse_npy, and the target wraps both in a valid stored zip (correct CRCs, so that
// mutations reach the .npy headers instead of failing the zip's checksum) and imports that: bad
// magic, versions, header dicts, shapes, dtypes, sizes and truncation. Either the reader throws
// editlab::Error, or what it returns holds: data is numel x item size bytes, mom2 is a square
// float matrix, count >= 1.
#include <array>
#include <cstring>
#include <string>

#include "editlab/edit/npz.h"
#include "editlab/util/error.h"
#include "fuzz_support.h"

using namespace editlab;

namespace {

std::uint32_t crc32(std::string_view bytes) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (const char b : bytes) c = table[(c ^ static_cast<unsigned char>(b)) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void put16(std::string& out, std::uint32_t v) {
  out += static_cast<char>(v & 0xFF);
  out += static_cast<char>((v >> 8) & 0xFF);
}
void put32(std::string& out, std::uint32_t v) {
  put16(out, v & 0xFFFF);
  put16(out, v >> 16);
}

// A zip archive of stored (uncompressed) entries, as numpy.savez writes them.
std::string stored_zip(const std::vector<std::pair<std::string, std::string_view>>& entries) {
  std::string out, central;
  for (const auto& [name, data] : entries) {
    const std::uint32_t offset = static_cast<std::uint32_t>(out.size());
    const std::uint32_t crc = crc32(data);
    const auto size = static_cast<std::uint32_t>(data.size());
    put32(out, 0x04034b50);
    put16(out, 20), put16(out, 0), put16(out, 0), put16(out, 0), put16(out, 0x21);  // version, flags, method, time, date
    put32(out, crc), put32(out, size), put32(out, size);
    put16(out, static_cast<std::uint32_t>(name.size())), put16(out, 0);
    out += name;
    out += data;
    put32(central, 0x02014b50);
    put16(central, 20), put16(central, 20), put16(central, 0), put16(central, 0), put16(central, 0);
    put16(central, 0x21);
    put32(central, crc), put32(central, size), put32(central, size);
    put16(central, static_cast<std::uint32_t>(name.size())), put16(central, 0), put16(central, 0);
    put16(central, 0), put16(central, 0), put32(central, 0), put32(central, offset);
    central += name;
  }
  const auto central_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0), put16(out, 0);
  put16(out, static_cast<std::uint32_t>(entries.size())), put16(out, static_cast<std::uint32_t>(entries.size()));
  put32(out, static_cast<std::uint32_t>(central.size())), put32(out, central_offset), put16(out, 0);
  return out;
}

void check_array(const NpyArray& a) {
  FUZZ_CHECK(a.kind == 'f' || a.kind == 'i');
  FUZZ_CHECK(a.item_size == 4 || a.item_size == 8);
  for (const int64_t d : a.shape) FUZZ_CHECK(d >= 0);
  FUZZ_CHECK(a.numel() >= 0);
  FUZZ_CHECK(a.data.size() == static_cast<std::size_t>(a.numel()) * static_cast<std::size_t>(a.item_size));
}

void import(std::string_view archive) {
  try {
    const NpzStats stats = read_npz_stats_bytes(archive, "stats.npz");
    check_array(stats.mom2);
    FUZZ_CHECK(stats.mom2.shape.size() == 2 && stats.mom2.shape[0] == stats.mom2.shape[1]);
    FUZZ_CHECK(stats.mom2.kind == 'f');
    FUZZ_CHECK(stats.count >= 1);
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.starts_with("PK")) {
    import(input);
    return 0;
  }
  const auto sections = fuzz::split_sections(input, 2);
  for (const auto section : sections) {
    try {
      check_array(parse_npy(section, "array.npy"));
    } catch (const Error&) {
    }
  }
  const std::string_view count = sections.size() > 1 ? sections[1] : std::string_view();
  import(stored_zip({{"mom2.mom2.npy", sections[0]}, {"mom2.count.npy", count}}));
  return 0;
}
