// SpaceToDepth (ONNX-13 semantics, any dtype): moves spatial blocks into channels (the inverse
// of DepthToSpace in DCR mode).
// Input:  0 X [N, C, H, W] with H and W divisible by blocksize.
// Output: X's dtype, [N, C * b^2, H / b, W / b] with b = blocksize:
//   y[n, (i*b + j) * C + c, h, w] = x[n, c, h*b + i, w*b + j]
// Attributes: "blocksize" (int >= 1, required).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& space_to_depth_op();
std::span<const TacticDef> space_to_depth_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> space_to_depth_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
