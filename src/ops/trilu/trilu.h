// Trilu (ONNX-14 semantics, any dtype): keeps the upper or lower triangle of the last two dims
// of X (a batch of matrices) and zeroes the rest.
// Inputs:  0 X (rank >= 2),
//          1 k (optional; int64/int32 scalar or [1], default 0; must be a constant or a host
//            shape value; the kernel reads it on the host).
// Output:  X's dtype and shape.
// Attributes: "upper" (int, default 1): 1 keeps elements with col - row >= k, 0 keeps those
//             with col - row <= k.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& trilu_op();
std::span<const TacticDef> trilu_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> trilu_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
