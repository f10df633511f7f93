// OneHot (ONNX-11 semantics): one-hot encodes integer indices along a new axis.
// Inputs:  0 indices (any numeric dtype but bool; floats are truncated toward zero),
//          1 depth (scalar or [1]; an int constant or host shape value (possibly symbolic), or a
//            float constant (truncated); must be >= 1),
//          2 values (1-D with 2 elements [off_value, on_value]; any dtype).
// Output:  values' dtype; indices' shape with an axis of extent depth inserted at "axis":
//          y[..., d, ...] = on_value if index == d (a negative index counts from depth), else
//          off_value; indices outside [-depth, depth-1] give an all-off row.
// Attributes: "axis" (int, default -1; range [-r-1, r] with r = rank(indices)).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& one_hot_op();
std::span<const TacticDef> one_hot_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> one_hot_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
