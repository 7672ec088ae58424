// Reading ROME's published second-moment statistics (.npz files written by numpy.savez).
#include <zip.h>

#include <cstring>
#include <map>
#include <memory>
#include <regex>

#include "editlab/edit/layer_stats.h"
#include "editlab/util/error.h"

namespace editlab {
namespace {

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

std::string read_entry(zip_t* archive, const std::string& name, const std::string& npz) {
  zip_stat_t st;
  if (zip_stat(archive, name.c_str(), 0, &st) != 0) fail("{}: no array \"{}\" in the archive", npz, name);
  std::unique_ptr<zip_file_t, ZipFileCloser> file(zip_fopen(archive, name.c_str(), 0));
  if (!file) fail("{}: cannot read \"{}\"", npz, name);
  std::string bytes(st.size, '\0');
  if (zip_fread(file.get(), bytes.data(), st.size) != static_cast<zip_int64_t>(st.size)) {
    fail("{}: \"{}\" is truncated", npz, name);
  }
  return bytes;
}

// A .npy array: little-endian float32/float64/int64, C order.
torch::Tensor parse_npy(const std::string& bytes, const std::string& what) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) fail("{}: not a .npy array", what);
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else {
    if (bytes.size() < 12) fail("{}: truncated .npy header", what);
    uint32_t len;
    std::memcpy(&len, bytes.data() + 8, 4);
    header_len = len;
    offset = 12;
  }
  if (offset + header_len > bytes.size()) fail("{}: truncated .npy header", what);
  const std::string header = bytes.substr(offset, header_len);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([<>|=]?)([a-z])(\\d+)'")))
    fail("{}: no dtype in the .npy header", what);
  const std::string order = m[1], kind = m[2];
  const int size = std::stoi(m[3]);
  if (order == ">") fail("{}: big-endian arrays are not supported", what);
  if (header.find("'fortran_order': True") != std::string::npos)
    fail("{}: Fortran-ordered arrays are not supported", what);
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    fail("{}: no shape in the .npy header", what);
  std::vector<int64_t> shape;
  const std::string dims = m[1];
  const std::regex number("\\d+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it)
    shape.push_back(std::stoll(it->str()));
  torch::ScalarType type;
  if (kind == "f" && size == 4)
    type = torch::kFloat32;
  else if (kind == "f" && size == 8)
    type = torch::kFloat64;
  else if (kind == "i" && size == 8)
    type = torch::kLong;
  else
    fail("{}: unsupported dtype {}{}", what, kind, size);
  int64_t numel = 1;
  for (auto d : shape) numel *= d;
  const size_t data = offset + header_len;
  if (bytes.size() - data != static_cast<size_t>(numel * size)) fail("{}: data size does not match its shape", what);
  auto t = torch::empty(shape, type);
  std::memcpy(t.data_ptr(), bytes.data() + data, numel * size);
  return t;
}

}  // namespace

SecondMoment import_npz_stats(const std::filesystem::path& path) {
  int error = 0;
  std::unique_ptr<zip_t, ZipCloser> archive(zip_open(path.c_str(), ZIP_RDONLY, &error));
  if (!archive) fail("{}: cannot open as an .npz (zip) archive", path.string());
  auto mom2 = parse_npy(read_entry(archive.get(), "mom2.mom2.npy", path.string()), path.string() + ": mom2.mom2");
  auto count = parse_npy(read_entry(archive.get(), "mom2.count.npy", path.string()), path.string() + ": mom2.count");
  if (mom2.dim() != 2 || mom2.size(0) != mom2.size(1)) fail("{}: mom2.mom2 must be a square matrix", path.string());
  if (count.numel() != 1) fail("{}: mom2.count must hold one number", path.string());
  SecondMoment stats;
  stats.mom2 = mom2;
  stats.count = count.to(torch::kDouble).item<double>();
  if (stats.count <= 0) fail("{}: mom2.count must be positive", path.string());
  return stats;
}

}  // namespace editlab
