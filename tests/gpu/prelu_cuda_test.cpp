// PRelu CUDA tactic against the CPU reference, exactly (slope * x is one float multiplication
// rounded once on both sides; integers wrap alike): float32 / float16 / bfloat16 / int32 / int64,
// slopes of every broadcast pattern (one value, per channel [C, 1, 1], per last dim, full, rank
// 0, leading 1s), large values that wrap in int32, zero-size tensors, unaligned buffers, in
// place, and a CUDA graph capture.
#include "gpu/cuda_case_util.h"
#include "gpu/random_shapes.h"

#include <cmath>
#include <limits>

namespace kiln::testing::prelu_cuda_test {
namespace {

const DataType kDtypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                            DataType::kInt32, DataType::kInt64};

OpCase prelu_case(HostTensor x, HostTensor slope) {
  OpCase c;
  c.op = "PRelu";
  c.inputs = {std::move(x), std::move(slope)};
  return c;
}

using PreluCuda = GpuTest;

TEST(PreluCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("PRelu");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "broadcast");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(PreluCuda, SlopeShapesEveryDtype) {
  std::mt19937 rng(1);
  struct Pair {
    Dims x, slope;
  };
  const Pair pairs[] = {{{2, 3, 4, 5}, {1}},
                        {{2, 3, 4, 5}, {3, 1, 1}},
                        {{2, 3, 4, 5}, {5}},
                        {{2, 3, 4, 5}, {2, 3, 4, 5}},
                        {{2, 3, 4, 5}, {}},
                        {{2, 3, 4, 5}, {1, 3, 1, 1}},
                        {{2, 3, 4, 5}, {4, 1}},
                        {{7}, {7}},
                        {{1, 64, 33, 17}, {64, 1, 1}},
                        {{4, 1000}, {1000}},
                        {{3, 1, 6}, {1, 6}}};
  for (DataType dt : kDtypes) {
    for (const Pair& p : pairs) {
      OpCase c =
          prelu_case(random_tensor(dt, p.x, rng, -50, 50), random_tensor(dt, p.slope, rng, -3, 3));
      EXPECT_EQ(expect_exact(c, device(), stream(),
                             std::string(dtype_name(dt)) + " x" + p.x.to_string() + " slope" +
                                 p.slope.to_string())
                    .size(),
                1u);
    }
  }
}

TEST_F(PreluCuda, RandomShapes) {
  std::mt19937 rng(11);
  for (int iter = 0; iter < 60; ++iter) {
    const DataType dt = kDtypes[iter % 5];
    const Dims x = random_rank_dims(rng, 0, 6, 5);
    const Dims slope = random_broadcast_of(x, rng);
    OpCase c = prelu_case(random_tensor(dt, x, rng, -20, 20), random_tensor(dt, slope, rng, -2, 2));
    expect_exact(c, device(), stream(),
                 std::string(dtype_name(dt)) + " x" + x.to_string() + " slope" + slope.to_string());
  }
}

TEST_F(PreluCuda, IntegerWrapAndFloatSpecials) {
  HostTensor x32 = make_tensor(DataType::kInt32, {4}, {-2000000000, -7, 5, -1});
  HostTensor s32 = make_tensor(DataType::kInt32, {4}, {3, -2, 9, 2147483647});
  expect_exact(prelu_case(x32, s32), device(), stream(), "int32 wrap");
  HostTensor x64 = make_tensor(DataType::kInt64, {3}, {-4611686018427387904.0, -3, 0});
  HostTensor s64 = make_tensor(DataType::kInt64, {3}, {4, 5, 6});
  expect_exact(prelu_case(x64, s64), device(), stream(), "int64 wrap");
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    const double inf = std::numeric_limits<double>::infinity();
    HostTensor x = make_tensor(dt, {6}, {-inf, inf, std::nan(""), -0.0, -1e-3, 1e-3});
    HostTensor s = make_tensor(dt, {1}, {0.25});
    expect_exact(prelu_case(x, s), device(), stream(), std::string(dtype_name(dt)) + " specials");
  }
}

TEST_F(PreluCuda, UnalignedInPlaceAndZeroSize) {
  std::mt19937 rng(2);
  for (DataType dt : kDtypes) {
    OpCase c = prelu_case(random_tensor(dt, {3, 5, 7}, rng, -10, 10),
                          random_tensor(dt, {5, 1}, rng, -2, 2));
    CudaRunOptions misaligned;
    misaligned.misalign_elements = 1;
    expect_exact(c, device(), stream(), std::string(dtype_name(dt)) + " misaligned", misaligned);
    CudaRunOptions in_place;
    in_place.in_place = true;
    expect_exact(c, device(), stream(), std::string(dtype_name(dt)) + " in place", in_place);
    OpCase zero = prelu_case(HostTensor(dt, {0, 5, 7}), random_tensor(dt, {5, 1}, rng, -2, 2));
    EXPECT_EQ(expect_exact(zero, device(), stream(), "zero size").size(), 1u);
  }
}

TEST_F(PreluCuda, Capturable) {
  std::mt19937 rng(3);
  OpCase c = prelu_case(random_tensor(DataType::kFloat32, {2, 8, 9}, rng, -4, 4),
                        random_tensor(DataType::kFloat32, {8, 1}, rng, 0, 1));
  EXPECT_EQ(expect_capturable(c, device(), stream(), 0, 0, "prelu"), 1);
}

}  // namespace
}  // namespace kiln::testing::prelu_cuda_test
