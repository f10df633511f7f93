// CUDA "strided" tactic of DepthToSpace against the CPU reference: DCR and CRD, blocksizes 1-4,
// every dtype, extent-1 dims, zero-size, large unaligned buffers and a CUDA graph capture.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::depth_to_space_cuda_test {
namespace {

using DepthToSpaceCuda = GpuTest;

OpCase d2s_case(const HostTensor& x, int64_t b, const std::string& mode) {
  OpCase c;
  c.op = "DepthToSpace";
  c.attrs.set("blocksize", b);
  if (!mode.empty()) c.attrs.set("mode", mode);
  c.inputs = {x};
  return c;
}

TEST(DepthToSpaceCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("DepthToSpace");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "strided");
}

TEST_F(DepthToSpaceCuda, EveryModeBlocksizeAndDtype) {
  std::mt19937 rng(131);
  for (DataType dt : all_dtypes()) {
    for (const char* mode : {"", "DCR", "CRD"}) {
      for (int64_t b : {1, 2, 3, 4}) {
        const int64_t c = b * b * (1 + static_cast<int64_t>(rng() % 3));
        const Dims d{1 + static_cast<int64_t>(rng() % 2), c, 1 + static_cast<int64_t>(rng() % 4),
                     1 + static_cast<int64_t>(rng() % 5)};
        expect_exact(d2s_case(pattern_tensor(dt, d, rng), b, mode), device(), stream(),
                     std::string(dtype_name(dt)) + " " + mode + " b " + std::to_string(b) + " " +
                         d.to_string());
      }
    }
  }
}

TEST_F(DepthToSpaceCuda, ZeroSizeLargeUnalignedAndCapture) {
  std::mt19937 rng(132);
  expect_exact(d2s_case(pattern_tensor(DataType::kFloat32, Dims{0, 8, 3, 3}, rng), 2, "CRD"),
               device(), stream(), "empty");
  auto x = pattern_tensor(DataType::kFloat16, Dims{2, 64, 33, 40}, rng);
  for (const char* mode : {"DCR", "CRD"}) {
    expect_exact(d2s_case(x, 4, mode), device(), stream(), std::string("large ") + mode);
    CudaRunOptions misaligned;
    misaligned.misalign_elements = 1;
    expect_exact(d2s_case(x, 2, mode), device(), stream(), std::string("misaligned ") + mode,
                 misaligned);
    EXPECT_EQ(expect_capturable(d2s_case(x, 2, mode), device(), stream(), 0, 0, mode), 1);
  }
}

}  // namespace
}  // namespace kiln::testing::depth_to_space_cuda_test
