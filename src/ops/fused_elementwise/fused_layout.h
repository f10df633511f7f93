// Addressing of the FusedElementwise CUDA kernel, shared with the host so that tests/unit checks
// it without a GPU. The kernel processes the output in items of V consecutive elements (V = 16
// bytes of the output dtype, or 1); for each item it reads every input one of four ways:
//   kVector     V consecutive elements from the item's offset in one aligned access of
//               V * size bytes (a full input, or a strided input contiguous along the
//               innermost dim with the item inside one row and every offset a multiple of V);
//   kBroadcast  one element for all V (a single-element input, or one broadcast along the
//               innermost dim with the item inside one row);
//   kRun        V consecutive elements from the item's offset, element by element (as kVector
//               where the address is not aligned for the vector access);
//   kGather     each element's own offset (a strided input whose rows are not a multiple of V).
// Offsets of strided inputs come from the output index through the collapsed geometry: output
// dims merged where every strided input walks them as one run (full and single-element inputs
// do not take part), and the coordinates found with multiply-high "fast divisors" in 32-bit
// index math (below 2^31 elements) instead of 64-bit division.
#pragma once

#include <kiln/types.h>

#include "ops/common/host_device.h"
#include "ops/fused_elementwise/fused_elementwise.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace kiln::ops {

// Division of n <= INT32_MAX by a fixed 1 <= d <= INT32_MAX as q = (mulhi(n, magic) + n) >> shift
// (Granlund & Montgomery; the form of PyTorch's IntDivider): shift = ceil(log2 d),
// magic = floor(2^32 * (2^shift - d) / d) + 1 (fits in 32 bits).
struct FastDivisor32 {
  uint32_t divisor = 1, magic = 1, shift = 0;

  FastDivisor32() = default;
  explicit FastDivisor32(uint32_t d) : divisor(d < 1 ? 1 : d) {
    d = divisor;
    shift = 0;
    while (shift < 32 && (uint64_t{1} << shift) < d) ++shift;
    magic = static_cast<uint32_t>(((uint64_t{1} << 32) * ((uint64_t{1} << shift) - d)) / d + 1);
  }
  KILN_HOST_DEVICE uint32_t div(uint32_t n) const {
#if defined(__CUDA_ARCH__)
    return (__umulhi(n, magic) + n) >> shift;
#else
    return static_cast<uint32_t>(((static_cast<uint64_t>(n) * magic >> 32) + n) >> shift);
#endif
  }
};

// 64-bit index math (outputs of 2^31 elements or more): plain division.
struct PlainDivisor64 {
  int64_t divisor = 1;
  PlainDivisor64() = default;
  explicit PlainDivisor64(int64_t d) : divisor(d) {}
  KILN_HOST_DEVICE int64_t div(int64_t n) const { return n / divisor; }
};

template <typename Index>
using FusedDivisor =
    std::conditional_t<std::is_same_v<Index, uint32_t>, FastDivisor32, PlainDivisor64>;

// How an input relates to the output.
enum class FusedMode : uint8_t {
  kFull = 0,     // same element count: read at the output index
  kScalar = 1,   // one element
  kStrided = 2,  // broadcast along some dims: read through the collapsed geometry
};

// How the kernel reads an input for an item of V elements (see the file comment).
enum class FusedAccess : uint8_t { kVector = 0, kBroadcast = 1, kRun = 2, kGather = 3 };

// The collapsed output geometry and the strided inputs' strides (kernel parameter).
template <typename Index>
struct FusedLayout {
  int rank = 1;  // collapsed dims (>= 1)
  Index dims[Dims::kMaxDims] = {};
  FusedDivisor<Index> div[Dims::kMaxDims] = {};  // div[d] divides by dims[d]
  Index strides[kFusedMaxInputs][Dims::kMaxDims] = {};
};

// Per input: mode and access (kernel parameter, with the pointers and dtypes).
struct FusedInputPlan {
  int count = 0;
  FusedMode mode[kFusedMaxInputs] = {};
  FusedAccess access[kFusedMaxInputs] = {};
};

// Offset of output element e in strided input i.
template <typename Index>
KILN_HOST_DEVICE Index fused_strided_offset(const FusedLayout<Index>& l, int i, Index e) {
  Index off = 0;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int d = Dims::kMaxDims - 1; d >= 1; --d) {
    if (d < l.rank) {
      const Index q = l.div[d].div(e);
      off += (e - q * l.dims[d]) * l.strides[i][d];
      e = q;
    }
  }
  return off + e * l.strides[i][0];
}

