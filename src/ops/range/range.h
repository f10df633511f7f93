// Range (ONNX-11 semantics): y[i] = start + i * delta for i in [0, n),
// n = max(ceil((limit - start) / delta), 0).
// Inputs:  0 start, 1 limit, 2 delta: scalars (or [1]) of one dtype: float32 / float16 /
//          bfloat16 / int32 / int64.
// Output:  1-D of that dtype and length n.
// The length must be known when building: integer inputs must be constants or host shape
// values (start and limit may be symbolic, delta must be a static non-zero value), floating
// ones must be constants. An integer output of static length <= 32 carries a shape value
// (start + i * delta). The kernel reads start and delta on the host (host_input). Float
// lengths follow ONNX Runtime: limit - start in the dtype, the division in double.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& range_op();
std::span<const TacticDef> range_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> range_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

// Length of a floating range (limit - start rounded to `dt` for float32).
Result<int64_t> range_length_float(DataType dt, double start, double limit, double delta);

}  // namespace kiln::ops
