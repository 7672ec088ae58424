#include "common.h"

#include <iostream>

#include "editlab/util/error.h"

namespace editlab::cli {

torch::Device parse_device(const std::string& text) {
  if (text == "cpu") return torch::kCPU;
  if (text == "cuda" || text.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available()) {
      fail(
          "--device {}: this libtorch has no usable CUDA (Debian's libtorch is CPU-only; "
          "build editlab against a CUDA libtorch to use a GPU)",
          text);
    }
    return torch::Device(text);
  }
  fail("--device {}: expected cpu, cuda or cuda:N", text);
}

torch::ScalarType parse_dtype(const std::string& text) {
  if (text == "float32") return torch::kFloat32;
  if (text == "float64") return torch::kFloat64;
  fail("--dtype {}: expected float32 or float64", text);
}

LoadedModel load(const GlobalOptions& global, const std::string& model_dir) {
  LoadOptions options;
  options.dtype = parse_dtype(global.dtype);
  options.device = parse_device(global.device);
  return load_model(model_dir, options);
}

// Decoded model output may hold partial UTF-8 sequences: replace them rather than fail.
void print_json(const nlohmann::json& j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

}  // namespace editlab::cli
