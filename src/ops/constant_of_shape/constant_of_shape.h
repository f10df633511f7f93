// ConstantOfShape: a tensor of the given shape filled with one value.
// Input 0 shape (int64/int32 1-D, must have a shape value: a constant or a host-evaluated shape
// program; an empty shape gives a scalar). Attributes: "value" (float, default 0) and "dtype"
// (string dtype name, default "float32"). An int32/int64 1-D output with a static extent gets a
// shape value (the filled entries).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& constant_of_shape_op();
std::span<const TacticDef> constant_of_shape_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> constant_of_shape_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
