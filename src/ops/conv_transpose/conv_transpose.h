// ConvTranspose (ONNX ConvTranspose): N-d grouped transposed convolution with a fused epilogue,
// Y = act(conv_transpose(X, W) + B). Every input pixel x[n, c, i] adds x * W[c, m', k] to
// y[n, g * M/group + m', i * stride - pad_begin + k * dilation] (g = c's group).
//
// Inputs:
//   0 X [N, C, D1, ..., Dk]           float32 / float16 / bfloat16, k >= 1 spatial dims
//   1 W [C, M/group, K1, ..., Kk]     X's dtype; static shape
//   2 B [M]                           optional bias (absent: -1), X's dtype
// Attributes:
//   "strides"         ints >= 1, one per spatial dim (default 1)
//   "pads"            ints >= 0, the begins of every spatial dim then the ends (default 0)
//   "dilations"       ints >= 1 (default 1)
//   "output_padding"  ints >= 0, extra extent at the end of each spatial dim; each must be
//                     smaller than its stride or its dilation (default 0)
//   "group"           int >= 1 dividing C (default 1); M = W dim 1 * group
//   "output_shape"    ints > 0, the spatial output extents (k of them, or k + 2 with N and C
//                     first, which are ignored). When given, "pads" is ignored and the total
//                     padding of dim i, T = stride * (Di - 1) + output_padding + (Ki - 1) * dil
//                     + 1 - output_shape[i], splits per ONNX: begin = T - floor(T / 2),
//                     end = floor(T / 2), or with auto_pad SAME_UPPER begin = floor(T / 2).
//                     T may be negative (the output extends past the natural extent).
//   "auto_pad"        "NOTSET" (default) | "SAME_UPPER" | "SAME_LOWER" | "VALID". The importer
//                     normally turns it into pads; here SAME_* without output_shape means
//                     output extent Di * stride (padding split as above), VALID means zero pads.
//   "activation" / "activation_alpha" / "activation_beta"  optional fused activation, as Conv
//                     (see conv.h)
// Output Y [N, M, O1, ..., Ok], X's dtype:
//   Oi = stride * (Di - 1) + output_padding + (Ki - 1) * dil + 1 - pad_begin - pad_end
// (or output_shape / Di * stride as above). Accumulation is in float for every dtype.
#pragma once

#include "ops/activation/activation.h"
#include "ops/op.h"

#include <vector>

namespace kiln::ops {

const OpDef& conv_transpose_op();
std::span<const TacticDef> conv_transpose_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> conv_transpose_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

// How pad_begin of each spatial dim is found.
enum class ConvTransposePadMode : uint8_t {
  kExplicit,    // from "pads"
  kSplitLower,  // from the output extent: begin = T - floor(T / 2) (ONNX NOTSET / SAME_LOWER)
  kSplitUpper,  // from the output extent: begin = floor(T / 2) (ONNX SAME_UPPER)
};

// Validated attributes of a ConvTranspose node.
struct ConvTransposeParams {
  int spatial = 0;
  std::vector<int64_t> strides, pads, dilations, output_padding;  // pads: 2*spatial
  std::vector<int64_t> output_shape;  // spatial extents; empty = computed
  bool same_shape = false;            // auto_pad SAME_*, no output_shape: O = D * stride
  ConvTransposePadMode pad_mode = ConvTransposePadMode::kExplicit;
  int64_t group = 1;
  bool has_activation = false;
  ActivationKind activation = ActivationKind::kRelu;
  float alpha = 0, beta = 0;

  // pad_begin of spatial dim d for concrete input extent `in`, kernel extent `k` and output
  // extent `out`.
  int64_t pad_begin(int d, int64_t in, int64_t k, int64_t out) const;
};

// Reads and validates the attributes of a ConvTranspose with `spatial` spatial dims; the error
// message names the offending attribute.
Result<ConvTransposeParams> read_conv_transpose_params(const ir::Attrs& attrs, int spatial);

}  // namespace kiln::ops
