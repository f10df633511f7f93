// Index arithmetic shared by CUDA kernels and testable on the host: the layouts are computed on
// the host from concrete shapes, passed to kernels by value, and the offset functions run on
// both sides (KILN_HOST_DEVICE). Plain C++ otherwise, so tests/unit checks them without a GPU.
//   BroadcastGeometry  numpy broadcasting of two operands to an output, dims merged
//                      (ops/common/broadcast_map.cuh)
//   GroupLayout        a tensor split into groups (kept dims) of elements (reduced dims), dims
//                      merged (ops/common/group_reduce.cuh)
#pragma once

#include <kiln/status.h>
#include <kiln/types.h>

#include "ops/common/host_device.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::ops {

// ---------------------------------------------------------------- broadcasting

// Output dims after merging, with each operand's element stride per dim.
struct BroadcastGeometry {
  int rank = 0;
  int64_t dims[Dims::kMaxDims] = {};
  int64_t stride_a[Dims::kMaxDims] = {};
  int64_t stride_b[Dims::kMaxDims] = {};
};

// Strides of `in` (right-aligned against `out`) per dim of `out` (0 where `in` has extent 1);
// false if it does not broadcast.
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

// The geometry of A and B broadcast to `out`: size-1 output dims dropped, and neighbours d,
// d + 1 merged when every operand walks them as one run (stride[d] == stride[d + 1] * dims[d + 1],
// two broadcast dims in a row included). Error naming `op` if A or B does not broadcast.
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

// Offsets in A and B of output element i.
template <typename Index>
KILN_HOST_DEVICE void broadcast_offsets(const BroadcastGeometry& g, Index i, Index* ia, Index* ib) {
  if (g.rank == 1) {
    *ia = i * static_cast<Index>(g.stride_a[0]);
    *ib = i * static_cast<Index>(g.stride_b[0]);
    return;
  }
  Index rest = i, oa = 0, ob = 0;
  for (int d = g.rank - 1; d >= 0; --d) {
    const Index extent = static_cast<Index>(g.dims[d]);
    const Index idx = rest % extent;
    rest /= extent;
    oa += idx * static_cast<Index>(g.stride_a[d]);
    ob += idx * static_cast<Index>(g.stride_b[d]);
  }
  *ia = oa;
  *ib = ob;
}

// ---------------------------------------------------------------- groups

// A contiguous tensor as groups x elements: the merged kept dims and reduced dims with their
// strides. Group g and element r enumerate the kept and the reduced coordinates in row-major
// order (so r is the index along the reduced axis when one axis is reduced).
struct GroupLayout {
  int kept_rank = 0, red_rank = 0;
  int64_t kept_dims[Dims::kMaxDims] = {}, kept_strides[Dims::kMaxDims] = {};
  int64_t red_dims[Dims::kMaxDims] = {}, red_strides[Dims::kMaxDims] = {};
  int64_t groups = 1, reduced = 1;
  bool last_dim_reduced = false;  // the innermost non-1 dim is reduced (elements contiguous)
};

// The layout of `x` with the dims where reduced[d] is true reduced (reduced.size() == rank).
inline GroupLayout group_layout(const Dims& x, const std::vector<bool>& reduced) {
  GroupLayout l;
  int64_t strides[Dims::kMaxDims];
  int64_t stride = 1;
  for (int d = x.rank() - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= x[d];
  }
  int last_kind = -1;  // kind (0 kept, 1 reduced) of the previous non-1 dim
  for (int d = 0; d < x.rank(); ++d) {
    const bool red = reduced[d];
    (red ? l.reduced : l.groups) *= x[d];
    if (x[d] == 1) continue;
    int& rank = red ? l.red_rank : l.kept_rank;
    int64_t* dims = red ? l.red_dims : l.kept_dims;
    int64_t* st = red ? l.red_strides : l.kept_strides;
    if (last_kind == static_cast<int>(red)) {  // adjacent dims of one kind: one run in memory
      dims[rank - 1] *= x[d];
      st[rank - 1] = strides[d];
    } else {
      dims[rank] = x[d];
      st[rank] = strides[d];
      ++rank;
    }
    last_kind = static_cast<int>(red);
  }
  l.last_dim_reduced = last_kind == 1;
  return l;
}

// Offset of index i of a (dims, strides) list of `rank` dims (0 for rank 0).
KILN_HOST_DEVICE int64_t strided_offset(const int64_t* dims, const int64_t* strides, int rank,
                                        int64_t i) {
  if (rank == 1) return i * strides[0];
  int64_t off = 0;
  for (int d = rank - 1; d >= 0; --d) {
    off += (i % dims[d]) * strides[d];
    i /= dims[d];
  }
  return off;
}

}  // namespace kiln::ops
