// Reading ROME's published second-moment statistics, .npz files (numpy.savez: a zip archive of
// .npy arrays), without torch: layer_stats.h's import_npz_stats turns the result into tensors.
//
// The archive is untrusted input (statistics are downloaded). Checks, each an Error naming the
// file and the array:
//   zip: not a zip archive; a missing entry; an entry compressed with anything but store or
//        deflate (what numpy writes); a declared size that the archive cannot hold (compressed
//        size past the archive, stored size != compressed size, or more than deflate's maximum
//        ratio of 1032:1); an entry shorter or longer than declared, or failing its CRC;
//   .npy: bad magic or version (1.0, 2.0 and 3.0 are read); a header past the entry; a header
//        that is not numpy's dict {'descr': ..., 'fortran_order': ..., 'shape': (...)} (parsed
//        by hand, keys once each, nothing else); big-endian data, Fortran order, a dtype other
//        than float32 / float64 / int64; a dimension or element count past 2^63; data bytes !=
//        element count x item size;
//   statistics: mom2.mom2 not a square float32/float64 matrix; mom2.count not one number that
//        is a count >= 1 (below 2^62).
// Memory: nothing is allocated by a declared size before it is checked against the archive's
// real size, so reading takes at most the archive's bytes plus each array's data, and an array
// is at most 1032 times its compressed bytes (the archive size for stored entries, which numpy
// writes by default).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace editlab {

struct NpyArray {
  char kind = 'f';             // 'f' float, 'i' signed integer
  int item_size = 4;           // bytes per element (4 or 8)
  std::vector<int64_t> shape;  // empty for a scalar
  std::string data;            // numel() * item_size bytes, little-endian, C order
  int64_t numel() const;       // fits: checked when parsed
};

// One .npy file's bytes; `what` names it in errors ("stats.npz: mom2.mom2").
NpyArray parse_npy(std::string_view bytes, const std::string& what);

// The arrays `names` (without ".npy") of an .npz archive, in that order: from a file, or from the
// archive's bytes in memory (`source` names it in errors).
std::vector<NpyArray> read_npz(const std::filesystem::path& path, const std::vector<std::string>& names);
std::vector<NpyArray> read_npz_bytes(std::string_view bytes, const std::string& source,
                                     const std::vector<std::string>& names);

// ROME's statistics: "mom2.mom2" (the sum of k k^T, [M, M]) and "mom2.count", checked.
struct NpzStats {
  NpyArray mom2;
  int64_t count = 0;
};
NpzStats read_npz_stats(const std::filesystem::path& path);
NpzStats read_npz_stats_bytes(std::string_view bytes, const std::string& source);

}  // namespace editlab
