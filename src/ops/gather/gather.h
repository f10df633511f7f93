// Gather (ONNX Gather): picks entries of data along attribute "axis" (default 0, may be negative).
// Inputs: 0 data (any dtype, rank >= 1); 1 indices (int32/int64, any rank). Negative indices
// count from the end; an index outside [-d, d) makes the kernel return an error naming it (it
// never reads out of bounds). Output shape: data[:axis] + indices.shape + data[axis+1:].
// When data has a shape value and the indices are constant, the output's shape value is the
// picked entries (Shape -> Gather(i) is how exporters read one dim).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& gather_op();
std::span<const TacticDef> gather_cpu_tactics();  // cpu.cpp

}  // namespace kiln::ops
