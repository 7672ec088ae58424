// The one parser of a device and a compute dtype, for the CLI's flags and the experiment config
// alike. Only c10's small Device and ScalarType headers, not torch's: the experiment config
// includes this.
#pragma once

#include <string>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace editlab {

// `what` names the setting in errors ("--device", "run.json: field \"device\"").
// Devices: "cpu", "cuda", "cuda:N"; CUDA only when this libtorch can use it (checked here, so a
// run fails at once rather than at its first forward pass).
c10::Device parse_device(const std::string& text, const std::string& what);
// "float32", "float64", "bfloat16" or "float16".
c10::ScalarType parse_compute_dtype(const std::string& text, const std::string& what);
// The inverse: the name a compute dtype is spelled with ("float32", ... as config.json's
// torch_dtype spells it too).
std::string compute_dtype_name(c10::ScalarType dtype);
// bfloat16 or float16: the dtypes whose logits, softmaxes and ROME / FT arithmetic editlab keeps
// in float32.
inline bool is_half_precision(c10::ScalarType dtype) { return dtype == c10::kBFloat16 || dtype == c10::kHalf; }

}  // namespace editlab
