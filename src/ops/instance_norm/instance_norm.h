// InstanceNorm: y = (x - mean) / sqrt(var + epsilon) * scale[c] + bias[c], with mean and (biased)
// var taken per (n, c) over the spatial dims (ONNX InstanceNormalization).
// Inputs:  0 X [N, C, ...] (float32 / float16 / bfloat16, rank >= 2), 1 scale [C], 2 bias [C]
//          (any float dtype).
// Output:  0 Y, X's dtype and shape.
// Attributes: "epsilon" (float, default 1e-5).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& instance_norm_op();
std::span<const TacticDef> instance_norm_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> instance_norm_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
