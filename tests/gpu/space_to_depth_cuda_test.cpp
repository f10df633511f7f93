// CUDA "strided" tactic of SpaceToDepth against the CPU reference: blocksizes 1-4, every dtype,
// extent-1 dims, zero-size, large unaligned buffers and a CUDA graph capture.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::space_to_depth_cuda_test {
namespace {

using SpaceToDepthCuda = GpuTest;

OpCase s2d_case(const HostTensor& x, int64_t b) {
  OpCase c;
  c.op = "SpaceToDepth";
  c.attrs.set("blocksize", b);
  c.inputs = {x};
  return c;
}

TEST(SpaceToDepthCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("SpaceToDepth");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "strided");
}

TEST_F(SpaceToDepthCuda, EveryBlocksizeAndDtype) {
  std::mt19937 rng(141);
  for (DataType dt : all_dtypes()) {
    for (int64_t b : {1, 2, 3, 4}) {
      for (int iter = 0; iter < 3; ++iter) {
        const Dims d{1 + static_cast<int64_t>(rng() % 2), 1 + static_cast<int64_t>(rng() % 3),
                     b * (1 + static_cast<int64_t>(rng() % 3)),
                     b * (1 + static_cast<int64_t>(rng() % 4))};
        expect_exact(s2d_case(pattern_tensor(dt, d, rng), b), device(), stream(),
                     std::string(dtype_name(dt)) + " b " + std::to_string(b) + " " + d.to_string());
      }
    }
  }
}

TEST_F(SpaceToDepthCuda, ZeroSizeLargeUnalignedAndCapture) {
  std::mt19937 rng(142);
  expect_exact(s2d_case(pattern_tensor(DataType::kFloat32, Dims{2, 0, 4, 4}, rng), 2), device(),
               stream(), "empty");
  auto x = pattern_tensor(DataType::kBFloat16, Dims{2, 3, 64, 96}, rng);
  expect_exact(s2d_case(x, 4), device(), stream(), "large");
  CudaRunOptions misaligned;
  misaligned.misalign_elements = 1;
  expect_exact(s2d_case(x, 2), device(), stream(), "misaligned", misaligned);
  EXPECT_EQ(expect_capturable(s2d_case(x, 2), device(), stream(), 0, 0, "s2d"), 1);
}

}  // namespace
}  // namespace kiln::testing::space_to_depth_cuda_test
