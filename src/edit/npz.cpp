// .npz / .npy reading (see npz.h for the checks and the memory bound).
#include "editlab/edit/npz.h"

#include <zip.h>

#include <cstring>
#include <memory>
#include <optional>

#include "editlab/util/error.h"

namespace editlab {
namespace {

// zlib's deflate cannot expand more than 1032:1 (258-byte matches in 2 bits, plus block overhead).
constexpr std::uint64_t kMaxDeflateRatio = 1032;

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using Archive = std::unique_ptr<zip_t, ZipCloser>;

std::string read_entry(zip_t* archive, std::uint64_t archive_size, const std::string& name, const std::string& npz) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat(archive, name.c_str(), 0, &st) != 0) fail("{}: no array \"{}\" in the archive", npz, name);
  constexpr auto kNeeded = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
  if ((st.valid & kNeeded) != kNeeded) fail("{}: \"{}\": the archive does not give its sizes", npz, name);
  if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
    fail("{}: \"{}\" is encrypted", npz, name);
  }
  // The declared sizes are untrusted: check them against the archive before allocating by them.
  if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE) {
    fail("{}: \"{}\" is compressed with zip method {}; numpy writes stored or deflated entries", npz, name,
         st.comp_method);
  }
  if (st.comp_size > archive_size) {
    fail("{}: \"{}\" declares {} compressed bytes, more than the archive's {} (truncated?)", npz, name, st.comp_size,
         archive_size);
  }
  if (st.comp_method == ZIP_CM_STORE && st.size != st.comp_size) {
    fail("{}: \"{}\" is stored uncompressed but declares {} bytes in {}", npz, name, st.size, st.comp_size);
  }
  if (st.size / kMaxDeflateRatio > st.comp_size) {
    fail("{}: \"{}\" declares {} bytes from {} compressed, more than deflate can produce", npz, name, st.size,
         st.comp_size);
  }
  std::unique_ptr<zip_file_t, ZipFileCloser> file(zip_fopen_index(archive, st.index, 0));
  if (!file) fail("{}: cannot read \"{}\": {}", npz, name, zip_strerror(archive));
  std::string bytes(st.size, '\0');
  std::uint64_t done = 0;
  while (done < st.size) {
    const zip_int64_t got = zip_fread(file.get(), bytes.data() + done, st.size - done);
    if (got < 0) fail("{}: cannot read \"{}\": {}", npz, name, zip_file_strerror(file.get()));
    if (got == 0) fail("{}: \"{}\" is truncated ({} of {} bytes)", npz, name, done, st.size);
    done += static_cast<std::uint64_t>(got);
  }
  char extra = 0;
  if (zip_fread(file.get(), &extra, 1) != 0) fail("{}: \"{}\" holds more than its declared {} bytes", npz, name, st.size);
  return bytes;
}

std::vector<NpyArray> read_arrays(zip_t* archive, std::uint64_t archive_size, const std::string& npz,
                                  const std::vector<std::string>& names) {
  std::vector<NpyArray> arrays;
  for (const std::string& name : names) {
    arrays.push_back(parse_npy(read_entry(archive, archive_size, name + ".npy", npz), npz + ": " + name));
  }
  return arrays;
}

// ---- the .npy header: numpy's repr of {'descr': '<f4', 'fortran_order': False, 'shape': (96, 96), } ----

class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& what) : text_(text), what_(what) {}

  void parse(std::string& descr, bool& fortran_order, std::vector<int64_t>& shape) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_spaces();
      if (peek() == '}') break;
      const std::string key = quoted();
      skip_spaces();
      expect(':');
      skip_spaces();
      if (key == "descr" && !have_descr) {
        descr = quoted();
        have_descr = true;
      } else if (key == "fortran_order" && !have_order) {
        fortran_order = boolean();
        have_order = true;
      } else if (key == "shape" && !have_shape) {
        shape = dims();
        have_shape = true;
      } else {
        bad(fmt::format("unexpected key '{}'", key));
      }
      skip_spaces();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        bad("expected ',' or '}'");
      }
    }
    ++pos_;  // '}'
    skip_spaces();
    if (pos_ != text_.size()) bad("text after the closing '}'");
    if (!have_descr || !have_order || !have_shape) bad("it needs 'descr', 'fortran_order' and 'shape'");
  }

 private:
  [[noreturn]] void bad(const std::string& why) {
    fail("{}: malformed .npy header ({} at byte {} of {})", what_, why, pos_, text_.size());
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_spaces() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t')) ++pos_;
  }
  void expect(char c) {
    skip_spaces();
    if (peek() != c) bad(fmt::format("expected '{}'", c));
    ++pos_;
  }
  std::string quoted() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') bad("expected a quoted string");
    const std::size_t end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string out(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    for (const auto& [word, value] : {std::pair{std::string_view("True"), true}, {std::string_view("False"), false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    bad("expected True or False");
  }
  std::vector<int64_t> dims() {
    expect('(');
    std::vector<int64_t> out;
    while (true) {
      skip_spaces();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') bad("expected a dimension");
      int64_t dim = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (__builtin_mul_overflow(dim, 10, &dim) || __builtin_add_overflow(dim, peek() - '0', &dim)) {
          bad("a dimension past 2^63");
        }
        ++pos_;
      }
      out.push_back(dim);
      skip_spaces();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ')') {
        bad("expected ',' or ')' in the shape");
      }
    }
    ++pos_;  // ')'
    return out;
  }

  std::string_view text_;
  const std::string& what_;
  std::size_t pos_ = 0;
};

