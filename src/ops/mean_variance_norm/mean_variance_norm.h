// MeanVarianceNormalization (ONNX MeanVarianceNormalization):
//   y = (x - mean) / (sqrt(var) + 1e-9), mean and (biased) var over the dims in "axes".
// The variance is computed as mean((x - mean)^2) (the ONNX function body's E[x^2] - E[x]^2 is
// the same value without its cancellation error).
//
// Input 0 X: float32 / float16 / bfloat16.
// Output Y: X's dtype and shape.
// Attribute "axes": ints in [-rank, rank), distinct (default [0, 2, 3]).
#pragma once

#include "ops/op.h"

#include <vector>

namespace kiln::ops {

const OpDef& mean_variance_norm_op();
std::span<const TacticDef> mean_variance_norm_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> mean_variance_norm_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

// The normalized, validated axes of a node on an input of rank `rank`, as a mask per dim.
Result<std::vector<bool>> mvn_axes_mask(const ir::Attrs& attrs, int64_t rank);

}  // namespace kiln::ops
