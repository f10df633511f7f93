// LRN (ONNX LRN): local response normalization across channels.
//   square_sum[n, c, s] = sum of x[n, i, s]^2 for i in [c - floor((size - 1) / 2),
//                                                     c + ceil((size - 1) / 2)] within [0, C)
//   y = x / (bias + alpha / size * square_sum) ^ beta
//
// Input 0 X [N, C, D1, ..., Dk]: float32 / float16 / bfloat16, rank >= 2.
// Output Y: X's dtype and shape.
// Attributes: "size" int >= 1 (required), "alpha" float (default 1e-4), "beta" float
// (default 0.75), "bias" float (default 1).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& lrn_op();
std::span<const TacticDef> lrn_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> lrn_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
