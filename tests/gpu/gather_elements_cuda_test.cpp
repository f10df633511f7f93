// CUDA "elements" tactic of GatherElements against the CPU reference: every data dtype and axis
// (negative too), int32 / int64 indices (negative ones count from the end), indices smaller than
// data on the other dims, zero-size, unaligned buffers, a CUDA graph capture; and out-of-range
// indices, which give 0 on CUDA without reading out of bounds (the CPU reference refuses them).
#include "gpu/cuda_case_util.h"
#include "gpu/index_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::gather_elements_cuda_test {
namespace {

using GatherElementsCuda = GpuTest;

OpCase ge_case(HostTensor data, HostTensor idx, int64_t axis) {
  OpCase c;
  c.op = "GatherElements";
  c.inputs = {std::move(data), std::move(idx)};
  c.attrs.set("axis", axis);
  return c;
}

TEST(GatherElementsCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("GatherElements");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "elements");
}

TEST_F(GatherElementsCuda, RandomEveryDtypeAndAxis) {
  std::mt19937 rng(151);
  for (DataType dt : all_dtypes()) {
    for (int iter = 0; iter < 10; ++iter) {
      const int rank = 1 + static_cast<int>(rng() % 4);
      const Dims d = random_dims(rng, rank, 1, 6);
      const int axis = static_cast<int>(rng() % rank);
      std::vector<int64_t> id(rank);
      for (int k = 0; k < rank; ++k) {
        // The axis may be longer than data's; the other dims at most data's.
        id[k] = k == axis ? 1 + static_cast<int64_t>(rng() % 8)
                          : 1 + static_cast<int64_t>(rng() % d[k]);
      }
      const DataType it = iter % 2 ? DataType::kInt32 : DataType::kInt64;
      expect_exact(
          ge_case(pattern_tensor(dt, d, rng), random_indices(rng, it, make_dims(id), d[axis]),
                  iter % 3 == 0 ? axis - rank : axis),
          device(), stream(), std::string(dtype_name(dt)) + " iter " + std::to_string(iter));
    }
  }
}

TEST_F(GatherElementsCuda, ZeroSizeLargeUnalignedAndCapture) {
  std::mt19937 rng(152);
  expect_exact(ge_case(pattern_tensor(DataType::kFloat32, Dims{3, 4}, rng),
                       HostTensor(DataType::kInt64, Dims{0, 4}), 0),
               device(), stream(), "no indices");
  auto data = pattern_tensor(DataType::kFloat16, Dims{64, 300}, rng);
  auto idx = random_indices(rng, DataType::kInt64, Dims{64, 517}, 300);
  expect_exact(ge_case(data, idx, 1), device(), stream(), "large");
  CudaRunOptions misaligned;
  misaligned.misalign_elements = 1;
  expect_exact(ge_case(data, idx, 1), device(), stream(), "misaligned", misaligned);
  EXPECT_EQ(expect_capturable(ge_case(data, idx, 1), device(), stream(), 0, 0, "ge"), 1);
}

TEST_F(GatherElementsCuda, OutOfRangeIndicesGiveZero) {
  std::mt19937 rng(153);
  for (DataType dt : {DataType::kFloat32, DataType::kInt64, DataType::kUInt8}) {
    auto data = pattern_tensor(dt, Dims{2, 3}, rng);
    // Along axis 1 (extent 3): 3 and -4 are out of range.
    HostTensor idx = make_tensor(DataType::kInt32, {2, 3}, {0, 3, -1, -4, 2, 1});
    OpCase c = ge_case(data, idx, 1);
    EXPECT_FALSE(run_reference_case(c).is_ok());
    auto runs = run_cuda_tactics(c, device(), stream());
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    ASSERT_EQ(runs->size(), 1u);
    const HostTensor& y = (*runs)[0].outputs[0];
    const int64_t col[6] = {0, -1, 2, -1, 2, 1};  // -1: out of range
    for (int64_t i = 0; i < 6; ++i) {
      const double want = col[i] < 0 ? 0.0 : data.get_double((i / 3) * 3 + col[i]);
      EXPECT_EQ(y.get_double(i), want) << dtype_name(dt) << " element " << i;
    }
  }
}

}  // namespace
}  // namespace kiln::testing::gather_elements_cuda_test
