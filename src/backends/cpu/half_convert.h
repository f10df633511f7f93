// Bulk float16 / bfloat16 <-> float conversion for CPU kernels that compute low-precision tensors
// in float chunks. Uses F16C instructions when the CPU has them (picked at run time), else the
// scalar conversions of core/half.h; results are identical bit for bit (round to nearest even,
// NaNs as the canonical quiet NaN of their sign).
#pragma once

#include "core/half.h"

#include <cstdint>

namespace kiln {

void to_float(const Half* in, float* out, int64_t n);
void to_float(const BFloat16* in, float* out, int64_t n);
void from_float(const float* in, Half* out, int64_t n);
void from_float(const float* in, BFloat16* out, int64_t n);

}  // namespace kiln
