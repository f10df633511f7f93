// Hardmax CUDA tactic against the CPU reference, exactly: every axis, each group mapping (a thread
// per line, a warp per line, a block per line), ties (the first maximum wins, whatever order the
// parallel reduction takes), NaNs (the first NaN wins), -inf, all float dtypes (16-bit rounding
// creates ties), zero-size tensors, unaligned buffers, and a CUDA graph capture.
#include "gpu/cuda_case_util.h"
#include "gpu/random_shapes.h"

#include <cmath>
#include <limits>

namespace kiln::testing::hardmax_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

OpCase hardmax_case(HostTensor x, int64_t axis) {
  OpCase c;
  c.op = "Hardmax";
  c.attrs.set("axis", axis);
  c.inputs = {std::move(x)};
  return c;
}

std::string name_of(DataType dt, const Dims& d, int64_t axis) {
  return std::string(dtype_name(dt)) + " " + d.to_string() + " axis " + std::to_string(axis);
}

using HardmaxCuda = GpuTest;

TEST(HardmaxCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("Hardmax");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "groups");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(HardmaxCuda, EveryAxisRandomValues) {
  std::mt19937 rng(1);
  const Dims shapes[] = {{5}, {3, 8}, {2, 3, 4, 5}, {4, 1100}, {3000, 6}, {6, 70, 33}};
  for (DataType dt : kFloatTypes) {
    for (const Dims& d : shapes) {
      for (int64_t axis = -1; axis < d.rank(); ++axis) {
        auto runs = expect_exact(hardmax_case(random_tensor(dt, d, rng, -5, 5), axis), device(),
                                 stream(), name_of(dt, d, axis));
        EXPECT_EQ(runs.size(), 1u);
      }
    }
  }
}

TEST_F(HardmaxCuda, RandomShapes) {
  std::mt19937 rng(11);
  for (int iter = 0; iter < 40; ++iter) {
    const DataType dt = kFloatTypes[iter % 3];
    const Dims d = random_rank_dims(rng, 1, 5, 9);
    const int64_t axis = std::uniform_int_distribution<int64_t>(-d.rank(), d.rank() - 1)(rng);
    expect_exact(hardmax_case(random_tensor(dt, d, rng, -3, 3), axis), device(), stream(),
                 name_of(dt, d, axis));
  }
}

TEST_F(HardmaxCuda, TiesPickTheFirstMaximum) {
  std::mt19937 rng(2);
  // Values from {-2, ..., 2}: every line has many ties of its maximum.
  for (const Dims& d : {Dims{64, 40}, Dims{8, 3000}, Dims{500, 9}, Dims{2, 300, 7}}) {
    for (int64_t axis = 0; axis < d.rank(); ++axis) {
      HostTensor x = random_tensor(DataType::kFloat32, d, rng, -2.49, 2.49);
      for (int64_t i = 0; i < x.numel(); ++i) {
        store_from_double(x.data(), x.dtype(), i, std::round(x.get_double(i)));
      }
      expect_exact(hardmax_case(x, axis), device(), stream(),
                   "ties " + name_of(x.dtype(), d, axis));
    }
  }
  // All equal (and all -inf): index 0 wins.
  for (double v : {1.0, -std::numeric_limits<double>::infinity()}) {
    HostTensor x(DataType::kFloat16, {3, 2000});
    for (int64_t i = 0; i < x.numel(); ++i) store_from_double(x.data(), x.dtype(), i, v);
    expect_exact(hardmax_case(x, 1), device(), stream(), "constant " + std::to_string(v));
  }
}

TEST_F(HardmaxCuda, NansWin) {
  std::mt19937 rng(3);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DataType dt : kFloatTypes) {
    for (const Dims& d : {Dims{16, 50}, Dims{4, 2500}, Dims{300, 4}}) {
      HostTensor x = random_tensor(dt, d, rng, -5, 5);
      std::uniform_int_distribution<int64_t> pick(0, x.numel() - 1);
      for (int k = 0; k < x.numel() / 40 + 2; ++k) store_from_double(x.data(), dt, pick(rng), nan);
      for (int64_t axis = 0; axis < 2; ++axis) {
        expect_exact(hardmax_case(x, axis), device(), stream(), "nan " + name_of(dt, d, axis));
      }
    }
  }
}

TEST_F(HardmaxCuda, ZeroSizeUnalignedCapture) {
  std::mt19937 rng(4);
  for (DataType dt : kFloatTypes) {
    EXPECT_EQ(
        expect_exact(hardmax_case(HostTensor(dt, {0, 4}), 1), device(), stream(), "zero").size(),
        1u);
    CudaRunOptions o;
    o.misalign_elements = 1;
    expect_exact(hardmax_case(random_tensor(dt, {7, 33}, rng, -1, 1), -1), device(), stream(),
                 "misaligned", o);
  }
  OpCase c = hardmax_case(random_tensor(DataType::kFloat32, {20, 45}, rng, -1, 1), 1);
  EXPECT_EQ(expect_capturable(c, device(), stream(), 0, 0, "hardmax"), 1);
}

}  // namespace
}  // namespace kiln::testing::hardmax_cuda_test
