// CUDA "strided" tactic of Split against the CPU reference: every dtype and axis (negative too),
// every way of giving the pieces (equal, int64 / int32 split input, the attribute, num_outputs
// with a smaller last piece), empty pieces, the outermost axis (one contiguous block per piece),
// wide rows (16-byte words), unaligned buffers and a CUDA graph capture.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::split_cuda_test {
namespace {

using SplitCuda = GpuTest;

// form 0: equal split; 1: split input int64; 2: split input int32; 3: attribute "split";
// 4: num_outputs.
OpCase split_case(const HostTensor& x, int64_t axis, const std::vector<int64_t>& sizes, int form) {
  OpCase c;
  c.op = "Split";
  c.attrs.set("axis", axis);
  c.inputs.push_back(x);
  c.num_outputs = static_cast<int>(sizes.size());
  if (form == 1 || form == 2) {
    c.inputs.push_back(ints(form == 1 ? DataType::kInt64 : DataType::kInt32, sizes));
    c.constant = {false, true};
  } else if (form == 3) {
    c.attrs.set("split", sizes);
  } else if (form == 4) {
    c.attrs.set("num_outputs", static_cast<int64_t>(sizes.size()));
  }
  return c;
}

TEST(SplitCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("Split");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "strided");
}

TEST_F(SplitCuda, RandomEveryDtypeAxisAndForm) {
  std::mt19937 rng(101);
  for (DataType dt : all_dtypes()) {
    for (int iter = 0; iter < 12; ++iter) {
      const int rank = 1 + static_cast<int>(rng() % 4);
      const Dims d = random_dims(rng, rank, 1, 7);
      const int axis = static_cast<int>(rng() % rank);
      const int64_t e = d[axis];
      const int form = iter % 5;
      std::vector<int64_t> sizes;
      if (form == 0) {  // equal pieces: a divisor of the extent
        int64_t n = 1 + static_cast<int64_t>(rng() % e);
        while (e % n != 0) --n;
        sizes.assign(n, e / n);
      } else if (form == 4) {  // pieces of ceil(e / n), the last smaller
        const int64_t n = 1 + static_cast<int64_t>(rng() % e);
        const int64_t chunk = (e + n - 1) / n;
        if (chunk * (n - 1) > e) continue;
        sizes.assign(n, chunk);
        sizes.back() = e - chunk * (n - 1);
      } else {  // arbitrary sizes, empty pieces allowed
        int64_t left = e;
        while (left > 0) {
          const int64_t s = static_cast<int64_t>(rng() % (left + 1));
          sizes.push_back(s);
          left -= s;
        }
        sizes.push_back(0);
      }
      expect_exact(
          split_case(pattern_tensor(dt, d, rng), rng() % 2 ? axis : axis - rank, sizes, form),
          device(), stream(),
          std::string(dtype_name(dt)) + " " + d.to_string() + " axis " + std::to_string(axis) +
              " form " + std::to_string(form));
    }
  }
}

TEST_F(SplitCuda, WideRowsUnalignedAndCapture) {
  std::mt19937 rng(102);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kUInt8, DataType::kInt64}) {
    // A fused QKV projection split into three: rows of 768 elements.
    auto x = pattern_tensor(dt, Dims{4, 33, 2304}, rng);
    expect_exact(split_case(x, -1, {768, 768, 768}, 1), device(), stream(), "qkv");
    CudaRunOptions misaligned;
    misaligned.misalign_elements = 1;
    expect_exact(split_case(x, -1, {768, 768, 768}, 1), device(), stream(), "qkv misaligned",
                 misaligned);
    expect_exact(split_case(x, 0, {1, 3}, 3), device(), stream(), "outermost");
  }
  auto x = pattern_tensor(DataType::kFloat32, Dims{8, 96}, rng);
  EXPECT_EQ(expect_capturable(split_case(x, 1, {32, 64}, 1), device(), stream(), 0, 0, "split"), 1);
}

TEST_F(SplitCuda, ZeroSizeInput) {
  std::mt19937 rng(103);
  expect_exact(split_case(pattern_tensor(DataType::kFloat32, Dims{0, 6}, rng), 1, {2, 4}, 1),
               device(), stream(), "empty outer");
}

}  // namespace
}  // namespace kiln::testing::split_cuda_test
