// Warp and block reductions for kiln's CUDA kernels (Reduce, Softmax, the norms, TopK), and a
// loader of float parameters whose dtype is known only at run time.
//
// block_all_reduce needs every thread of the block to call it (no early return before it) and
// blockDim.x a multiple of 32; it synchronizes, so it may be called several times in a row with
// the same scratch.
#pragma once

#include <kiln/types.h>

#include "backends/cuda/kernel_utils.cuh"

#include <cuda_runtime.h>

#include <cstdint>

namespace kiln::cuda {

constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ float shfl_xor(float v, int lane_mask) {
  return __shfl_xor_sync(kFullMask, v, lane_mask);
}
__device__ __forceinline__ int shfl_xor(int v, int lane_mask) {
  return __shfl_xor_sync(kFullMask, v, lane_mask);
}
__device__ __forceinline__ int64_t shfl_xor(int64_t v, int lane_mask) {
  return static_cast<int64_t>(__shfl_xor_sync(kFullMask, static_cast<long long>(v), lane_mask));
}
__device__ __forceinline__ uint64_t shfl_xor(uint64_t v, int lane_mask) {
  return static_cast<uint64_t>(
      __shfl_xor_sync(kFullMask, static_cast<unsigned long long>(v), lane_mask));
}
__device__ __forceinline__ float2 shfl_xor(float2 v, int lane_mask) {
  return make_float2(__shfl_xor_sync(kFullMask, v.x, lane_mask),
                     __shfl_xor_sync(kFullMask, v.y, lane_mask));
}

// Every lane of the warp gets op over the 32 lanes' values.
template <typename T, typename Op>
__device__ __forceinline__ T warp_all_reduce(T v, Op op) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = op(v, shfl_xor(v, o));
  return v;
}

// Every thread of the block gets op over the block's values. `scratch` holds 32 T in shared
// memory; `identity` is op's neutral value.
template <typename T, typename Op>
__device__ __forceinline__ T block_all_reduce(T v, Op op, T identity, T* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int warps = static_cast<int>(blockDim.x >> 5);
  v = warp_all_reduce(v, op);
  if (warps == 1) return v;
  __syncthreads();  // an earlier call may still be reading scratch
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : identity;
  return warp_all_reduce(v, op);
}

struct SumOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    return a + b;
  }
};
struct MaxFloatOp {  // ignores NaN like fmaxf
  __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// Element i of a float32 / float16 / bfloat16 buffer whose dtype is a run-time value (parameters
// such as scale and bias may have a dtype other than X's).
__device__ __forceinline__ float load_float(const void* p, DataType dt, int64_t i) {
  switch (dt) {
    case DataType::kFloat16:
      return __half2float(static_cast<const __half*>(p)[i]);
    case DataType::kBFloat16:
      return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    default:
      return static_cast<const float*>(p)[i];
  }
}

// Threads per block for one row of n elements handled by a whole block: a power of two in
// [32, max_threads].
inline int block_threads_for(int64_t n, int max_threads) {
  int t = 32;
  while (t < max_threads && t < n) t <<= 1;
  return t;
}

}  // namespace kiln::cuda
