// Cast: converts X to another dtype, element by element.
// Input 0: X (any dtype). Output 0: Y (dtype "to", X's shape).
// Attribute: "to" (string, a dtype name as dtype_name() prints it: "float32", "int64", "bool"...).
// Conversions: float -> integer truncates toward zero; NaN gives 0 and values outside the target
// range saturate (ONNX leaves these undefined; saturating avoids undefined behaviour);
// integer -> narrower integer wraps (two's complement); anything -> bool is x != 0 (NaN is true);
// bool -> number is 0 / 1; -> float16 / bfloat16 rounds to nearest even, exactly once (integers
// too). A shape value on X (a host-side shape tensor) is kept when "to" is int32 or int64, and
// for int8/uint8 when every entry is a constant in range.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& cast_op();
std::span<const TacticDef> cast_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> cast_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
