// Squeeze: removes extent-1 dims of X (any dtype).
// Inputs: 0 X; 1 axes (optional, int64 1-D, must be constant / have a static shape value).
// Without input 1 the attribute "axes" (ints) is used. Axes may be negative; each must name a dim
// of extent 1 (a dynamic dim is accepted and checked by the kernel's size check). With no axes
// at all, every static 1 is removed; a dynamic dim is then an error, since whether it is 1 cannot
// be decided at build time. A shape value of X passes through.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& squeeze_op();
std::span<const TacticDef> squeeze_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> squeeze_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

// Reads the axes of Squeeze/Unsqueeze from input 1 (must be static) or attribute "axes".
// *present is false when neither is given.
Status read_axes_input_or_attr(const InferContext& ctx, std::vector<int64_t>* axes, bool* present);

}  // namespace kiln::ops
