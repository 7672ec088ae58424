// Torch tensors over safetensors mappings, and saving torch tensors (see safetensors_torch.h).
#include "editlab/model/safetensors_torch.h"

#include <cstdint>
#include <cstring>

#include "editlab/util/error.h"

namespace editlab {
namespace {

// The torch dtype of a floating-point safetensors dtype; Error for the others.
torch::ScalarType weight_scalar_type(const SafetensorsFile& file, const TensorView& view) {
  switch (view.dtype) {
    case DType::F64:
      return torch::kFloat64;
    case DType::F32:
      return torch::kFloat32;
    case DType::F16:
      return torch::kFloat16;
    case DType::BF16:
      return torch::kBFloat16;
    default:
      fail("{}: tensor '{}' has dtype {}; weights must be F32, F16, BF16 or F64", file.path().string(), view.name,
           dtype_name(view.dtype));
  }
}

}  // namespace

torch::Tensor to_tensor(const std::shared_ptr<SafetensorsFile>& file, const TensorView& view,
                        torch::ScalarType compute_dtype) {
  if (!file || file->find(view.name) != &view) {
    fail("to_tensor: tensor '{}' does not belong to the file given ({})", view.name,
         file ? file->path().string() : std::string("null"));
  }
  if (compute_dtype != torch::kFloat32 && compute_dtype != torch::kFloat64 && compute_dtype != torch::kBFloat16 &&
      compute_dtype != torch::kHalf) {
    fail("{}: tensor '{}': compute dtype must be float32, float64, bfloat16 or float16, got {}", file->path().string(), view.name,
         c10::toString(compute_dtype));
  }
  const torch::ScalarType stored = weight_scalar_type(*file, view);
  const auto options = torch::TensorOptions().dtype(stored).device(torch::kCPU);
  const bool aligned = reinterpret_cast<std::uintptr_t>(view.data) % dtype_size(view.dtype) == 0;
  if (!aligned) {
    // from_blob over a misaligned pointer would make torch's kernels read it misaligned: copy.
    torch::Tensor copy = torch::empty(view.shape, options);
    std::memcpy(copy.data_ptr(), view.data, view.nbytes);
    return copy.to(compute_dtype);
  }
  // The deleter owns a reference to the file: the mapping outlives every tensor made over it.
  torch::Tensor over_mapping = torch::from_blob(
      view.data, view.shape, [keep_alive = file](void*) {}, options);
  if (stored == compute_dtype) return over_mapping;  // zero-copy
  auto converted = over_mapping.to(compute_dtype);
  file->release_pages(view);  // the copy replaces the mapped bytes
  return converted;
}

DType dtype_of(torch::ScalarType scalar_type) {
  switch (scalar_type) {
    case torch::kFloat64:
      return DType::F64;
    case torch::kFloat32:
      return DType::F32;
    case torch::kFloat16:
      return DType::F16;
    case torch::kBFloat16:
      return DType::BF16;
    case torch::kInt64:
      return DType::I64;
    case torch::kInt32:
      return DType::I32;
    case torch::kInt16:
      return DType::I16;
    case torch::kInt8:
      return DType::I8;
    case torch::kUInt8:
      return DType::U8;
    case torch::kBool:
      return DType::BOOL;
    default:
      fail("torch dtype {} has no safetensors dtype in editlab", c10::toString(scalar_type));
  }
}

void save_tensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                  const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> cpu_copies;  // keeps the bytes alive until the write is done
  std::vector<TensorToWrite> to_write;
  cpu_copies.reserve(tensors.size());
  to_write.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) fail("{}: tensor '{}' is undefined", path.string(), name);
    torch::Tensor cpu = tensor.detach().to(torch::kCPU).contiguous();
    DType dtype;
    try {
      dtype = dtype_of(cpu.scalar_type());
    } catch (const Error& e) {
      fail("{}: tensor '{}': {}", path.string(), name, e.what());
    }
    const auto nbytes = static_cast<std::size_t>(cpu.numel()) * cpu.element_size();
    to_write.push_back({name, dtype, cpu.sizes().vec(), cpu.data_ptr(), nbytes});
    cpu_copies.push_back(std::move(cpu));
  }
  write_safetensors(path, to_write, metadata);
}

}  // namespace editlab
