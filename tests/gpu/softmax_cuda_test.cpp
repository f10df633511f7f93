// Softmax / LogSoftmax CUDA tactic against the CPU reference: every float dtype, random shapes
// and axes covering the three kernels (warp per row, block per row, column walk), zero-size,
// extreme values (-inf, large magnitudes).
#include "gpu/op_check.h"

#include <limits>

namespace kiln::testing::softmax_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

// exp/log on the device differ from the host's by an ulp or two of float.
Tol softmax_tol(DataType dt) {
  return dtype_tol(dt, {1e-6, 2e-5});
}

OpCase softmax_case(DataType dt, Dims shape, int64_t axis, bool log, std::mt19937& rng,
                    double lo = -4, double hi = 4) {
  OpCase c;
  c.op = "Softmax";
  c.attrs.set("axis", axis);
  c.attrs.set("log", int64_t{log ? 1 : 0});
  c.inputs.push_back(random_tensor(dt, shape, rng, lo, hi));
  return c;
}

using SoftmaxCuda = GpuTest;

TEST(SoftmaxCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("Softmax");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "online");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(SoftmaxCuda, FixedLayoutsEveryDtype) {
  std::mt19937 rng(1);
  struct Case {
    Dims shape;
    int64_t axis;
  };
  const Case cases[] = {
      {{1}, 0},         {{7}, -1},         {{3, 5}, 1},     {{3, 5}, 0},       {{4, 33}, -1},
      {{2, 1024}, 1},   {{2, 1025}, 1},    {{3, 5000}, -1}, {{2, 3, 4, 5}, 1}, {{2, 3, 4, 5}, 2},
      {{6, 7, 1}, 1},   {{1, 40000}, 1},   {{513, 17}, 1},  {{4, 3000, 2}, 1}, {{2, 2, 70000}, 2},
      {{100000, 3}, 1}, {{3, 100, 70}, 1}, {{2, 5, 33}, 1}, {{7, 3}, 0},       {{70000, 5, 2}, 1},
  };
  for (DataType dt : kFloatTypes) {
    for (const Case& k : cases) {
      for (bool log : {false, true}) {
        OpCase c = softmax_case(dt, k.shape, k.axis, log, rng);
        check_cuda_tactics(c, device(), stream(), softmax_tol(dt),
                           std::string(dtype_name(dt)) + " " + k.shape.to_string() + " axis " +
                               std::to_string(k.axis) + (log ? " log" : ""));
      }
    }
  }
}

TEST_F(SoftmaxCuda, RandomShapesAndAxes) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int> rank_dist(1, 4), dim_dist(1, 40);
  for (int iter = 0; iter < 60; ++iter) {
    const DataType dt = kFloatTypes[iter % 3];
    const int rank = rank_dist(rng);
    std::vector<int64_t> d(rank);
    for (auto& v : d) v = dim_dist(rng);
    const int64_t axis = std::uniform_int_distribution<int64_t>(-rank, rank - 1)(rng);
    OpCase c = softmax_case(dt, dims_of(d), axis, iter % 2 == 1, rng, -10, 10);
    check_cuda_tactics(c, device(), stream(), softmax_tol(dt),
                       std::string(dtype_name(dt)) + " " + dims_of(d).to_string() + " axis " +
                           std::to_string(axis));
  }
}

TEST_F(SoftmaxCuda, ZeroSize) {
  std::mt19937 rng(3);
  for (DataType dt : kFloatTypes) {
    for (Dims d : {Dims{0}, Dims{0, 5}, Dims{5, 0}, Dims{2, 0, 3}}) {
      for (int64_t axis = 0; axis < d.rank(); ++axis) {
        OpCase c = softmax_case(dt, d, axis, false, rng);
        auto ids = check_cuda_tactics(c, device(), stream(), softmax_tol(dt), d.to_string());
        EXPECT_EQ(ids.size(), 1u);
      }
    }
  }
}

TEST_F(SoftmaxCuda, LargeMagnitudesAndMinusInfinity) {
  std::mt19937 rng(4);
  for (DataType dt : kFloatTypes) {
    for (int64_t n : {5, 300, 3000}) {
      for (int64_t axis : {0, 1}) {
        Dims shape = axis == 1 ? Dims{3, n} : Dims{n, 3};
        // Large values: exp overflows without the max subtraction.
        OpCase c = softmax_case(dt, shape, axis, false, rng, -200, 200);
        // Some -inf entries (masked attention), never a whole row.
        for (int64_t i = 0; i < c.inputs[0].numel(); i += 3) {
          if ((i / 3) % 2 == 0) {
            store_from_double(c.inputs[0].data(), dt, i, -std::numeric_limits<double>::infinity());
          }
        }
        for (bool log : {false, true}) {
          c.attrs.set("log", int64_t{log ? 1 : 0});
          check_cuda_tactics(c, device(), stream(), softmax_tol(dt),
                             std::string(dtype_name(dt)) + " " + shape.to_string() + " axis " +
                                 std::to_string(axis) + (log ? " log" : ""));
        }
      }
    }
  }
}

TEST_F(SoftmaxCuda, RowOfMinusInfinityGivesNan) {
  // As the reference: max = -inf, so every x - max is NaN.
  OpCase c;
  c.op = "Softmax";
  const double inf = std::numeric_limits<double>::infinity();
  c.inputs.push_back(make_tensor(DataType::kFloat32, {2, 3}, {-inf, -inf, -inf, 1, 2, 3}));
  check_cuda_tactics(c, device(), stream(), softmax_tol(DataType::kFloat32), "-inf row");
}

}  // namespace
}  // namespace kiln::testing::softmax_cuda_test
