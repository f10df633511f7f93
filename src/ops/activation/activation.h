// Activation: y = f(x) elementwise; attribute "type" (relu, leaky_relu, sigmoid, tanh, elu, selu,
// softplus, clip, gelu_erf, gelu_tanh, silu, hard_sigmoid, hard_swish, thresholded_relu, celu,
// mish, softsign), "alpha", "beta".
//   thresholded_relu  y = x > alpha ? x : 0                           (alpha default 1)
//   celu              y = max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) (alpha default 1)
//   mish              y = x * tanh(softplus(x))
//   softsign          y = x / (1 + |x|)
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& activation_op();
std::span<const TacticDef> activation_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> activation_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

enum class ActivationKind : uint8_t {
  kRelu, kLeakyRelu, kSigmoid, kTanh, kElu, kSelu, kSoftplus, kClip, kGeluErf, kGeluTanh,
  kSilu, kHardSigmoid, kHardSwish, kThresholdedRelu, kCelu, kMish, kSoftsign,
};
bool parse_activation(std::string_view name, ActivationKind* out);
std::string_view activation_name(ActivationKind kind);
// Default alpha/beta of a kind (used when the attribute is absent).
void activation_defaults(ActivationKind kind, double* alpha, double* beta);

// Applies an activation to one float; shared by the activation kernels and fused epilogues.
float apply_activation(ActivationKind kind, float x, float alpha, float beta);

}  // namespace kiln::ops
