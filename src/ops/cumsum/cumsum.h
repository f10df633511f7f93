// CumSum (ONNX-14 semantics): cumulative sum of X along one axis.
// Inputs:  0 X (float32 / float16 / bfloat16 / int32 / int64),
//          1 axis (int64/int32 scalar or [1]; a constant or a host shape value; negative counts
//            from the back; the kernel reads it on the host).
// Output:  X's dtype and shape.
// Attributes: "exclusive" (int, default 0): 1 leaves out the element itself (the first sum is
//             0); "reverse" (int, default 0): 1 sums from the end of the axis.
// Floating types accumulate in double; integers wrap around on overflow (two's complement).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& cumsum_op();
std::span<const TacticDef> cumsum_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> cumsum_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
