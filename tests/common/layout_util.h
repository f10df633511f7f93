// Host transposes for tests of channels-last kernels: the expected values of an NHWC run are the
// channels-first reference's, transposed here (independently of the kernels under test).
#pragma once

#include "core/tensor.h"
#include "ops/common/layout.h"

#include <cstring>
#include <vector>

namespace kiln::testing {

// Output dim i is input dim perm[i].
inline HostTensor transpose_tensor(const HostTensor& t, const std::vector<int64_t>& perm) {
  const int r = t.shape().rank();
  std::vector<int64_t> out_dims(r);
  for (int i = 0; i < r; ++i) out_dims[i] = t.shape()[static_cast<int>(perm[i])];
  HostTensor out(t.dtype(), Dims(std::span<const int64_t>(out_dims)));
  const std::vector<int64_t> in_strides = contiguous_strides(t.shape());
  const size_t es = dtype_size(t.dtype());
  std::vector<int64_t> idx(r, 0);
  for (int64_t o = 0; o < out.numel(); ++o) {
    int64_t off = 0;
    for (int i = 0; i < r; ++i) off += idx[i] * in_strides[perm[i]];
    std::memcpy(static_cast<uint8_t*>(out.data()) + o * es,
                static_cast<const uint8_t*>(t.data()) + off * es, es);
    for (int i = r - 1; i >= 0; --i) {
      if (++idx[i] < out_dims[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

// [N, C, D...] -> [N, D..., C] and back.
inline HostTensor to_channels_last(const HostTensor& t) {
  return transpose_tensor(t, ops::to_channels_last_perm(t.shape().rank()));
}
inline HostTensor to_channels_first(const HostTensor& t) {
  return transpose_tensor(t, ops::to_channels_first_perm(t.shape().rank()));
}

}  // namespace kiln::testing
