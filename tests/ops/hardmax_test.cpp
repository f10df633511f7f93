// Hardmax: the ONNX spec examples, random shapes with every axis (negative too) in every float
// dtype, ties, NaN, zero-size and the errors.
#include "op_check_util.h"

#include <cmath>
#include <limits>

namespace kiln::testing::hardmax_test {
namespace {

const std::vector<std::string> kTactics = {"Hardmax/cpu-ref/reference", "Hardmax/cpu-opt/threaded"};

OpCase hardmax_case(HostTensor x, std::optional<int64_t> axis) {
  OpCase c;
  c.op = "Hardmax";
  if (axis) c.attrs.set("axis", *axis);
  c.inputs = {std::move(x)};
  return c;
}

HostTensor naive_hardmax(const HostTensor& x, int64_t axis) {
  const Dims& d = x.shape();
  if (axis < 0) axis += d.rank();
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= d[i];
  for (int i = static_cast<int>(axis) + 1; i < d.rank(); ++i) inner *= d[i];
  const int64_t n = d[static_cast<int>(axis)];
  HostTensor y(x.dtype(), d);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = 0;
      for (int64_t k = 1; k < n; ++k) {
        const double b = x.get_double((o * n + best) * inner + i);
        const double v = x.get_double((o * n + k) * inner + i);
        if (!std::isnan(b) && (v > b || std::isnan(v))) best = k;
      }
      store_from_double(y.data(), y.dtype(), (o * n + best) * inner + i, 1.0);
    }
  }
  return y;
}

TEST(Hardmax, SpecExamples) {
  HostTensor x =
      make_tensor(DataType::kFloat32, {4, 4}, {3, 0, 1, 2, 2, 5, 1, 0, 0, 1, 3, 2, 0, 1, 2, 3});
  check_tactics(
      hardmax_case(x, std::nullopt),
      make_tensor(DataType::kFloat32, {4, 4}, {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}), 0,
      0, kTactics, "example");
  // Ties: the first maximum wins.
  HostTensor ties =
      make_tensor(DataType::kFloat32, {4, 4}, {2, 2, 2, 1, 3, 1, 3, 1, 4, 3, 3, 4, 2, 2, 2, 2});
  check_tactics(
      hardmax_case(ties, -1),
      make_tensor(DataType::kFloat32, {4, 4}, {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}), 0,
      0, kTactics, "ties");
}

TEST(Hardmax, RandomEveryAxisEveryDtype) {
  std::mt19937 rng(8);
  ThreadPool pool(3);
  for (int iter = 0; iter < 45; ++iter) {
    const DataType dt = kFloatDtypes[iter % 3];
    const int rank = 1 + static_cast<int>(rng() % 4);
    std::vector<int64_t> d(rank);
    for (auto& v : d) v = 1 + rng() % 7;
    int64_t axis = static_cast<int64_t>(rng() % rank);
    if (rng() % 2) axis -= rank;
    // Few distinct values, so ties happen.
    HostTensor x = random_tensor(dt, to_dims(d), rng, -3, 3);
    for (int64_t i = 0; i < x.numel(); ++i) {
      store_from_double(x.data(), dt, i, std::round(x.get_double(i)));
    }
    check_tactics(hardmax_case(x, axis), naive_hardmax(x, axis), 0, 0, kTactics,
                  x.shape().to_string() + " axis " + std::to_string(axis), &pool);
  }
  HostTensor big = random_tensor(DataType::kFloat32, {64, 300, 3}, rng);
  check_tactics(hardmax_case(big, 1), naive_hardmax(big, 1), 0, 0, kTactics, "big", &pool);
}

TEST(Hardmax, NanCountsAsMaximum) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  HostTensor x = make_tensor(DataType::kFloat32, {3, 3}, {1, nan, 5, nan, 2, nan, 0, 1, -1});
  check_tactics(hardmax_case(x, 1),
                make_tensor(DataType::kFloat32, {3, 3}, {0, 1, 0, 1, 0, 0, 0, 1, 0}), 0, 0,
                kTactics, "nan");
}

TEST(Hardmax, ZeroSizeAndErrors) {
  check_tactics(hardmax_case(HostTensor(DataType::kFloat32, {2, 0}), 1),
                HostTensor(DataType::kFloat32, {2, 0}), 0, 0, kTactics, "empty axis");
  check_tactics(hardmax_case(HostTensor(DataType::kFloat32, {0, 4}), 1),
                HostTensor(DataType::kFloat32, {0, 4}), 0, 0, kTactics, "empty outer");
  HostTensor x(DataType::kFloat32, {2, 3});
  EXPECT_NE(infer_message(hardmax_case(x, 2)).find("axis 2 is out of range"), std::string::npos);
  EXPECT_NE(infer_message(hardmax_case(x, -3)).find("axis -3 is out of range"), std::string::npos);
  EXPECT_NE(
      infer_message(hardmax_case(HostTensor(DataType::kFloat32, {}), std::nullopt)).find("scalar"),
      std::string::npos);
  EXPECT_NE(infer_message(hardmax_case(HostTensor(DataType::kInt64, {3}), 0)).find("int64"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::hardmax_test
