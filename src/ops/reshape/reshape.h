// Reshape: Y = X with a new shape (same elements in row-major order, any dtype).
// Inputs: 0 X; 1 shape (optional, int64/int32 1-D). The shape input must have a shape value
// (a constant or a host-evaluated shape program such as Shape->Gather->Concat): data-dependent
// target shapes are unsupported. Without input 1 the attribute "shape" (ints) is used.
// Attribute "allowzero" (default 0): with 0, a 0 in the target copies X's extent at that
// position; with 1 it is a literal 0 (and may not be combined with -1).
// At most one -1: that extent is volume(X) / volume(other extents), symbolic when X is dynamic.
// Symbolic target entries (from a shape program) are taken as literal extents (not 0 or -1);
// the kernel's size check catches a runtime mismatch.
// A shape value of X passes through, so reshaped shape tensors stay host-evaluated.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& reshape_op();
std::span<const TacticDef> reshape_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> reshape_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

// a / b for the inferred extent: cancels common symbolic factors so that, e.g., (s0*3*s1) / s0
// becomes 3*s1; falls back to ir::floor_div when the division is not exact structurally.
ir::SymExpr divide_extents(const ir::SymExpr& a, const ir::SymExpr& b);

}  // namespace kiln::ops
