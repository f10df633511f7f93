// BitShift (ONNX BitShift): Z = X << Y or X >> Y elementwise, with numpy broadcasting.
//
// Inputs:  0 X, 1 Y: uint8 (the only unsigned dtype kiln has), same dtype.
// Output Z: uint8, the broadcast shape.
// Attribute "direction": "LEFT" | "RIGHT" (required).
// A shift by 8 or more bits gives 0 (defined here; C++ leaves it undefined).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& bit_shift_op();
std::span<const TacticDef> bit_shift_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> bit_shift_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
