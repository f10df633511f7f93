// ScatterElements (ONNX ScatterElements): output = data, then for every position p of indices,
//   output[p with dim axis replaced by indices[p]] (reduction)= updates[p]
// in row-major order of p (so with reduction "none" and repeated indices the last write wins).
//
// Inputs:  0 data     any dtype, rank r >= 1
//          1 indices  int32 / int64, rank r; every dim except axis <= data's; entries in
//                     [-s, s - 1] with s = data's extent on axis
//          2 updates  data's dtype, indices' shape
// Output: data's dtype and shape.
// Attributes: "axis" int in [-r, r) (default 0); "reduction" "none" | "add" | "mul" | "max" |
//   "min" (default "none"). Integers wrap on add/mul; float16/bfloat16 combine in float; bool
//   add/max are "or", mul/min are "and".
// An out-of-range index is an out_of_range error naming it; nothing is written out of bounds.
#pragma once

#include "ops/common/host_device.h"
#include "ops/op.h"

#include <string_view>
#include <type_traits>

namespace kiln::ops {

const OpDef& scatter_elements_op();
std::span<const TacticDef> scatter_elements_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> scatter_elements_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

// The reduction of ScatterElements / ScatterND.
enum class ScatterReduction : uint8_t { kNone, kAdd, kMul, kMax, kMin };
bool parse_scatter_reduction(std::string_view name, ScatterReduction* out);

// Checks the shapes of one run: indices and updates of one shape, of data's rank, no dim but the
// axis larger than data's.
Status scatter_elements_check_shapes(const Dims& data, const Dims& indices, const Dims& updates,
                                     int axis);

// *dst = reduce(*dst, src). T is the storage type (uint8_t for bool, with is_bool set); shared
// by the CPU and CUDA kernels (T may be __half / __nv_bfloat16 there).
template <typename T>
KILN_HOST_DEVICE void scatter_combine(ScatterReduction r, bool is_bool, T* dst, T src) {
  if (r == ScatterReduction::kNone) {
    *dst = src;
  } else if constexpr (std::is_integral_v<T>) {
    if (is_bool) {
      const bool a = *dst != 0, b = src != 0;
      const bool any = r == ScatterReduction::kAdd || r == ScatterReduction::kMax;
      *dst = static_cast<T>(any ? (a || b) : (a && b));
      return;
    }
    using U = std::make_unsigned_t<T>;
    switch (r) {
      case ScatterReduction::kAdd:
        *dst = static_cast<T>(static_cast<U>(*dst) + static_cast<U>(src));
        break;
      case ScatterReduction::kMul:
        // Through uint64: the product of promoted small unsigned types may overflow int.
        *dst = static_cast<T>(static_cast<U>(static_cast<uint64_t>(static_cast<U>(*dst)) *
                                             static_cast<uint64_t>(static_cast<U>(src))));
        break;
      case ScatterReduction::kMax:
        *dst = *dst < src ? src : *dst;
        break;
      case ScatterReduction::kMin:
        *dst = src < *dst ? src : *dst;
        break;
      default:
        break;
    }
  } else {
    const float a = static_cast<float>(*dst), b = static_cast<float>(src);
    float v = a;
    switch (r) {
      case ScatterReduction::kAdd:
        v = a + b;
        break;
      case ScatterReduction::kMul:
        v = a * b;
        break;
      case ScatterReduction::kMax:
        v = a < b ? b : a;
        break;
      case ScatterReduction::kMin:
        v = b < a ? b : a;
        break;
      default:
        break;
    }
    *dst = static_cast<T>(v);
  }
}

}  // namespace kiln::ops
