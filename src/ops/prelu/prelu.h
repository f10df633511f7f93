// PRelu (ONNX PRelu): y = x < 0 ? slope * x : x, with slope broadcast to X (unidirectional numpy
// broadcasting: slope's rank <= X's, each slope dim 1 or X's dim, right-aligned).
//
// Inputs:  0 X      float32 / float16 / bfloat16 / int32 / int64
//          1 slope  X's dtype
// Output Y: X's dtype and shape. Floats compute in float; integers in int64 (wrapping).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& prelu_op();
std::span<const TacticDef> prelu_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> prelu_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
