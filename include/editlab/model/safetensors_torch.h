// The bridge between safetensors views (safetensors.h, torch-free) and torch tensors.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "editlab/model/safetensors.h"

namespace editlab {

// A torch tensor (CPU) for `view`, which must belong to `file`, in `compute_dtype` (kFloat32,
// kFloat64, kBFloat16 or kHalf). When the stored dtype already is the compute dtype (F32 ->
// float32, BF16 -> bfloat16, ...) and the data pointer is aligned to it, the tensor is zero-copy: torch::from_blob over
// the copy-on-write mapping, with a deleter that holds `file`, so the mapping lives as long as
// the tensor and in-place edits change memory, never the file. A misaligned tensor is copied;
// F16 / BF16 / F32 / F64 in another compute dtype are converted with torch's own .to() (exact
// for widening). Integer and bool dtypes are an Error: they are not weights.
torch::Tensor to_tensor(const std::shared_ptr<SafetensorsFile>& file, const TensorView& view,
                        torch::ScalarType compute_dtype);

// The safetensors dtype of a torch dtype; Error for dtypes editlab does not store.
DType dtype_of(torch::ScalarType scalar_type);

// Writes contiguous CPU copies of the tensors, each in its own dtype, in the order given,
// atomically via write_safetensors (same errors: duplicate names, ...).
void save_tensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                  const std::map<std::string, std::string>& metadata = {});

}  // namespace editlab
