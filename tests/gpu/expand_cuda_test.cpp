// CUDA "broadcast" tactic of Expand against the CPU reference: every dtype, random broadcasts
// (leading dims added, extent-1 dims stretched, target extents of 1 keeping X's), rows that are
// copied whole (16-byte words), zero-size, unaligned buffers.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::expand_cuda_test {
namespace {

using ExpandCuda = GpuTest;

OpCase expand_case(HostTensor x, const std::vector<int64_t>& shape) {
  OpCase c;
  c.op = "Expand";
  c.inputs.push_back(std::move(x));
  c.inputs.push_back(ints(DataType::kInt64, shape));
  c.constant = {false, true};
  return c;
}

TEST(ExpandCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("Expand");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "broadcast");
}

TEST_F(ExpandCuda, RandomBroadcastsEveryDtype) {
  std::mt19937 rng(41);
  for (DataType dt : all_dtypes()) {
    for (int iter = 0; iter < 10; ++iter) {
      const int out_rank = 1 + static_cast<int>(rng() % 5);
      const int in_rank = 1 + static_cast<int>(rng() % out_rank);
      std::vector<int64_t> out(out_rank), in(in_rank), target(out_rank);
      for (auto& v : out) v = 1 + static_cast<int64_t>(rng() % 5);
      for (int i = 0; i < in_rank; ++i) {
        const int64_t o = out[out_rank - in_rank + i];
        in[i] = rng() % 3 == 0 ? 1 : o;
      }
      for (int i = 0; i < out_rank; ++i) {
        const int j = i - (out_rank - in_rank);
        // A target extent of 1 keeps X's extent (bidirectional broadcast).
        target[i] = (j >= 0 && in[j] == out[i] && rng() % 3 == 0) ? 1 : out[i];
      }
      expect_exact(expand_case(pattern_tensor(dt, make_dims(in), rng), target), device(), stream(),
                   std::string(dtype_name(dt)) + " iter " + std::to_string(iter));
    }
  }
}

TEST_F(ExpandCuda, WholeRowsZeroSizeAndUnaligned) {
  std::mt19937 rng(42);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kInt8, DataType::kInt64}) {
    expect_exact(expand_case(pattern_tensor(dt, Dims{1, 256}, rng), {100, 256}), device(), stream(),
                 "rows");
    expect_exact(expand_case(pattern_tensor(dt, Dims{7, 1}, rng), {3, 7, 300}), device(), stream(),
                 "columns");
    expect_exact(expand_case(pattern_tensor(dt, Dims{}, rng), {4, 5}), device(), stream(),
                 "scalar");
    expect_exact(expand_case(pattern_tensor(dt, Dims{3, 1}, rng), {0, 3, 4}), device(), stream(),
                 "zero-size");
    CudaRunOptions misaligned;
    misaligned.misalign_elements = 1;
    expect_exact(expand_case(pattern_tensor(dt, Dims{1, 64}, rng), {9, 64}), device(), stream(),
                 "misaligned", misaligned);
  }
}

}  // namespace
}  // namespace kiln::testing::expand_cuda_test
