// Window generators (HannWindow, HammingWindow, BlackmanWindow): their output depends only on
// the size input, which must be known at build time, so they import as constants.
#include "onnx/translators/translators.h"

#include <cmath>
#include <numbers>

namespace kiln::onnx_import {

namespace {

// w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), N = size (periodic) or size - 1.
Status window(NodeContext& c, double a0, double a1, double a2) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_ASSIGN_OR_RETURN(auto size_v, c.const_ints(0, "size"));
  if (size_v.size() != 1) return invalid_argument("size must be a scalar");
  const int64_t size = size_v[0];
  if (size < 0 || size > (int64_t{1} << 24)) {
    return invalid_argument("size " + std::to_string(size) + " is out of range");
  }
  bool converted = false;
  KILN_ASSIGN_OR_RETURN(DataType dt, map_dtype(static_cast<int32_t>(c.attr_int("output_datatype", 1)),
                                               "output_datatype", &converted));
  const bool periodic = c.attr_int("periodic", 1) != 0;
  const double n_div = periodic ? static_cast<double>(size) : static_cast<double>(size - 1);
  HostTensor t(dt, Dims{size});
  for (int64_t n = 0; n < size; ++n) {
    double x = n_div == 0 ? 0.0 : 2.0 * std::numbers::pi * static_cast<double>(n) / n_div;
    store_from_double(t.data(), dt, n, a0 - a1 * std::cos(x) + a2 * std::cos(2 * x));
  }
  c.set_output(0, c.constant(std::move(t), "window"));
  return Status::ok();
}

Status hann(NodeContext& c) { return window(c, 0.5, 0.5, 0.0); }
Status hamming(NodeContext& c) { return window(c, 25.0 / 46.0, 1.0 - 25.0 / 46.0, 0.0); }
Status blackman(NodeContext& c) { return window(c, 0.42, 0.5, 0.08); }

}  // namespace

void add_signal_translators(std::vector<Translator>& out) {
  out.insert(out.end(), {
                            {"HannWindow", 17, hann},
                            {"HammingWindow", 17, hamming},
                            {"BlackmanWindow", 17, blackman},
                        });
}

}  // namespace kiln::onnx_import
