// Device-side activation formulas, shared by the Activation CUDA kernel and fused epilogues
// (Conv, ...). Same formulas as apply_activation on the CPU (no fast-math intrinsics).
#pragma once

#include "ops/activation/activation.h"

#include <cuda_runtime.h>

namespace kiln::ops {

__device__ __forceinline__ float activate_device(ActivationKind kind, float x, float alpha,
                                                 float beta) {
  switch (kind) {
    case ActivationKind::kRelu:
      return x > 0.f ? x : 0.f;
    case ActivationKind::kLeakyRelu:
      return x >= 0.f ? x : alpha * x;
    case ActivationKind::kSigmoid:
      return 1.f / (1.f + expf(-x));
    case ActivationKind::kTanh:
      return tanhf(x);
    case ActivationKind::kElu:
      return x >= 0.f ? x : alpha * (expf(x) - 1.f);
    case ActivationKind::kSelu:
      return x > 0.f ? beta * x : beta * alpha * (expf(x) - 1.f);
    case ActivationKind::kSoftplus:
      return x > 20.f ? x : log1pf(expf(x));
    case ActivationKind::kClip:
      return fminf(fmaxf(x, alpha), beta);
    case ActivationKind::kGeluErf:
      return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    case ActivationKind::kGeluTanh:
      return 0.5f * x * (1.f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case ActivationKind::kSilu:
      return x / (1.f + expf(-x));
    case ActivationKind::kHardSigmoid:
      return fmaxf(0.f, fminf(1.f, alpha * x + beta));
    case ActivationKind::kHardSwish:
      return x * fmaxf(0.f, fminf(1.f, x / 6.f + 0.5f));
    case ActivationKind::kThresholdedRelu:
      return x > alpha ? x : 0.f;
    case ActivationKind::kCelu:
      return fmaxf(0.f, x) + fminf(0.f, alpha * expm1f(x / alpha));
    case ActivationKind::kMish: {
      const float sp = x > 20.f ? x : log1pf(expf(x));
      return x * tanhf(sp);
    }
    case ActivationKind::kSoftsign:
      return x / (1.f + fabsf(x));
  }
  return x;
}

}  // namespace kiln::ops
