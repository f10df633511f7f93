// Concat: joins inputs (>= 1, any dtype, all the same dtype and rank) along attribute "axis"
// (required, may be negative). Every other dim must match: static extents are compared exactly,
// a static extent wins over a dynamic one, and the kernels check the concrete shapes.
// When the output is a 1-D int tensor and every input has a shape value, the output's shape
// value is their concatenation (the shape programs of PyTorch exports are built this way).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& concat_op();
std::span<const TacticDef> concat_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> concat_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
