// CUDA "broadcast" tactic of Select against the CPU reference: every dtype, same-shape inputs,
// 3-way broadcasting of random shapes (condition, A and B each broadcast differently), zero-size,
// unaligned buffers.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::select_cuda_test {
namespace {

using SelectCuda = GpuTest;

OpCase select_case(HostTensor c, HostTensor a, HostTensor b) {
  OpCase k;
  k.op = "Select";
  k.inputs = {std::move(c), std::move(a), std::move(b)};
  return k;
}

// A shape that broadcasts to `out`: a suffix of it with some extents set to 1.
Dims broadcast_from(const std::vector<int64_t>& out, std::mt19937& rng) {
  const int drop = static_cast<int>(rng() % (out.size() + 1));
  std::vector<int64_t> d(out.begin() + drop, out.end());
  for (auto& v : d) {
    if (rng() % 3 == 0) v = 1;
  }
  return make_dims(d);
}

TEST(SelectCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("Select");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "broadcast");
}

TEST_F(SelectCuda, SameShapeEveryDtype) {
  std::mt19937 rng(81);
  for (DataType dt : all_dtypes()) {
    for (const Dims& d : {Dims{}, Dims{1}, Dims{1031}, Dims{3, 5, 7}}) {
      expect_exact(select_case(pattern_tensor(DataType::kBool, d, rng), pattern_tensor(dt, d, rng),
                               pattern_tensor(dt, d, rng)),
                   device(), stream(), std::string(dtype_name(dt)) + " " + d.to_string());
    }
  }
}

TEST_F(SelectCuda, RandomBroadcastsEveryDtype) {
  std::mt19937 rng(82);
  for (DataType dt : all_dtypes()) {
    for (int iter = 0; iter < 8; ++iter) {
      const int rank = 1 + static_cast<int>(rng() % 5);
      std::vector<int64_t> out(rank);
      for (auto& v : out) v = 1 + static_cast<int64_t>(rng() % 5);
      expect_exact(select_case(pattern_tensor(DataType::kBool, broadcast_from(out, rng), rng),
                               pattern_tensor(dt, broadcast_from(out, rng), rng),
                               pattern_tensor(dt, make_dims(out), rng)),
                   device(), stream(),
                   std::string(dtype_name(dt)) + " iter " + std::to_string(iter));
    }
  }
}

TEST_F(SelectCuda, ZeroSizeAndUnaligned) {
  std::mt19937 rng(83);
  expect_exact(select_case(pattern_tensor(DataType::kBool, Dims{0, 3}, rng),
                           pattern_tensor(DataType::kFloat32, Dims{1, 3}, rng),
                           pattern_tensor(DataType::kFloat32, Dims{3}, rng)),
               device(), stream(), "zero-size");
  CudaRunOptions misaligned;
  misaligned.misalign_elements = 1;
  for (DataType dt : {DataType::kFloat16, DataType::kInt64}) {
    expect_exact(
        select_case(pattern_tensor(DataType::kBool, Dims{4, 1}, rng),
                    pattern_tensor(dt, Dims{4, 33}, rng), pattern_tensor(dt, Dims{33}, rng)),
        device(), stream(), "misaligned", misaligned);
  }
}

}  // namespace
}  // namespace kiln::testing::select_cuda_test
