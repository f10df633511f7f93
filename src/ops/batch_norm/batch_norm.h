// BatchNorm (inference): y = (x - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + bias[c].
// Inputs:  0 X [N, C, ...] (float32 / float16 / bfloat16, rank >= 2),
//          1 scale, 2 bias, 3 mean, 4 var: each [C], any float dtype.
// Output:  0 Y, X's dtype and shape.
// Attributes: "epsilon" (float, default 1e-5); "channels_last" (int, default 0): 1 = X and Y are
//             [N, ..., C] (NHWC), set by the layout pass.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& batch_norm_op();
std::span<const TacticDef> batch_norm_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> batch_norm_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
