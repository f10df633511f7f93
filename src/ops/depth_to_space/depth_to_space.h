// DepthToSpace (ONNX-13 semantics, any dtype): moves blocks of channels into spatial blocks.
// Input:  0 X [N, C, H, W] with C divisible by blocksize^2.
// Output: X's dtype, [N, C / b^2, H * b, W * b] with b = blocksize:
//   DCR: y[n, c, h*b + i, w*b + j] = x[n, (i*b + j) * (C/b^2) + c, h, w]
//   CRD: y[n, c, h*b + i, w*b + j] = x[n, c * b^2 + i*b + j, h, w]
// Attributes: "blocksize" (int >= 1, required), "mode" ("DCR" (default) | "CRD").
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& depth_to_space_op();
std::span<const TacticDef> depth_to_space_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> depth_to_space_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
