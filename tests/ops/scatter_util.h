// Naive reduction for the ScatterElements / ScatterND tests: combines element `at` of `out` with
// `v` the way the ONNX spec describes, computed independently of the kernels (integers wrap at
// their width, float16/bfloat16 round after every step, bool add/max = or, mul/min = and).
#pragma once

#include "common/op_harness.h"

#include <cstring>
#include <string>

namespace kiln::testing {

inline void store_wrapped(const HostTensor& t, int64_t at, uint64_t bits) {
  char* p = static_cast<char*>(t.data()) + at * static_cast<int64_t>(dtype_size(t.dtype()));
  std::memcpy(p, &bits, dtype_size(t.dtype()));  // little-endian: the low bytes
}

inline void naive_combine(const HostTensor& out, int64_t at, const HostTensor& upd, int64_t ui,
                          const std::string& red) {
  const DataType dt = out.dtype();
  if (red == "none") {
    const size_t es = dtype_size(dt);
    std::memcpy(static_cast<char*>(out.data()) + at * es,
                static_cast<const char*>(upd.data()) + ui * es, es);
    return;
  }
  if (dt == DataType::kBool) {
    const bool a = out.get_int(at) != 0, b = upd.get_int(ui) != 0;
    const bool r = (red == "add" || red == "max") ? (a || b) : (a && b);
    store_from_double(out.data(), dt, at, r ? 1 : 0);
    return;
  }
  if (is_integer(dt)) {
    const int64_t a = out.get_int(at), b = upd.get_int(ui);
    uint64_t r;
    if (red == "add") {
      r = static_cast<uint64_t>(a) + static_cast<uint64_t>(b);
    } else if (red == "mul") {
      r = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
    } else if (red == "max") {
      r = static_cast<uint64_t>(std::max(a, b));
    } else {
      r = static_cast<uint64_t>(std::min(a, b));
    }
    store_wrapped(out, at, r);
    return;
  }
  const double a = out.get_double(at), b = upd.get_double(ui);
  double r = red == "add"   ? a + b
             : red == "mul" ? a * b
             : red == "max" ? std::max(a, b)
                            : std::min(a, b);
  store_from_double(out.data(), dt, at, r);
}

inline HostTensor copy_of(const HostTensor& t) {
  return HostTensor::from_bytes(t.dtype(), t.shape(), t.data());
}

}  // namespace kiln::testing
