// CUDA "strided" tactic of Tile against the CPU reference: every dtype, ranks 1-6 with random
// repeats (0 and 1 too, int64 / int32 repeats), the strided-copy path and the per-element path
// (more than four axes both tiled and wider than one), extent-1 axes, zero-size, wide rows,
// unaligned buffers and a CUDA graph capture.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::tile_cuda_test {
namespace {

using TileCuda = GpuTest;

OpCase tile_case(const HostTensor& x, const std::vector<int64_t>& repeats,
                 DataType dt = DataType::kInt64) {
  OpCase c;
  c.op = "Tile";
  c.inputs = {x, ints(dt, repeats)};
  c.constant = {false, true};
  return c;
}

TEST(TileCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("Tile");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "strided");
}

TEST_F(TileCuda, RandomEveryDtype) {
  std::mt19937 rng(111);
  for (DataType dt : all_dtypes()) {
    for (int iter = 0; iter < 15; ++iter) {
      const int rank = 1 + static_cast<int>(rng() % 4);
      const Dims d = random_dims(rng, rank, 1, 5);
      std::vector<int64_t> reps(rank);
      for (auto& r : reps) r = static_cast<int64_t>(rng() % 4);  // 0 empties the output
      if (iter % 4 != 0) {
        for (auto& r : reps) r = std::max<int64_t>(r, 1);
      }
      expect_exact(tile_case(pattern_tensor(dt, d, rng), reps,
                             iter % 2 ? DataType::kInt32 : DataType::kInt64),
                   device(), stream(), std::string(dtype_name(dt)) + " " + d.to_string());
    }
  }
}

TEST_F(TileCuda, ManyTiledAxesTakeThePerElementPath) {
  std::mt19937 rng(112);
  for (DataType dt : {DataType::kFloat32, DataType::kBool, DataType::kInt64, DataType::kFloat16}) {
    // Five and six axes wider than one, all repeated: 10 / 12 copy dims, over the 8 of a strided
    // copy.
    expect_exact(tile_case(pattern_tensor(dt, Dims{2, 3, 2, 2, 3}, rng), {2, 1, 3, 2, 2}), device(),
                 stream(), "rank 5");
    expect_exact(tile_case(pattern_tensor(dt, Dims{2, 2, 2, 2, 2, 3}, rng), {2, 2, 2, 2, 2, 2}),
                 device(), stream(), "rank 6");
  }
}

TEST_F(TileCuda, EdgeShapes) {
  std::mt19937 rng(113);
  expect_exact(tile_case(pattern_tensor(DataType::kInt32, Dims{1, 1, 1}, rng), {3, 1, 4}), device(),
               stream(), "extent-1 axes");
  expect_exact(tile_case(pattern_tensor(DataType::kInt32, Dims{0, 3}, rng), {2, 2}), device(),
               stream(), "empty input");
  expect_exact(tile_case(pattern_tensor(DataType::kInt32, Dims{2, 3}, rng), {1, 1}), device(),
               stream(), "no repeat");
}

TEST_F(TileCuda, WideRowsUnalignedAndCapture) {
  std::mt19937 rng(114);
  auto x = pattern_tensor(DataType::kFloat16, Dims{3, 512}, rng);
  expect_exact(tile_case(x, {4, 1}), device(), stream(), "rows");
  expect_exact(tile_case(x, {2, 3}), device(), stream(), "rows and columns");
  CudaRunOptions misaligned;
  misaligned.misalign_elements = 1;
  expect_exact(tile_case(x, {4, 1}), device(), stream(), "rows misaligned", misaligned);
  EXPECT_EQ(expect_capturable(tile_case(x, {2, 3}), device(), stream(), 0, 0, "tile"), 1);
  auto y = pattern_tensor(DataType::kFloat32, Dims{2, 3, 2, 2, 3}, rng);
  EXPECT_EQ(expect_capturable(tile_case(y, {2, 2, 2, 2, 2}), device(), stream(), 0, 0,
                              "tile per element"),
            1);
}

}  // namespace
}  // namespace kiln::testing::tile_cuda_test