// Offset of the first element e0 of an item in input i (kGather inputs read each element's own
// offset instead; the others read base + k * fused_item_step for k < V).
template <typename Index>
KILN_HOST_DEVICE Index fused_item_base(const FusedLayout<Index>& l, const FusedInputPlan& p, int i,
                                       Index e0) {
  switch (p.mode[i]) {
    case FusedMode::kFull:
      return e0;
    case FusedMode::kScalar:
      return 0;
    case FusedMode::kStrided:
      break;
  }
  return fused_strided_offset(l, i, e0);
}

// Element step within an item: 0 for kBroadcast, else 1.
KILN_HOST_DEVICE int fused_item_step(const FusedInputPlan& p, int i) {
  return p.access[i] == FusedAccess::kBroadcast ? 0 : 1;
}

// Host: the layout and input plan of inputs `shapes` (dtype sizes `elem_bytes`, data addresses
// `addr` for the alignment checks) broadcast to `y`, for items of `vec` elements. False if an
// input does not broadcast to y without enlarging it.
template <typename Index>
bool plan_fused_layout(const Dims* shapes, const size_t* elem_bytes, const uintptr_t* addr, int n,
                       const Dims& y, int vec, FusedLayout<Index>* l, FusedInputPlan* p) {
  constexpr int kMax = Dims::kMaxDims;
  *l = FusedLayout<Index>{};
  *p = FusedInputPlan{};
  p->count = n;
  int64_t full[kFusedMaxInputs][kMax] = {};
  for (int i = 0; i < n; ++i) {
    if (shapes[i].rank() > y.rank()) return false;
    const int shift = y.rank() - shapes[i].rank();
    int64_t s = 1;
    for (int d = y.rank() - 1; d >= 0; --d) {
      const int64_t e = d >= shift ? shapes[i][d - shift] : 1;
      if (e != 1 && e != y[d]) return false;
      full[i][d] = e == 1 ? 0 : s;
      s *= e;
    }
    const int64_t numel = shapes[i].volume();
    p->mode[i] = numel == y.volume() ? FusedMode::kFull
                 : numel == 1        ? FusedMode::kScalar
                                     : FusedMode::kStrided;
  }
  // Collapse: drop size-1 dims; merge d into the previous kept dim when every strided input walks
  // both as one run (its outer stride is the inner stride times the inner extent; both 0 too).
  int64_t dims[kMax] = {}, st[kFusedMaxInputs][kMax] = {};
  int rank = 0;
  for (int d = 0; d < y.rank(); ++d) {
    if (y[d] == 1) continue;
    bool merge = rank > 0;
    for (int i = 0; i < n && merge; ++i) {
      if (p->mode[i] == FusedMode::kStrided) merge = st[i][rank - 1] == full[i][d] * y[d];
    }
    if (!merge) {
      dims[rank] = 1;
      ++rank;
    }
    dims[rank - 1] *= y[d];
    for (int i = 0; i < n; ++i) st[i][rank - 1] = full[i][d];
  }
  if (rank == 0) {
    rank = 1;
    dims[0] = 1;
  }
  l->rank = rank;
  for (int d = 0; d < rank; ++d) {
    l->dims[d] = static_cast<Index>(dims[d]);
    l->div[d] = FusedDivisor<Index>(static_cast<Index>(dims[d]));
    for (int i = 0; i < n; ++i) l->strides[i][d] = static_cast<Index>(st[i][d]);
  }
  // Access: an item of `vec` elements starting at a multiple of vec stays in one row of the
  // innermost collapsed dim when that dim is a multiple of vec.
  const bool in_row = dims[rank - 1] % vec == 0;
  for (int i = 0; i < n; ++i) {
    const size_t bytes = elem_bytes[i] * static_cast<size_t>(vec);
    const size_t align = std::min<size_t>(bytes, 16);
    const bool aligned = addr[i] % align == 0;
    FusedAccess a = FusedAccess::kGather;
    switch (p->mode[i]) {
      case FusedMode::kFull:
        a = aligned ? FusedAccess::kVector : FusedAccess::kRun;
        break;
      case FusedMode::kScalar:
        a = FusedAccess::kBroadcast;
        break;
      case FusedMode::kStrided: {
        const int64_t inner = st[i][rank - 1];
        if (!in_row || (inner != 0 && inner != 1)) break;  // kGather
        if (inner == 0) {
          a = FusedAccess::kBroadcast;
          break;
        }
        // An item's offset is a multiple of vec when every outer stride is (the innermost
        // coordinate of e0 is, as the row length is).
        bool multiple = true;
        for (int d = 0; d + 1 < rank; ++d) multiple = multiple && st[i][d] % vec == 0;
        a = aligned && multiple ? FusedAccess::kVector : FusedAccess::kRun;
        break;
      }
    }
    p->access[i] = a;
  }
  return true;
}

}  // namespace kiln::ops
