// Softmax: y = exp(x - max) / sum(exp(x - max)) along one axis (ONNX opset-13 semantics).
// Input 0: X (float32 / float16 / bfloat16). Output 0: Y, same dtype and shape.
// Attributes: "axis" (int, default -1; negative counts from the end),
//             "log" (int, default 0; 1 = LogSoftmax: y = x - max - log(sum(exp(x - max)))).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& softmax_op();
std::span<const TacticDef> softmax_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> softmax_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
