// ArgReduce: ONNX ArgMax / ArgMin (opset 13 semantics): the index of the largest / smallest
// element of X along one axis.
// Inputs:  0 X (float32 / float16 / bfloat16 / int8 / uint8 / int32 / int64; rank >= 1; the
//            reduced axis must not be empty).
// Output:  int64; X's shape with the axis extent 1 (keepdims=1) or the axis removed.
// Attributes: "op" ("max" | "min", required), "axis" (int, default 0; negative counts from the
//             back), "keepdims" (int, default 1), "select_last_index" (int, default 0): on ties,
//             1 returns the last index instead of the first.
// NaN counts as the extreme value (as numpy): the first NaN wins (the last with
// select_last_index).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& arg_reduce_op();
std::span<const TacticDef> arg_reduce_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> arg_reduce_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
