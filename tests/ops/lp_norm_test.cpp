// LpNormalization: both tactics against a naive norm per line, p 1 and 2, every axis (negative
// too), every float dtype, zero lines, zero-size and the errors.
#include "op_check_util.h"

#include <cmath>

namespace kiln::testing::lp_norm_test {
namespace {

const std::vector<std::string> kTactics = {"LpNormalization/cpu-ref/reference",
                                           "LpNormalization/cpu-opt/threaded"};

OpCase lp_case(HostTensor x, std::optional<int64_t> axis, std::optional<int64_t> p) {
  OpCase c;
  c.op = "LpNormalization";
  if (axis) c.attrs.set("axis", *axis);
  if (p) c.attrs.set("p", *p);
  c.inputs = {std::move(x)};
  return c;
}

HostTensor naive_lp(const HostTensor& x, int64_t axis, int p) {
  const Dims& d = x.shape();
  if (axis < 0) axis += d.rank();
  HostTensor y(x.dtype(), d);
  const std::vector<int64_t> st = contiguous_strides(d);
  const int64_t n = d[static_cast<int>(axis)], s = st[axis];
  for (int64_t i = 0; i < x.numel(); ++i) {
    // First element of i's line: i with its axis coordinate set to 0.
    const int64_t first = i - ((i / s) % n) * s;
    double norm = 0;
    for (int64_t k = 0; k < n; ++k) {
      const double v = x.get_double(first + k * s);
      norm += p == 1 ? std::fabs(v) : v * v;
    }
    if (p == 2) norm = std::sqrt(norm);
    store_from_double(y.data(), y.dtype(), i, norm == 0 ? 0.0 : x.get_double(i) / norm);
  }
  return y;
}

TEST(LpNormalization, RandomAxesPDtypes) {
  std::mt19937 rng(5);
  ThreadPool pool(3);
  for (int iter = 0; iter < 48; ++iter) {
    const DataType dt = kFloatDtypes[iter % 3];
    const int rank = 1 + static_cast<int>(rng() % 4);
    std::vector<int64_t> d(rank);
    for (auto& v : d) v = 1 + rng() % 6;
    int64_t axis = static_cast<int64_t>(rng() % rank);
    if (rng() % 2) axis -= rank;
    const int p = 1 + static_cast<int>(rng() % 2);
    HostTensor x = random_tensor(dt, to_dims(d), rng, -2, 2);
    check_tactics(
        lp_case(x, axis, p), naive_lp(x, axis, p), float_tol(dt), float_tol(dt), kTactics,
        x.shape().to_string() + " axis " + std::to_string(axis) + " p" + std::to_string(p), &pool);
  }
  // Defaults: axis -1, p 2. Inner extents above the threaded kernel's block size.
  HostTensor x = random_tensor(DataType::kFloat32, {3, 4}, rng);
  check_tactics(lp_case(x, std::nullopt, std::nullopt), naive_lp(x, -1, 2), 1e-6, 1e-5, kTactics,
                "defaults");
  HostTensor wide = random_tensor(DataType::kFloat32, {3, 5, 150}, rng);
  check_tactics(lp_case(wide, 1, 1), naive_lp(wide, 1, 1), 1e-6, 1e-5, kTactics, "wide", &pool);
}

TEST(LpNormalization, HandValuesAndZeroLine) {
  // [3, 4] / 5 and [1, -3] / 4 (p = 1); a zero line stays zero.
  HostTensor x = make_tensor(DataType::kFloat32, {3, 2}, {3, 4, 0, 0, 1, -3});
  check_tactics(lp_case(x, 1, 2),
                make_tensor(DataType::kFloat32, {3, 2},
                            {0.6, 0.8, 0, 0, 1 / std::sqrt(10.0), -3 / std::sqrt(10.0)}),
                1e-7, 1e-6, kTactics, "p2");
  check_tactics(lp_case(x, 1, 1),
                make_tensor(DataType::kFloat32, {3, 2}, {3.0 / 7, 4.0 / 7, 0, 0, 0.25, -0.75}),
                1e-7, 1e-6, kTactics, "p1");
}

TEST(LpNormalization, ZeroSizeAndErrors) {
  check_tactics(lp_case(HostTensor(DataType::kFloat32, {0, 3}), 0, 2),
                HostTensor(DataType::kFloat32, {0, 3}), 0, 0, kTactics, "zero-size");
  HostTensor x(DataType::kFloat32, {2, 3});
  EXPECT_NE(infer_message(lp_case(x, 1, 3)).find("'p' must be 1 or 2, got 3"), std::string::npos);
  EXPECT_NE(infer_message(lp_case(x, 2, 2)).find("axis 2 is out of range"), std::string::npos);
  EXPECT_NE(
      infer_message(lp_case(HostTensor(DataType::kFloat32, {}), std::nullopt, 2)).find("scalar"),
      std::string::npos);
  EXPECT_NE(infer_message(lp_case(HostTensor(DataType::kInt8, {2}), 0, 2)).find("int8"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::lp_norm_test
