// Conv: N-d grouped convolution with a fused epilogue, Y = act(conv(X, W) + B + Z).
//
// Inputs:
//   0 X [N, C, D1, ..., Dk]        float32 / float16 / bfloat16, k >= 1 spatial dims
//   1 W [M, C/group, K1, ..., Kk]  same dtype as X; static shape (usually a constant)
//   2 B [M]                        optional bias (absent: -1), same dtype
//   3 Z                            optional residual with the output's shape, same dtype; added
//                                  before the activation (conv + add fusion)
// Attributes:
//   "strides"   ints, one per spatial dim, >= 1 (default 1)
//   "pads"      ints, ONNX order: the begins of every spatial dim, then the ends; >= 0 (default 0)
//   "dilations" ints, one per spatial dim, >= 1 (default 1)
//   "group"     int >= 1 dividing C and M (default 1)
//   "activation" string, optional fused activation (names of parse_activation); absent = none
//   "activation_alpha" / "activation_beta" floats (defaults: activation_defaults of the kind)
//   "channels_last" int, 1 = X, Y and Z are channels-last: X [N, D1, ..., Dk, C],
//               Y and Z [N, O1, ..., Ok, M] (NHWC for 2-D); W stays [M, C/group, K1, ..., Kk]
//               (default 0). Set by the layout pass (src/passes/layout.cpp).
// Output Y [N, M, O1, ..., Ok], same dtype as X, with
//   Oi = floor((Di + pad_begin + pad_end - dil * (Ki - 1) - 1) / stride) + 1.
// Accumulation is in float for every dtype.
#pragma once

#include "ops/activation/activation.h"
#include "ops/common/layout.h"
#include "ops/op.h"

#include <vector>

namespace kiln::ops {

const OpDef& conv_op();
std::span<const TacticDef> conv_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> conv_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

// Validated attributes of a Conv node.
struct ConvParams {
  int spatial = 0;
  std::vector<int64_t> strides, pads, dilations;  // pads: 2*spatial, begins then ends
  int64_t group = 1;
  bool has_activation = false;
  ActivationKind activation = ActivationKind::kRelu;
  float alpha = 0, beta = 0;
  bool channels_last = false;
};

// Reads and validates the attributes of a Conv with `spatial` spatial dims; the error message
// names the offending attribute.
Result<ConvParams> read_conv_params(const ir::Attrs& attrs, int spatial);

}  // namespace kiln::ops
