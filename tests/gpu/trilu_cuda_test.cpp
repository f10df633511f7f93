// CUDA "masked" tactic of Trilu against the CPU reference: every dtype, upper and lower, k absent
// / int64 / int32, k from far below to far above the diagonal (INT64 extremes clamp without
// overflow), batches of matrices, wide and tall matrices, zero-size, unaligned buffers and a CUDA
// graph capture.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

#include <limits>

namespace kiln::testing::trilu_cuda_test {
namespace {

using TriluCuda = GpuTest;

// k_mode 0: no k input; 1: int64 k; 2: int32 k.
OpCase trilu_case(const HostTensor& x, int64_t upper, int64_t k, int k_mode) {
  OpCase c;
  c.op = "Trilu";
  c.attrs.set("upper", upper);
  c.inputs = {x};
  if (k_mode > 0) {
    HostTensor kt(k_mode == 1 ? DataType::kInt64 : DataType::kInt32, {});
    if (k_mode == 1) {
      kt.as<int64_t>()[0] = k;
    } else {
      kt.as<int32_t>()[0] = static_cast<int32_t>(k);
    }
    c.inputs.push_back(kt);
    c.constant = {false, true};
  }
  return c;
}

TEST(TriluCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("Trilu");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "masked");
}

TEST_F(TriluCuda, EveryDtypeModeAndK) {
  std::mt19937 rng(121);
  const std::vector<Dims> shapes = {Dims{4, 4}, Dims{3, 7}, Dims{7, 3}, Dims{2, 3, 5, 6},
                                    Dims{1, 1}};
  for (DataType dt : all_dtypes()) {
    for (const Dims& d : shapes) {
      for (int64_t upper : {0, 1}) {
        for (int64_t k : {-9, -2, -1, 0, 1, 3, 9}) {
          const int mode = k == 0 ? static_cast<int>(rng() % 3) : 1 + static_cast<int>(rng() % 2);
          expect_exact(trilu_case(pattern_tensor(dt, d, rng), upper, k, mode), device(), stream(),
                       std::string(dtype_name(dt)) + " " + d.to_string() + " upper " +
                           std::to_string(upper) + " k " + std::to_string(k));
        }
      }
    }
  }
}

TEST_F(TriluCuda, ExtremeK) {
  std::mt19937 rng(122);
  auto x = pattern_tensor(DataType::kInt32, Dims{5, 6}, rng);
  for (int64_t k : {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    for (int64_t upper : {0, 1}) {
      expect_exact(trilu_case(x, upper, k, 1), device(), stream(), "extreme k");
    }
  }
}

TEST_F(TriluCuda, ZeroSizeLargeUnalignedAndCapture) {
  std::mt19937 rng(123);
  expect_exact(trilu_case(pattern_tensor(DataType::kFloat32, Dims{3, 0, 4}, rng), 1, 0, 0),
               device(), stream(), "empty");
  auto x = pattern_tensor(DataType::kFloat16, Dims{3, 129, 257}, rng);
  expect_exact(trilu_case(x, 0, 5, 1), device(), stream(), "large");
  CudaRunOptions misaligned;
  misaligned.misalign_elements = 1;
  expect_exact(trilu_case(x, 1, -5, 2), device(), stream(), "large misaligned", misaligned);
  EXPECT_EQ(expect_capturable(trilu_case(x, 1, 2, 1), device(), stream(), 0, 0, "trilu"), 1);
}

}  // namespace
}  // namespace kiln::testing::trilu_cuda_test
