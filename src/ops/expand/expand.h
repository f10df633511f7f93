// Expand: numpy-broadcasts X (any dtype) with a target shape (ONNX Expand: bidirectional, so a
// target extent of 1 keeps X's extent). Inputs: 0 X; 1 shape (int64/int32 1-D, must have a shape
// value: a constant or a host-evaluated shape program). Output shape: broadcast(X.shape, shape).
// A shape value of X (rank <= 1) is broadcast along when the output is a static 1-D tensor.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& expand_op();
std::span<const TacticDef> expand_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> expand_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
