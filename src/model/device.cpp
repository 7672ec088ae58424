#include "editlab/model/device.h"

#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/cuda.h>

#include "editlab/util/error.h"

namespace editlab {

c10::Device parse_device(const std::string& text, const std::string& what) {
  if (text == "cpu") return c10::kCPU;
  if (text == "cuda" || text.rfind("cuda:", 0) == 0) {
    const std::string index = text.size() > 5 ? text.substr(5) : "";
    if (text.size() > 4 && (index.empty() || index.size() > 3 ||
                            index.find_first_not_of("0123456789") != std::string::npos)) {
      fail("{} {}: expected cpu, cuda or cuda:N", what, text);
    }
    if (!torch::cuda::is_available()) {
      // A CUDA libtorch registers its device guard when it loads: then the driver or the device is missing.
      if (c10::impl::hasDeviceGuardImpl(c10::DeviceType::CUDA)) {
        fail("{} {}: this editlab has CUDA, but no CUDA device is visible (no GPU, no driver, or "
             "CUDA_VISIBLE_DEVICES hides them)",
             what, text);
      }
      fail(
          "{} {}: this libtorch has no usable CUDA (Debian's libtorch is CPU-only; build editlab against a CUDA "
          "libtorch to use a GPU: scripts/setup-cuda.sh)",
          what, text);
    }
    const c10::Device device(text);
    if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count())) {
      fail("{} {}: this machine has {} CUDA device(s)", what, text, torch::cuda::device_count());
    }
    return device;
  }
  fail("{} {}: expected cpu, cuda or cuda:N", what, text);
}

namespace {
constexpr std::pair<const char*, c10::ScalarType> kComputeDtypes[] = {
    {"float32", c10::kFloat}, {"float64", c10::kDouble}, {"bfloat16", c10::kBFloat16}, {"float16", c10::kHalf}};
}  // namespace

c10::ScalarType parse_compute_dtype(const std::string& text, const std::string& what) {
  for (const auto& [name, dtype] : kComputeDtypes) {
    if (text == name) return dtype;
  }
  fail("{} {}: expected float32, float64, bfloat16 or float16", what, text);
}

std::string compute_dtype_name(c10::ScalarType dtype) {
  for (const auto& [name, d] : kComputeDtypes) {
    if (d == dtype) return name;
  }
  fail("compute dtype {} is not one editlab computes in", c10::toString(dtype));
}

}  // namespace editlab
