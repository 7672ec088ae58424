// Reading ROME's published second-moment statistics (.npz files written by numpy.savez): the
// archive is read and checked without torch (edit/npz.h), then turned into tensors here.
#include <cstring>

#include "editlab/edit/layer_stats.h"
#include "editlab/edit/npz.h"
#include "editlab/util/error.h"

namespace editlab {

SecondMoment import_npz_stats(const std::filesystem::path& path) {
  const NpzStats npz = read_npz_stats(path);
  const torch::ScalarType type = npz.mom2.item_size == 4 ? torch::kFloat32 : torch::kFloat64;
  SecondMoment stats;
  stats.mom2 = torch::empty(npz.mom2.shape, type);
  std::memcpy(stats.mom2.data_ptr(), npz.mom2.data.data(), npz.mom2.data.size());
  stats.count = npz.count;
  return stats;
}

}  // namespace editlab
