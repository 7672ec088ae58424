// What timings and memory figures on a GPU need: waiting for a device's queued work, and its
// allocator's peak memory. On the CPU these are no-ops / nullopt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>

namespace editlab {

class LanguageModel;
// The bytes a model's parameters hold in their compute dtype (a tied LM head counted once).
int64_t parameter_bytes(LanguageModel& model);

// Blocks until the device has finished the work queued on it (CUDA runs asynchronously: a
// timer read without it measures the launch, not the work). A no-op on the CPU.
void synchronize_device(c10::Device device);

struct DeviceMemory {
  int64_t allocated_bytes = 0;       // held by tensors now
  int64_t peak_allocated_bytes = 0;  // since the last reset_peak_device_memory
  int64_t reserved_bytes = 0;        // held by the caching allocator now
  int64_t peak_reserved_bytes = 0;
  int64_t total_bytes = 0;  // the device's memory
};

// The caching allocator's figures for a CUDA device; nullopt on the CPU, or where this libtorch
// (before 2.11) has no device-independent allocator statistics.
std::optional<DeviceMemory> device_memory(c10::Device device);
void reset_peak_device_memory(c10::Device device);

// What `editlab devices` reports of this libtorch and the machine's CUDA devices.
struct CudaDeviceInfo {
  int index = 0;
  int64_t total_bytes = -1;  // -1: this libtorch cannot tell
  int64_t free_bytes = -1;
};
struct ComputeDevices {
  std::string torch_version;
  bool cuda_built = false;  // this libtorch carries CUDA (whether or not a device is visible)
  bool cudnn = false;
  std::vector<CudaDeviceInfo> cuda;
};
ComputeDevices compute_devices();

}  // namespace editlab