Archive open_archive(zip_source_t* source, const std::string& npz) {
  zip_error_t error;
  zip_error_init(&error);
  Archive archive(zip_open_from_source(source, ZIP_RDONLY, &error));
  if (!archive) {
    zip_source_free(source);
    const std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    fail("{}: cannot open as an .npz (zip) archive: {}", npz, why);
  }
  zip_error_fini(&error);
  return archive;
}

NpzStats check_stats(std::vector<NpyArray> arrays, const std::string& npz) {
  NpzStats stats;
  stats.mom2 = std::move(arrays[0]);
  const NpyArray& count = arrays[1];
  if (stats.mom2.shape.size() != 2 || stats.mom2.shape[0] != stats.mom2.shape[1]) {
    fail("{}: mom2.mom2 must be a square matrix", npz);
  }
  if (stats.mom2.kind != 'f') fail("{}: mom2.mom2 must be float32 or float64", npz);
  if (count.numel() != 1) fail("{}: mom2.count must hold one number", npz);
  double value = 0;
  if (count.kind == 'i') {
    int64_t n = 0;
    std::memcpy(&n, count.data.data(), sizeof n);
    value = static_cast<double>(n);
  } else if (count.item_size == 4) {
    float f = 0;
    std::memcpy(&f, count.data.data(), sizeof f);
    value = f;
  } else {
    std::memcpy(&value, count.data.data(), sizeof value);
  }
  // Checked as a double before the conversion: NaN or 1e300 to int64 would be undefined.
  if (!(value >= 1 && value < 0x1p62)) fail("{}: mom2.count must be a positive count, found {}", npz, value);
  stats.count = static_cast<int64_t>(value);
  return stats;
}

}  // namespace

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

NpyArray parse_npy(std::string_view bytes, const std::string& what) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != "\x93NUMPY") fail("{}: not a .npy array", what);
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail("{}: truncated .npy header", what);
    std::uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    header_len = len;
    offset = 12;
  } else {
    fail("{}: .npy format version {} is not supported (1, 2 and 3 are)", what, major);
  }
  if (header_len > bytes.size() - offset) fail("{}: truncated .npy header", what);

  std::string descr;
  bool fortran_order = false;
  NpyArray array;
  HeaderParser(bytes.substr(offset, header_len), what).parse(descr, fortran_order, array.shape);
  // descr: byte order (optional), kind, item size: "<f4".
  std::string_view type = descr;
  char order = '=';
  if (!type.empty() && (type[0] == '<' || type[0] == '>' || type[0] == '|' || type[0] == '=')) {
    order = type[0];
    type.remove_prefix(1);
  }
  if (order == '>') fail("{}: big-endian arrays are not supported", what);
  if (fortran_order) fail("{}: Fortran-ordered arrays are not supported", what);
  if (type == "f4" || type == "f8" || type == "i8") {
    array.kind = type[0];
    array.item_size = type[1] - '0';
  } else {
    fail("{}: unsupported dtype '{}' (float32 '<f4', float64 '<f8' or int64 '<i8')", what, descr);
  }
  int64_t numel = 1;
  std::uint64_t nbytes = 0;
  for (const int64_t d : array.shape) {
    if (__builtin_mul_overflow(numel, d, &numel)) fail("{}: shape has more than 2^63 elements", what);
  }
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(numel), static_cast<std::uint64_t>(array.item_size), &nbytes)) {
    fail("{}: shape has more than 2^64 bytes", what);
  }
  const std::size_t data = offset + header_len;
  if (bytes.size() - data != nbytes) {
    fail("{}: data size does not match its shape ({} bytes, the shape needs {})", what, bytes.size() - data, nbytes);
  }
  array.data.assign(bytes.substr(data));
  return array;
}

std::vector<NpyArray> read_npz(const std::filesystem::path& path, const std::vector<std::string>& names) {
  const std::string npz = path.string();
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail("{}: cannot open as an .npz (zip) archive: {}", npz, ec.message());
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_file_create(path.c_str(), 0, -1, &error);
  zip_error_fini(&error);
  if (source == nullptr) fail("{}: cannot open as an .npz (zip) archive", npz);
  const Archive archive = open_archive(source, npz);
  return read_arrays(archive.get(), size, npz, names);
}

std::vector<NpyArray> read_npz_bytes(std::string_view bytes, const std::string& source_name,
                                     const std::vector<std::string>& names) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  zip_error_fini(&error);
  if (source == nullptr) fail("{}: cannot open as an .npz (zip) archive", source_name);
  const Archive archive = open_archive(source, source_name);
  return read_arrays(archive.get(), bytes.size(), source_name, names);
}

NpzStats read_npz_stats(const std::filesystem::path& path) {
  return check_stats(read_npz(path, {"mom2.mom2", "mom2.count"}), path.string());
}

NpzStats read_npz_stats_bytes(std::string_view bytes, const std::string& source) {
  return check_stats(read_npz_bytes(bytes, source, {"mom2.mom2", "mom2.count"}), source);
}

}  // namespace editlab
