// Select (ONNX Where): y = condition ? a : b, elementwise with 3-way numpy broadcasting.
// Inputs:  0 condition (bool), 1 A, 2 B (A and B of the same dtype, any dtype).
// Output:  0 Y, A's dtype, shape broadcast(broadcast(condition, A), B).
// No attributes.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& select_op();
std::span<const TacticDef> select_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> select_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
