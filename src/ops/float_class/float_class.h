// FloatClass: classifies every element of a floating-point tensor (ONNX IsNaN / IsInf).
//
// Input 0 X: float32 / float16 / bfloat16, any shape.
// Output Y: bool, X's shape.
// Attributes:
//   "op"               "isnan" | "isinf" (required)
//   "detect_positive"  int, isinf only: 1 = +inf counts (default 1)
//   "detect_negative"  int, isinf only: 1 = -inf counts (default 1)
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& float_class_op();
std::span<const TacticDef> float_class_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> float_class_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
