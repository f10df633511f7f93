// Unsqueeze: inserts extent-1 dims into X (any dtype).
// Inputs: 0 X; 1 axes (optional, int64 1-D, must be constant / have a static shape value).
// Without input 1 the attribute "axes" (ints, required then) is used. Axes index the output
// (rank = rank(X) + len(axes)), may be negative and must not repeat. A shape value of X passes
// through (e.g. a scalar picked by Gather becomes a 1-element shape tensor for Concat).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& unsqueeze_op();
std::span<const TacticDef> unsqueeze_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> unsqueeze_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
