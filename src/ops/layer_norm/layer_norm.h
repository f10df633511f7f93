// LayerNorm: y = (x - mean) / sqrt(var + epsilon) * scale + bias, with mean and (biased) var
// taken over the dims [axis, rank) of X (ONNX LayerNormalization).
// Inputs:  0 X (float32 / float16 / bfloat16), 1 Scale, 2 Bias (optional). Scale and Bias are
//          any float dtype and broadcast (numpy, right-aligned) to the normalized dims' shape.
//          3 Residual (optional): X's dtype and shape; the op normalizes X + Residual (summed in
//          float), the residual add a fusion pass folds in (transformer blocks' Add -> LayerNorm).
// Outputs: 0 Y (X's dtype and shape); optionally 1 Mean and 2 InvStdDev (float32, X's shape with
//          the normalized dims set to 1).
// Attributes: "axis" (int, default -1), "epsilon" (float, default 1e-5).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& layer_norm_op();
std::span<const TacticDef> layer_norm_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> layer_norm_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
