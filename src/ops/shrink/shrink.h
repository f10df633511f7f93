// Shrink (ONNX Shrink): y = x < -lambd ? x + bias : (x > lambd ? x - bias : 0), elementwise.
//
// Input 0 X: float32 / float16 / bfloat16 / int8 / uint8 / int32 / int64, any shape.
// Output Y: X's dtype and shape. Integer results are x +- bias computed in double and truncated
// toward zero (as a C cast), like ONNX Runtime.
// Attributes: "bias" float (default 0), "lambd" float (default 0.5).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& shrink_op();
std::span<const TacticDef> shrink_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> shrink_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
