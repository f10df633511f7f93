// Hardmax (ONNX Hardmax, opset 13): along one axis, 1 at the first maximum and 0 elsewhere.
//
// Input 0 X: float32 / float16 / bfloat16, rank >= 1.
// Output Y: X's dtype and shape.
// Attribute "axis" int in [-rank, rank) (default -1).
// A NaN counts as the maximum (the first NaN of a line wins), as numpy.argmax in the ONNX
// reference.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& hardmax_op();
std::span<const TacticDef> hardmax_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> hardmax_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
