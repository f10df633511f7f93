// LRN CUDA tactic against the CPU reference (double sums and pow on the host, float sums and powf
// on the GPU): float32 / float16 / bfloat16, ranks 2 to 5, odd and even window sizes (the window
// is asymmetric for even sizes), windows wider than C, several alpha / beta / bias, many channels,
// zero-size tensors, unaligned buffers, and a CUDA graph capture.
#include "gpu/cuda_case_util.h"
#include "gpu/op_check.h"
#include "gpu/random_shapes.h"

namespace kiln::testing::lrn_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

OpCase lrn_case(HostTensor x, int64_t size, double alpha = 1e-4, double beta = 0.75,
                double bias = 1.0) {
  OpCase c;
  c.op = "LRN";
  c.attrs.set("size", size);
  c.attrs.set("alpha", alpha);
  c.attrs.set("beta", beta);
  c.attrs.set("bias", bias);
  c.inputs = {std::move(x)};
  return c;
}

// Outputs are x scaled by a factor in (0, bias^-beta]: a few float ulps on the GPU.
Tol lrn_tol(DataType dt) {
  return dtype_tol(dt, {1e-6, 1e-5});
}

using LrnCuda = GpuTest;

TEST(LrnCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("LRN");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "window");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(LrnCuda, ShapesSizesAndDtypes) {
  std::mt19937 rng(1);
  const Dims shapes[] = {{3, 5}, {2, 7, 9}, {2, 16, 13, 11}, {1, 3, 4, 5, 6}, {1, 96, 27, 27}};
  for (DataType dt : kFloatTypes) {
    for (const Dims& d : shapes) {
      for (int64_t size : {1, 2, 3, 4, 5, 11}) {
        OpCase c = lrn_case(random_tensor(dt, d, rng, -3, 3), size, 1e-3, 0.75, 2.0);
        auto ids = check_cuda_tactics(
            c, device(), stream(), lrn_tol(dt),
            std::string(dtype_name(dt)) + " " + d.to_string() + " size " + std::to_string(size));
        EXPECT_EQ(ids.size(), 1u);
      }
    }
  }
}

TEST_F(LrnCuda, RandomShapes) {
  std::mt19937 rng(11);
  for (int iter = 0; iter < 30; ++iter) {
    const DataType dt = kFloatTypes[iter % 3];
    const Dims d = random_rank_dims(rng, 2, 5, 12);
    const int64_t size = std::uniform_int_distribution<int64_t>(1, 7)(rng);
    check_cuda_tactics(
        lrn_case(random_tensor(dt, d, rng, -3, 3), size, 1e-2, 0.75, 1.5), device(), stream(),
        lrn_tol(dt),
        std::string(dtype_name(dt)) + " " + d.to_string() + " size " + std::to_string(size));
  }
}

TEST_F(LrnCuda, Parameters) {
  std::mt19937 rng(2);
  struct P {
    double alpha, beta, bias;
  };
  const P params[] = {{1e-4, 0.75, 1.0}, {0.5, 0.5, 1.0}, {2.0, 1.0, 0.5}, {1e-2, 2.5, 3.0}};
  for (const P& p : params) {
    for (DataType dt : kFloatTypes) {
      OpCase c = lrn_case(random_tensor(dt, {2, 10, 6, 6}, rng, -2, 2), 5, p.alpha, p.beta, p.bias);
      check_cuda_tactics(c, device(), stream(), lrn_tol(dt),
                         std::string(dtype_name(dt)) + " alpha " + std::to_string(p.alpha) +
                             " beta " + std::to_string(p.beta) + " bias " + std::to_string(p.bias));
    }
  }
}

TEST_F(LrnCuda, UnalignedZeroSizeAndCapture) {
  std::mt19937 rng(3);
  for (DataType dt : kFloatTypes) {
    CudaRunOptions o;
    o.misalign_elements = 1;
    check_cuda_tactics(lrn_case(random_tensor(dt, {2, 6, 5, 3}, rng, -2, 2), 3), device(), stream(),
                       lrn_tol(dt), "misaligned", o);
    EXPECT_EQ(check_cuda_tactics(lrn_case(HostTensor(dt, {0, 6, 5}), 3), device(), stream(),
                                 lrn_tol(dt), "zero size")
                  .size(),
              1u);
  }
  OpCase c = lrn_case(random_tensor(DataType::kFloat32, {2, 8, 7, 7}, rng, -2, 2), 5);
  EXPECT_EQ(expect_capturable(c, device(), stream(), 1e-6, 1e-5, "lrn"), 1);
}

}  // namespace
}  // namespace kiln::testing::lrn_cuda_test
