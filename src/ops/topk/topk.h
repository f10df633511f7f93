// TopK: the k largest (or smallest) elements of X along one axis, and their indices.
// Inputs:  0 X (float32 / float16 / bfloat16 / int8 / uint8 / int32 / int64),
//          1 K (optional; int64 scalar or [1]; must be a constant or a host shape value).
// Outputs: 0 Values (X's dtype), 1 Indices (int64); both are X's shape with the axis dim = k.
// Attributes: "k" (int; used when input K is absent), "axis" (int, default -1),
//             "largest" (int, default 1; 0 = smallest), "sorted" (int, default 1; 0 = the order
//             of the k results is unspecified).
// Ties keep the lower index first (as ONNX). NaN orders above every number (as numpy/PyTorch).
// k < 0, or k above a static axis extent, is an error; a symbolic k is checked when run.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& topk_op();
std::span<const TacticDef> topk_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> topk_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
