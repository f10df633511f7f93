// CUDA "sequence" tactic of Range against the CPU reference: every dtype, positive / negative /
// fractional deltas, empty ranges, integer wrap-around at the dtype's limits, long ranges (float
// rounding of start + i * delta must match the reference's double arithmetic bit for bit), and a
// CUDA graph capture.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

#include <limits>

namespace kiln::testing::range_cuda_test {
namespace {

using RangeCuda = GpuTest;

HostTensor scalar(DataType dt, double v) {
  HostTensor t(dt, {});
  store_from_double(t.data(), dt, 0, v);
  return t;
}

OpCase range_case(DataType dt, double start, double limit, double delta) {
  OpCase c;
  c.op = "Range";
  c.inputs = {scalar(dt, start), scalar(dt, limit), scalar(dt, delta)};
  c.constant = {true, true, true};
  return c;
}

TEST(RangeCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("Range");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "sequence");
}

TEST_F(RangeCuda, EveryDtypeRandomRanges) {
  std::mt19937 rng(71);
  const DataType dts[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                          DataType::kInt32, DataType::kInt64};
  for (DataType dt : dts) {
    for (int iter = 0; iter < 25; ++iter) {
      const double start = static_cast<double>(static_cast<int>(rng() % 81) - 40);
      const double limit = static_cast<double>(static_cast<int>(rng() % 81) - 40);
      double delta = static_cast<double>(static_cast<int>(rng() % 9) - 4);
      if (delta == 0) delta = 3;
      if (is_floating(dt) && iter % 2) delta /= 8;  // fractional steps (exact in every dtype)
      expect_exact(range_case(dt, start, limit, delta), device(), stream(),
                   std::string(dtype_name(dt)) + " " + std::to_string(start) + ":" +
                       std::to_string(limit) + ":" + std::to_string(delta));
    }
  }
}

TEST_F(RangeCuda, EmptyAndSingle) {
  for (DataType dt : {DataType::kFloat32, DataType::kInt64}) {
    expect_exact(range_case(dt, 5, 5, 1), device(), stream(), "empty");
    expect_exact(range_case(dt, 5, 1, 1), device(), stream(), "empty backwards");
    expect_exact(range_case(dt, 5, 6, 10), device(), stream(), "single");
  }
}

TEST_F(RangeCuda, LongFloatRangesRoundLikeTheReference) {
  // 0.1 is inexact: start + i * delta rounds at every i; a fused multiply-add would differ.
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    expect_exact(range_case(dt, -3.3, 1000, 0.1), device(), stream(),
                 std::string(dtype_name(dt)) + " 0.1 steps");
  }
  expect_exact(range_case(DataType::kFloat32, 1e6, -1e6, -0.7), device(), stream(), "-0.7 steps");
}

TEST_F(RangeCuda, IntegersWrapLikeTheReference) {
  const double big32 = static_cast<double>(std::numeric_limits<int32_t>::max());
  expect_exact(range_case(DataType::kInt32, big32 - 5, big32, 2), device(), stream(), "int32 top");
  expect_exact(range_case(DataType::kInt32, -big32 - 1, -big32 + 90, 7), device(), stream(),
               "int32 bottom");
  OpCase c;
  c.op = "Range";
  HostTensor s(DataType::kInt64, {}), l(DataType::kInt64, {}), d(DataType::kInt64, {});
  s.as<int64_t>()[0] = std::numeric_limits<int64_t>::max() - 100;
  l.as<int64_t>()[0] = std::numeric_limits<int64_t>::max();
  d.as<int64_t>()[0] = 9;
  c.inputs = {s, l, d};
  c.constant = {true, true, true};
  expect_exact(c, device(), stream(), "int64 top");
}

TEST_F(RangeCuda, Capturable) {
  EXPECT_EQ(expect_capturable(range_case(DataType::kFloat32, 0, 5000, 0.25), device(), stream(), 0,
                              0, "range"),
            1);
}

}  // namespace
}  // namespace kiln::testing::range_cuda_test
