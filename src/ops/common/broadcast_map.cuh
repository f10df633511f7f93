// A binary map with numpy broadcasting for CUDA ops (PRelu, BitShift): z[i] = f(a[ia], b[ib]),
// where ia / ib are the offsets of output element i in A and B (stride 0 along broadcast dims).
// The host side merges output dims: size-1 dims are dropped and neighbours d, d + 1 merge when
// every operand walks them as one run (stride[d] == stride[d + 1] * dims[d + 1], which includes
// two broadcast dims in a row), so [N, C, H, W] with a [C, 1, 1] operand becomes [N, C, H*W].
// The kernel is a grid-stride loop with 32-bit index math below 2^31 elements. `f` is a functor
// with a __device__ operator()(A, B) -> Out. Launch only: capturable.
#pragma once

#include <kiln/types.h>

#include "backends/cuda/kernel_utils.cuh"

#include <climits>
#include <string>

namespace kiln::cuda {

// Output dims after merging, with each operand's element stride per dim.
struct BroadcastGeometry {
  int rank = 0;
  int64_t dims[Dims::kMaxDims] = {};
  int64_t stride_a[Dims::kMaxDims] = {};
  int64_t stride_b[Dims::kMaxDims] = {};
};

// Strides of `in` (right-aligned against `out`) per dim of `out`; false if it does not broadcast.
inline bool aligned_strides(const Dims& in, const Dims& out, int64_t* strides) {
  if (in.rank() > out.rank()) return false;
  int64_t s = 1;
  for (int d = out.rank() - 1; d >= 0; --d) {
    const int i = d - (out.rank() - in.rank());
    const int64_t e = i >= 0 ? in[i] : 1;
    if (e != 1 && e != out[d]) return false;
    strides[d] = e == 1 ? 0 : s;
    s *= e;
  }
  return true;
}

// The merged geometry of A and B broadcast to `out`; an error naming `op` if they don't.
inline Status broadcast_geometry(const char* op, const Dims& a, const Dims& b, const Dims& out,
                                 BroadcastGeometry* g) {
  int64_t sa[Dims::kMaxDims], sb[Dims::kMaxDims];
  if (!aligned_strides(a, out, sa) || !aligned_strides(b, out, sb)) {
    return invalid_argument(std::string(op) + ": " + a.to_string() + " and " + b.to_string() +
                            " do not broadcast to " + out.to_string());
  }
  *g = BroadcastGeometry{};
  for (int d = 0; d < out.rank(); ++d) {
    if (out[d] == 1) continue;
    const int r = g->rank;
    if (r > 0 && g->stride_a[r - 1] == sa[d] * out[d] && g->stride_b[r - 1] == sb[d] * out[d]) {
      g->dims[r - 1] *= out[d];
      g->stride_a[r - 1] = sa[d];
      g->stride_b[r - 1] = sb[d];
      continue;
    }
    g->dims[r] = out[d];
    g->stride_a[r] = sa[d];
    g->stride_b[r] = sb[d];
    ++g->rank;
  }
  if (g->rank == 0) {  // a single element
    g->rank = 1;
    g->dims[0] = 1;
  }
  return Status::ok();
}

template <typename A, typename B, typename Out, typename Index, typename F>
__global__ void broadcast_map_kernel(const A* a, const B* b, Out* z, Index n, BroadcastGeometry g,
                                     F f) {
  const Index step = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    Index ia, ib;
    if (g.rank == 1) {  // uniform per launch
      ia = i * static_cast<Index>(g.stride_a[0]);
      ib = i * static_cast<Index>(g.stride_b[0]);
    } else {
      Index rest = i;
      ia = 0;
      ib = 0;
      for (int d = g.rank - 1; d >= 0; --d) {
        const Index extent = static_cast<Index>(g.dims[d]);
        const Index idx = rest % extent;
        rest /= extent;
        ia += idx * static_cast<Index>(g.stride_a[d]);
        ib += idx * static_cast<Index>(g.stride_b[d]);
      }
    }
    z[i] = f(a[ia], b[ib]);
  }
}

// Launches z = f(a, b) over the n elements of the output described by `g`.
template <typename A, typename B, typename Out, typename F>
Status launch_broadcast_map(const A* a, const B* b, Out* z, int64_t n, const BroadcastGeometry& g,
                            const F& f, int sms, cudaStream_t stream, const char* name) {
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
