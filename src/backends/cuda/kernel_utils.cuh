// Helpers for kiln's own CUDA kernels (.cu files only): device element types of kiln dtypes,
// float conversions, aligned vectors for 16-byte loads, launch sizing and the post-launch check.
#pragma once

#include <kiln/status.h>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_raii.h"
#include "core/half.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace kiln::cuda {

// Device element type of a host storage type (Half -> __half, BFloat16 -> __nv_bfloat16).
template <typename T>
struct DeviceElement {
  using type = T;
};
template <>
struct DeviceElement<Half> {
  using type = __half;
};
template <>
struct DeviceElement<BFloat16> {
  using type = __nv_bfloat16;
};

__device__ __forceinline__ float to_float(float v) {
  return v;
}
__device__ __forceinline__ float to_float(__half v) {
  return __half2float(v);
}
__device__ __forceinline__ float to_float(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// N elements loaded and stored as one aligned access (16 bytes for the sizes used here).
template <typename T, int N>
struct alignas(sizeof(T) * N) AlignedVector {
  T val[N];
};

// Elements per 16-byte vector.
template <typename T>
constexpr int kVectorWidth = static_cast<int>(16 / sizeof(T));

inline bool is_aligned(const void* p, size_t alignment) {
  return reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

constexpr int kElementwiseThreads = 256;

// Blocks for a grid-stride loop over `items` work items: enough to fill the device (8 blocks of
// 256 threads per multiprocessor), no more.
inline unsigned int grid_size(int64_t items, int multiprocessors) {
  int64_t needed = (std::max<int64_t>(items, 1) + kElementwiseThreads - 1) / kElementwiseThreads;
  int64_t cap = static_cast<int64_t>(std::max(multiprocessors, 1)) * 8;
  return static_cast<unsigned int>(std::min(needed, cap));
}

// After a launch: a launch error (bad configuration, no kernel image for this GPU) as a Status
// naming the kernel.
inline Status check_launch(const char* kernel) {
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) return Status::ok();
  return cuda_status(e, std::string("launch of kernel ") + kernel);
}

}  // namespace kiln::cuda
