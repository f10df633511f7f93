// Index arithmetic for tests of kernels' addressing: coordinates of a linear index and the
// offset of a broadcast input, written the plain way (one div / mod per dimension).
#pragma once

#include <cstdint>
#include <vector>

namespace kiln::testing {

// Row-major coordinates of linear index i in dims.
inline std::vector<int64_t> coords(int64_t i, const std::vector<int64_t>& dims) {
  std::vector<int64_t> c(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    c[d] = i % dims[d];
    i /= dims[d];
  }
  return c;
}

// Linear offset in `in` (right-aligned, broadcast) of output coordinates `c`.
inline int64_t broadcast_offset(const std::vector<int64_t>& in, const std::vector<int64_t>& c) {
  int64_t off = 0;
  const size_t shift = c.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) off = off * in[d] + (in[d] == 1 ? 0 : c[d + shift]);
  return off;
}

}  // namespace kiln::testing
