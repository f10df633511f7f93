// CUDA "batched_copy" tactic of Concat against the CPU reference: every dtype, every axis
// (negative too), zero-size inputs among others, more inputs than one launch takes (groups of 32),
// chunk sizes that allow 16-byte words and ones that do not, unaligned buffers.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::concat_cuda_test {
namespace {

using ConcatCuda = GpuTest;

OpCase concat_case(std::vector<HostTensor> xs, int64_t axis) {
  OpCase c;
  c.op = "Concat";
  c.attrs.set("axis", axis);
  c.inputs = std::move(xs);
  return c;
}

TEST(ConcatCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("Concat");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "batched_copy");
  EXPECT_EQ(tactics[0].source, TacticSource::kKilnCuda);
}

TEST_F(ConcatCuda, RandomShapesEveryAxisEveryDtype) {
  std::mt19937 rng(31);
  for (DataType dt : all_dtypes()) {
    for (int iter = 0; iter < 10; ++iter) {
      const int rank = 1 + static_cast<int>(rng() % 4);
      std::vector<int64_t> base(rank);
      for (auto& v : base) v = 1 + static_cast<int64_t>(rng() % 6);
      const int64_t axis = static_cast<int64_t>(rng() % rank);
      const int n = 1 + static_cast<int>(rng() % 5);
      std::vector<HostTensor> xs;
      for (int i = 0; i < n; ++i) {
        std::vector<int64_t> d = base;
        d[axis] = static_cast<int64_t>(rng() % 5);  // 0 sometimes: an empty input
        xs.push_back(pattern_tensor(dt, make_dims(d), rng));
      }
      const int64_t attr_axis = (iter % 2) ? axis - rank : axis;
      expect_exact(concat_case(std::move(xs), attr_axis), device(), stream(),
                   std::string(dtype_name(dt)) + " axis " + std::to_string(attr_axis));
    }
  }
}

TEST_F(ConcatCuda, ManyInputsSpanSeveralLaunches) {
  std::mt19937 rng(32);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kUInt8}) {
    std::vector<HostTensor> xs;
    for (int i = 0; i < 70; ++i) {
      xs.push_back(pattern_tensor(dt, Dims{3, 1 + static_cast<int64_t>(rng() % 9), 4}, rng));
    }
    expect_exact(concat_case(std::move(xs), 1), device(), stream(), "70 inputs");
  }
}

TEST_F(ConcatCuda, WideRowsAndUnalignedBuffers) {
  std::mt19937 rng(33);
  for (DataType dt : {DataType::kFloat32, DataType::kBFloat16, DataType::kInt64, DataType::kBool}) {
    // 16-byte chunks, large rows (grid-stride), and odd chunks that force 1-element words.
    std::vector<HostTensor> wide = {pattern_tensor(dt, Dims{2, 64, 1024}, rng),
                                    pattern_tensor(dt, Dims{2, 40, 1024}, rng)};
    expect_exact(concat_case(std::move(wide), 1), device(), stream(), "wide");
    std::vector<HostTensor> odd = {pattern_tensor(dt, Dims{5, 3}, rng),
                                   pattern_tensor(dt, Dims{5, 1}, rng),
                                   pattern_tensor(dt, Dims{5, 7}, rng)};
    CudaRunOptions misaligned;
    misaligned.misalign_elements = 1;
    expect_exact(concat_case(odd, -1), device(), stream(), "odd");
    expect_exact(concat_case(std::move(odd), -1), device(), stream(), "odd misaligned", misaligned);
  }
}

TEST_F(ConcatCuda, AllEmpty) {
  std::mt19937 rng(34);
  std::vector<HostTensor> xs = {pattern_tensor(DataType::kFloat32, Dims{0, 3}, rng),
                                pattern_tensor(DataType::kFloat32, Dims{0, 3}, rng)};
  expect_exact(concat_case(std::move(xs), 0), device(), stream(), "all empty");
}

}  // namespace
}  // namespace kiln::testing::concat_cuda_test
