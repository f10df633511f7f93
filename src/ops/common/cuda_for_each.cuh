// Helpers shared by the CUDA kernels of the data-movement and indexing ops (Range, Pad, Resize,
// Tile, Trilu, GatherElements, GatherND, ScatterElements, ScatterND, OneHot, CumSum,
// ArgReduce): a grid-stride "for each index" kernel over a device functor, N-D index
// arithmetic, index-tensor loads, a dispatch from kiln dtypes to device element types, and host
// copies of small inputs.
// Launches only enqueue work on the given stream (capturable) and do nothing for zero items.
#pragma once

#include "backends/cuda/kernel_utils.cuh"
#include "core/tensor.h"
#include "ops/op.h"

#include <cstdint>

namespace kiln::cuda {

constexpr int kMaxRank = Dims::kMaxDims;

// Calls f(i) for every i in [0, n), grid-stride. F is a trivially copyable functor with
// `__device__ void operator()(int64_t) const`.
template <typename F>
__global__ void for_each_kernel(int64_t n, F f) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    f(i);
  }
}

// Launches for_each_kernel over n items on `stream` (nothing when n <= 0); a launch failure is a
// Status naming `what`. `multiprocessors` sizes the grid (grid_size).
template <typename F>
Status launch_for_each(const char* what, int64_t n, int multiprocessors, void* stream, const F& f) {
  if (n <= 0) return Status::ok();
  for_each_kernel<F><<<grid_size(n, multiprocessors), kElementwiseThreads, 0,
                       static_cast<cudaStream_t>(stream)>>>(n, f);
  return check_launch(what);
}

// A row-major shape passed by value to kernels.
struct NdShape {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
};

inline NdShape nd_shape(const Dims& d) {
  NdShape s;
  s.rank = d.rank();
  for (int i = 0; i < d.rank(); ++i) s.dims[i] = d[i];
  return s;
}

// a / b for a >= 0, b > 0: in 32 bits when both fit (64-bit integer division is a long
// software sequence on the GPU; index arithmetic is mostly small numbers).
__device__ __forceinline__ int64_t div_nonneg(int64_t a, int64_t b) {
  if (((static_cast<uint64_t>(a) | static_cast<uint64_t>(b)) >> 32) == 0) {
    return static_cast<int64_t>(static_cast<uint32_t>(a) / static_cast<uint32_t>(b));
  }
  return a / b;
}

// Element i of an int32 or int64 index tensor.
__device__ __forceinline__ int64_t load_index(const void* p, bool is64, int64_t i) {
  return is64 ? static_cast<const int64_t*>(p)[i]
              : static_cast<int64_t>(static_cast<const int32_t*>(p)[i]);
}

// Host: calls fn(T{}) with T the device element type of `dtype` (__half, __nv_bfloat16; bool is
// uint8_t).
template <typename Fn>
decltype(auto) dispatch_device_dtype(DataType dtype, Fn&& fn) {
  return dispatch_dtype(dtype, [&](auto tag) {
    using T = typename DeviceElement<decltype(tag)>::type;
    return fn(T{});
  });
}

// The widest word (16, 8, 4, 2 or 1 bytes) that divides `bytes` and aligns both addresses: rows
// of that many bytes move as whole words.
inline int64_t widest_word(int64_t bytes, const void* a, const void* b) {
  int64_t word = 16;
  while (word > 1 && (bytes % word != 0 || !is_aligned(a, static_cast<size_t>(word)) ||
                      !is_aligned(b, static_cast<size_t>(word)))) {
    word /= 2;
  }
  return word;
}

// Host: calls fn(W{}) with W the device word of `word` bytes (16: uint4, 8: uint2, 4, 2, 1).
template <typename Fn>
decltype(auto) dispatch_row_word(int64_t word, Fn&& fn) {
  switch (word) {
    case 16:
      return fn(uint4{});
    case 8:
      return fn(uint2{});
    case 4:
      return fn(uint32_t{});
    case 2:
      return fn(uint16_t{});
    default:
      return fn(uint8_t{});
  }
}

}  // namespace kiln::cuda

namespace kiln::ops {

// The host copy of input i (ExecArgs::host_inputs), or a view with null data where the runtime
// gave none. Unlike host_input(), never falls back to the input itself, which is device memory
// on this backend.
inline TensorView host_copy(const ExecArgs& args, size_t i) {
  return i < args.host_inputs.size() ? args.host_inputs[i] : TensorView{};
}

}  // namespace kiln::ops
