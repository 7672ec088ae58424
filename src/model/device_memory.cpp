#include "editlab/model/device_memory.h"

#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/cuda.h>
#include <torch/version.h>

// libtorch 2.11 (the CUDA build's) reads any accelerator's allocator through at::accelerator;
// Debian's 1.13 has no such interface, and is CPU-only anyway.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 11)
#include <ATen/DeviceAccelerator.h>
#define EDITLAB_ACCELERATOR_MEMORY 1
#endif

#include "editlab/model/language_model.h"

namespace editlab {

int64_t parameter_bytes(LanguageModel& model) {
  int64_t bytes = 0;
  for (const auto& [name, p] : model.parameters_by_name()) bytes += p.numel() * static_cast<int64_t>(p.element_size());
  return bytes;
}

void synchronize_device(c10::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

namespace {
#ifdef EDITLAB_ACCELERATOR_MEMORY
c10::DeviceIndex index_of(c10::Device device) { return device.has_index() ? device.index() : 0; }
#endif
}  // namespace

std::optional<DeviceMemory> device_memory(c10::Device device) {
  if (!device.is_cuda()) return std::nullopt;
#ifdef EDITLAB_ACCELERATOR_MEMORY
  const auto stats = at::accelerator::getDeviceStats(index_of(device));
  constexpr auto all = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  DeviceMemory m;
  m.allocated_bytes = stats.allocated_bytes[all].current;
  m.peak_allocated_bytes = stats.allocated_bytes[all].peak;
  m.reserved_bytes = stats.reserved_bytes[all].current;
  m.peak_reserved_bytes = stats.reserved_bytes[all].peak;
  m.total_bytes = static_cast<int64_t>(at::accelerator::getMemoryInfo(index_of(device)).second);
  return m;
#else
  return std::nullopt;
#endif
}

void reset_peak_device_memory(c10::Device device) {
#ifdef EDITLAB_ACCELERATOR_MEMORY
  if (device.is_cuda()) at::accelerator::resetPeakStats(index_of(device));
#else
  (void)device;
#endif
}

ComputeDevices compute_devices() {
  ComputeDevices d;
  d.torch_version = TORCH_VERSION;
  // A CUDA libtorch registers its device guard when it loads, with or without a device.
  d.cuda_built = c10::impl::hasDeviceGuardImpl(c10::DeviceType::CUDA);
  if (!torch::cuda::is_available()) return d;
  d.cudnn = torch::cuda::cudnn_is_available();
  const auto n = static_cast<int>(torch::cuda::device_count());
  for (int i = 0; i < n; ++i) {
    CudaDeviceInfo info;
    info.index = i;
#ifdef EDITLAB_ACCELERATOR_MEMORY
    const auto [free, total] = at::accelerator::getMemoryInfo(static_cast<c10::DeviceIndex>(i));
    info.free_bytes = static_cast<int64_t>(free);
    info.total_bytes = static_cast<int64_t>(total);
#endif
    d.cuda.push_back(info);
  }
  return d;
}

}  // namespace editlab
