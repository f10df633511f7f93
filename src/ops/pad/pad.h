// Pad (ONNX-21 semantics, any dtype): pads (or, with negative amounts, crops) X.
// Inputs:  0 X,
//          1 pads (int64/int32 1-D: the begin amounts of every padded axis, then the end
//            amounts; a constant or a host shape value, possibly symbolic),
//          2 constant_value (optional; X's dtype, one element (an empty tensor means 0); used by
//            mode "constant"),
//          3 axes (optional; int64/int32 1-D constant; the axes that pads refer to, negative
//            counts from the back, no repeats; default all axes).
//          Without inputs 1-3, the pre-11 attributes "pads" (ints) and "value" (float) are used.
// Output:  X's dtype; extent d + begin + end on each padded axis.
// Attributes: "mode": "constant" (default; fill with constant_value), "reflect" (mirror without
//             repeating the edge), "edge" (repeat the edge), "wrap" (periodic). Pads larger than
//             the input keep reflecting / wrapping periodically (as numpy.pad).
// Negative pads crop that side first; reflect / edge / wrap then extend the cropped tensor.
// Padding an empty axis with reflect / edge / wrap is an error.
#pragma once

#include "ops/common/host_device.h"
#include "ops/op.h"

namespace kiln::ops {

const OpDef& pad_op();
std::span<const TacticDef> pad_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> pad_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

enum class PadMode : uint8_t { kConstant, kReflect, kEdge, kWrap };
bool parse_pad_mode(std::string_view name, PadMode* out);

// Source index on an axis of (cropped) extent n for a padded position s (relative to the
// first kept element), or -1 where mode kConstant fills. n must be > 0 unless s is in range.
// Shared by the CPU and CUDA kernels.
KILN_HOST_DEVICE int64_t pad_source_index(PadMode mode, int64_t s, int64_t n) {
  if (s >= 0 && s < n) return s;
  switch (mode) {
    case PadMode::kConstant:
      return -1;
    case PadMode::kEdge:
      return s < 0 ? 0 : n - 1;
    case PadMode::kWrap: {
      const int64_t m = s % n;
      return m < 0 ? m + n : m;
    }
    case PadMode::kReflect: {
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      int64_t m = s % period;
      if (m < 0) m += period;
      return m < n ? m : period - m;
    }
  }
  return -1;
}

// Per axis of a concrete pad: output position o reads the cropped input at
// pad_source_index(mode, o - pad, n) + lo (pad = the begin padding, lo = the begin crop, n = the
// kept extent).
struct PadPlan {
  int rank = 0;
  int64_t pad[Dims::kMaxDims] = {}, lo[Dims::kMaxDims] = {}, n[Dims::kMaxDims] = {};
};

// Begin / end amounts per axis from host views of the pads input and the optional axes input
// (axes.data null = every axis, in order).
Status pad_amounts(const TensorView& pads, const TensorView& axes, int rank, int64_t* begin,
                   int64_t* end);
// The plan of padding x into y with these amounts; checks that they map x's shape to y's and
// that a non-constant mode has elements to extend.
Status pad_plan(PadMode mode, const Dims& x, const Dims& y, const int64_t* begin,
                const int64_t* end, PadPlan* plan);

}  // namespace kiln::ops
