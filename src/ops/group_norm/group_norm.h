// GroupNormalization (ONNX GroupNormalization, opset 18 and 21): the C channels of X split into
// num_groups groups of C / num_groups consecutive channels; each (n, group) is normalized over
// its channels and spatial dims:
//   y = (x - mean) / sqrt(var + epsilon) * scale + bias
// with the biased variance.
//
// Inputs:  0 X      [N, C, D1, ..., Dk], float32 / float16 / bfloat16, rank >= 2
//          1 scale  any float dtype; [C] (opset 21), or [num_groups] with per_group_affine = 1
//          2 bias   like scale
// Output: X's dtype and shape.
// Attributes:
//   "num_groups"        int >= 1 dividing C (required)
//   "epsilon"           float >= 0 (default 1e-5)
//   "per_group_affine"  int: 1 = scale/bias have one entry per group (opset 18; set by the
//                       importer), 0 = one per channel (default 0)
// ("stash_type" of opset 21 needs no attribute: statistics are always computed in float or
// wider.)
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& group_norm_op();
std::span<const TacticDef> group_norm_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> group_norm_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
