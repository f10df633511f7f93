// Shape: the dims of input 0 (X, any dtype) as an int64 1-D tensor.
// Attributes (ONNX-15, optional): "start" (default 0) and "end" (default rank) select dims
// [start, end); negative values count from the back, both are clamped to [0, rank].
// The output's shape value is X's symbolic dims, so the runtime evaluates it on the host; the
// reference kernel writes the concrete dims for when the tensor is materialized.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& shape_op();
std::span<const TacticDef> shape_cpu_tactics();  // cpu.cpp

// The [start, end) range of dims that the attributes select for an input of rank `rank`
// (end >= start).
void shape_dim_range(const ir::Attrs& attrs, int64_t rank, int64_t* start, int64_t* end);

}  // namespace kiln::ops
