// A grid-stride map kernel for CUDA ops whose output element is a function of one input element
// (Shrink, FloatClass): y[i] = f(x[i]). Loads 16 bytes of X per access (and stores the matching
// number of outputs) when both buffers are aligned for it, one element at a time otherwise.
// `f` is a functor with a __device__ operator()(In) -> Out (no extended lambdas: kiln builds
// without --extended-lambda). Launch only: capturable.
#pragma once

#include "backends/cuda/kernel_utils.cuh"

namespace kiln::cuda {

template <typename In, typename Out, int kVec, typename F>
__global__ void map_kernel(const In* x, Out* y, int64_t n, F f) {
  using VIn = AlignedVector<In, kVec>;
  using VOut = AlignedVector<Out, kVec>;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t nvec = n / kVec;
  for (int64_t i = tid; i < nvec; i += stride) {
    const VIn v = reinterpret_cast<const VIn*>(x)[i];
    VOut o;
#pragma unroll
    for (int k = 0; k < kVec; ++k) o.val[k] = f(v.val[k]);
    reinterpret_cast<VOut*>(y)[i] = o;
  }
  for (int64_t i = nvec * kVec + tid; i < n; i += stride) y[i] = f(x[i]);
}

// Launches y[i] = f(x[i]) for i < n on `stream` (nothing for n == 0); `name` names the kernel in
// a launch error.
template <typename In, typename Out, typename F>
Status launch_map(const In* x, Out* y, int64_t n, const F& f, int sms, cudaStream_t stream,
                  const char* name) {
  if (n == 0) return Status::ok();
  constexpr int kVec = kVectorWidth<In>;
  if (is_aligned(x, 16) && is_aligned(y, sizeof(Out) * kVec)) {
    const int64_t items = std::max<int64_t>(n / kVec, n % kVec);
    map_kernel<In, Out, kVec, F>
        <<<grid_size(items, sms), kElementwiseThreads, 0, stream>>>(x, y, n, f);
  } else {
    map_kernel<In, Out, 1, F><<<grid_size(n, sms), kElementwiseThreads, 0, stream>>>(x, y, n, f);
  }
  return check_launch(name);
}

}  // namespace kiln::cuda
