// Slice (ONNX-13 semantics, any dtype).
// Inputs: 0 X; then either inputs 1 starts, 2 ends, 3 axes (optional), 4 steps (optional), all
// int64/int32 1-D of one length, or (with only X) attributes "starts", "ends", "axes", "steps".
// starts/ends must have shape values (constants or host-evaluated shape programs; they may be
// symbolic, and symbolic ones are taken to be >= 0); axes and steps must be constants.
// Negative starts/ends count from the end of the dim; both are clamped ONNX-style
// (step > 0: to [0, d]; step < 0: start to [0, d-1], end to [-1, d-1]); steps may be negative,
// never 0; axes may be negative and must not repeat. Output extents are symbolic:
// max(0, ceil((end - start) / step)). For a 1-D X with a shape value and constant starts/ends,
// the output's shape value is the sliced content.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& slice_op();
std::span<const TacticDef> slice_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> slice_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

// Concrete ONNX clamping for one axis of extent `dim`: first index and output extent.
void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t* first,
                int64_t* extent);

}  // namespace kiln::ops
