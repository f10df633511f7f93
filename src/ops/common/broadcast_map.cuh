// A binary map with numpy broadcasting for CUDA ops (PRelu, BitShift): z[i] = f(a[ia], b[ib]),
// where ia / ib are the offsets of output element i in A and B (stride 0 along broadcast dims).
// The host side (ops/common/index_layout.h) merges output dims, so [N, C, H, W] with a [C, 1, 1]
// operand runs as [N, C, H*W].
// The kernel is a grid-stride loop with 32-bit index math below 2^31 elements. `f` is a functor
// with a __device__ operator()(A, B) -> Out. Launch only: capturable.
#pragma once

#include "backends/cuda/kernel_utils.cuh"
#include "ops/common/index_layout.h"

#include <climits>

namespace kiln::cuda {

template <typename A, typename B, typename Out, typename Index, typename F>
__global__ void broadcast_map_kernel(const A* a, const B* b, Out* z, Index n,
                                     ops::BroadcastGeometry g, F f) {
  const Index step = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    Index ia, ib;
    ops::broadcast_offsets(g, i, &ia, &ib);
    z[i] = f(a[ia], b[ib]);
  }
}

// Launches z = f(a, b) over the n elements of the output described by `g`.
template <typename A, typename B, typename Out, typename F>
Status launch_broadcast_map(const A* a, const B* b, Out* z, int64_t n,
                            const ops::BroadcastGeometry& g, const F& f, int sms,
                            cudaStream_t stream, const char* name) {
  if (n == 0) return Status::ok();
  // 32-bit indices while i + the grid stride cannot wrap.
  if (n <= static_cast<int64_t>(INT32_MAX)) {
    broadcast_map_kernel<A, B, Out, uint32_t, F>
        <<<grid_size(n, sms), kElementwiseThreads, 0, stream>>>(a, b, z, static_cast<uint32_t>(n),
                                                                g, f);
  } else {
    broadcast_map_kernel<A, B, Out, int64_t, F>
        <<<grid_size(n, sms), kElementwiseThreads, 0, stream>>>(a, b, z, n, g, f);
  }
  return check_launch(name);
}

}  // namespace kiln::cuda
