// Pooling: max, average or Lp norm over sliding windows of the spatial dims (ONNX MaxPool /
// AveragePool / LpPool / GlobalMaxPool / GlobalAveragePool / GlobalLpPool).
//
// Input 0 X [N, C, D1, ..., Dk], k >= 1: float32 / float16 / bfloat16; max also int8 / uint8.
// Attributes:
//   "type"       "max" | "average" | "lp" (required)
//   "p"          int >= 1, lp only: y = (sum of |x|^p over the window taps inside X)^(1/p)
//                (default 2)
//   "global"     int, 1 = pool over all spatial dims (output [N, C, 1, ..., 1]); the window
//                attributes below are then ignored (default 0)
//   "kernel"     ints, one per spatial dim, >= 1 (required unless global)
//   "strides"    ints >= 1 (default 1)
//   "pads"       ints >= 0, begins of every spatial dim then ends (default 0); each must be smaller
//                than the dilated kernel extent, as in ONNX Runtime
//   "dilations"  ints >= 1 (default 1)
//   "ceil_mode"  int, 1 = round the output extent up; windows that would start in the end padding
//                are dropped (ONNX / PyTorch rule) (default 0)
//   "count_include_pad" int, average only: 1 = divide by the taps inside the padded input
//                [-pad_begin, D + pad_end), 0 = by the taps inside the input (default 0)
//   "channels_last" int, 1 = X and Y are [N, D1, ..., Dk, C] / [N, O1, ..., Ok, C] (NHWC for
//                2-D) (default 0); set by the layout pass
// Output [N, C, O1, ..., Ok], same dtype:
//   Oi = floor((Di + pb + pe - eff_k) / s) + 1 with eff_k = dil * (k - 1) + 1, or with ceil_mode
//   Oi = min(ceil((Di + pb + pe - eff_k) / s) + 1, ceil((Di + pb) / s)).
// A window with no tap inside the input gives the lowest value (max) or 0 (average, lp).
#pragma once

#include "ops/common/layout.h"
#include "ops/op.h"

#include <vector>

namespace kiln::ops {

const OpDef& pooling_op();
std::span<const TacticDef> pooling_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> pooling_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

struct PoolParams {
  bool is_max = true;
  bool is_lp = false;  // lp pooling (is_max is false)
  int64_t p = 2;       // the norm of lp pooling
  bool global = false;
  bool ceil_mode = false;
  bool count_include_pad = false;
  bool channels_last = false;
  int spatial = 0;
  // Window attributes (unused when global).
  std::vector<int64_t> kernel, strides, pads, dilations;
};

// Reads and validates the attributes of a Pooling node with `spatial` spatial dims.
Result<PoolParams> read_pool_params(const ir::Attrs& attrs, int spatial);

}  // namespace kiln::ops
