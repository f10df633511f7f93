// LpNormalization (ONNX LpNormalization): y = x / ||x||_p along one axis.
//
// Input 0 X: float32 / float16 / bfloat16, rank >= 1.
// Output Y: X's dtype and shape.
// Attributes: "axis" int in [-rank, rank) (default -1), "p" 1 or 2 (default 2).
// A line whose norm is 0 gives zeros (as ONNX Runtime), not NaN.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& lp_norm_op();
std::span<const TacticDef> lp_norm_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> lp_norm_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
