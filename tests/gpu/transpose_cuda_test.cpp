// CUDA tactics of Transpose ("generic", "tiled") against the CPU reference: every dtype, random
// ranks and permutations (extent-1 dims, zero-size), 2-D and batched last-two-dims transposes
// spanning many tiles, permutations that keep the innermost dim (row copies), unaligned buffers.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

#include <numeric>

namespace kiln::testing::transpose_cuda_test {
namespace {

using TransposeCuda = GpuTest;

OpCase transpose_case(HostTensor x, std::vector<int64_t> perm) {
  OpCase c;
  c.op = "Transpose";
  c.inputs.push_back(std::move(x));
  if (!perm.empty()) c.attrs.set("perm", std::move(perm));  // a scalar takes the default
  return c;
}

std::string describe(DataType dt, const Dims& d, const std::vector<int64_t>& perm) {
  std::string s = std::string(dtype_name(dt)) + " " + d.to_string() + " perm";
  for (int64_t p : perm) s += " " + std::to_string(p);
  return s;
}

TEST(TransposeCudaRegistry, GenericAndTiled) {
  auto tactics = ops::cuda_tactics("Transpose");
  ASSERT_EQ(tactics.size(), 2u);
  EXPECT_EQ(tactics[0].name, "generic");
  EXPECT_EQ(tactics[1].name, "tiled");
  for (const auto& t : tactics) EXPECT_EQ(t.source, TacticSource::kKilnCuda);
}

TEST_F(TransposeCuda, RandomPermutationsEveryDtype) {
  std::mt19937 rng(21);
  for (DataType dt : all_dtypes()) {
    for (int iter = 0; iter < 12; ++iter) {
      const int rank = 1 + static_cast<int>(rng() % 6);
      std::vector<int64_t> d(rank), perm(rank);
      for (auto& v : d) v = 1 + static_cast<int64_t>(rng() % 7);
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      const Dims shape = make_dims(d);
      expect_exact(transpose_case(pattern_tensor(dt, shape, rng), perm), device(), stream(),
                   describe(dt, shape, perm));
    }
  }
}

TEST_F(TransposeCuda, TwoDimsAndBatchedLastTwoUseTheTiledKernel) {
  std::mt19937 rng(22);
  struct Case {
    std::vector<int64_t> dims, perm;
  };
  // Odd extents (partial tiles), more tiles than the grid has blocks (grid-stride over tiles).
  const std::vector<Case> cases = {{{33, 65}, {1, 0}},           {{1, 1000}, {1, 0}},
                                   {{3, 1000, 1001}, {0, 2, 1}}, {{2, 7, 45, 31}, {0, 1, 3, 2}},
                                   {{4, 5, 6, 7}, {3, 2, 1, 0}}, {{6, 35, 3, 40}, {3, 1, 2, 0}}};
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kInt8, DataType::kInt64}) {
    for (const Case& k : cases) {
      const Dims shape = make_dims(k.dims);
      auto runs = expect_exact(transpose_case(pattern_tensor(dt, shape, rng), k.perm), device(),
                               stream(), describe(dt, shape, k.perm));
      // [1,1000] -> [1000,1] moves no data layout: only the generic copy applies.
      const bool tiled = k.dims[0] != 1;
      EXPECT_EQ(ran(runs, "/tiled"), tiled) << describe(dt, shape, k.perm);
      EXPECT_TRUE(ran(runs, "/generic"));
    }
  }
}

TEST_F(TransposeCuda, PermutationsKeepingTheInnermostDimCopyRows) {
  std::mt19937 rng(23);
  for (DataType dt : all_dtypes()) {
    for (const auto& [dims, perm] :
         std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>>{
             {{4, 6, 8}, {1, 0, 2}}, {{3, 5, 7, 16}, {2, 0, 1, 3}}, {{9, 2, 3}, {0, 1, 2}}}) {
      const Dims shape = make_dims(dims);
      auto runs = expect_exact(transpose_case(pattern_tensor(dt, shape, rng), perm), device(),
                               stream(), describe(dt, shape, perm));
      EXPECT_FALSE(ran(runs, "/tiled"));
    }
  }
}

TEST_F(TransposeCuda, ZeroSizeScalarAndUnaligned) {
  std::mt19937 rng(24);
  for (DataType dt : {DataType::kFloat32, DataType::kBFloat16, DataType::kUInt8}) {
    expect_exact(transpose_case(pattern_tensor(dt, Dims{0, 5}, rng), {1, 0}), device(), stream(),
                 "zero-size");
    expect_exact(transpose_case(pattern_tensor(dt, Dims{3, 0, 5}, rng), {2, 1, 0}), device(),
                 stream(), "zero-size middle");
    expect_exact(transpose_case(pattern_tensor(dt, Dims{}, rng), {}), device(), stream(), "scalar");
    CudaRunOptions misaligned;
    misaligned.misalign_elements = 1;
    expect_exact(transpose_case(pattern_tensor(dt, Dims{37, 70}, rng), {1, 0}), device(), stream(),
                 "misaligned 2-D", misaligned);
    expect_exact(transpose_case(pattern_tensor(dt, Dims{5, 3, 64}, rng), {1, 0, 2}), device(),
                 stream(), "misaligned rows", misaligned);
  }
}

}  // namespace
}  // namespace kiln::testing::transpose_cuda_test
