// Index-range helper shared by the windowed CPU kernels (Conv, ConvTranspose, pooling).
#pragma once

#include <algorithm>
#include <cstdint>

namespace kiln::ops {

// The indices i in [0, count) with 0 <= i * stride + off < extent are [*lo, *hi) (stride >= 1).
// Kernels use it to split a loop over output positions / taps / input pixels into the part
// that needs bounds checks and the part that does not.
inline void valid_range(int64_t off, int64_t stride, int64_t extent, int64_t count, int64_t* lo,
                        int64_t* hi) {
  int64_t l = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t h = extent - 1 - off < 0 ? 0 : (extent - 1 - off) / stride + 1;
  l = std::min(l, count);
  h = std::clamp(h, l, count);
  *lo = l;
  *hi = h;
}

}  // namespace kiln::ops
