// Gather (ONNX Gather): picks entries of data along attribute "axis" (default 0, may be negative).
// Inputs: 0 data (any dtype, rank >= 1); 1 indices (int32/int64, any rank). Negative indices
// count from the end; an index outside [-d, d) makes the CPU kernels return an error naming it
// (they never read out of bounds). The CUDA tactic reads the indices on the device, where it
// cannot return an error: it writes zeros for the entries of an out-of-range index instead
// (also never reading out of bounds). Output shape: data[:axis] + indices.shape + data[axis+1:].
// When data has a shape value and the indices are constant, the output's shape value is the
// picked entries (Shape -> Gather(i) is how exporters read one dim).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& gather_op();
std::span<const TacticDef> gather_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> gather_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
