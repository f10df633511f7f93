// Softmax: y = exp(z - max) / sum(exp(z - max)) along one axis (ONNX opset-13 semantics), where
// z = scale * x + mask (the scaled, masked scores of attention; z = x by default).
// Inputs:  0 X (float32 / float16 / bfloat16);
//          1 Mask (optional): float (any float dtype, added) or bool (true adds 0, false adds
//            "mask_fill"), broadcast (numpy, right-aligned) to X's shape without enlarging it.
// Output:  0 Y, X's dtype and shape.
// Attributes: "axis" (int, default -1; negative counts from the end),
//             "log" (int, default 0; 1 = LogSoftmax: y = z - max - log(sum(exp(z - max)))),
//             "scale" (float, default 1),
//             "mask_fill" (float, default -inf; not NaN): what a bool Mask's false adds (the
//               constant of the exporters' Where(mask, 0, fill): -inf, float32's lowest, -10000),
//             "nan_to_zero" (int, default 0; 1 = NaN outputs become 0: the guard exporters put
//               after attention's softmax, Where(IsNaN(y), 0, y), for rows that are all -inf).
// Fusion passes fold a preceding scalar Mul/Div and an additive mask into scale and Mask.
#pragma once

#include "ops/op.h"

#include <cmath>

namespace kiln::ops {

const OpDef& softmax_op();
std::span<const TacticDef> softmax_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> softmax_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

// Attributes of a Softmax node as kernels use them (axis normalized against X's rank).
struct SoftmaxParams {
  int axis = 0;
  bool log = false;
  float scale = 1.f;
  bool nan_to_zero = false;
  bool has_mask = false;
  float mask_fill = -INFINITY;
};
SoftmaxParams softmax_params(const KernelInfo& info);

}  // namespace kiln::ops
