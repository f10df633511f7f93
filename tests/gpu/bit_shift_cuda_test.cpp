// BitShift CUDA tactic against the CPU reference, exactly: both directions, shift amounts 0..10
// (8 and above give 0), same shapes, scalars and numpy broadcasts on either side (merged and
// unmerged dims), zero-size outputs, and a CUDA graph capture.
#include "gpu/cuda_case_util.h"
#include "gpu/random_shapes.h"

namespace kiln::testing::bit_shift_cuda_test {
namespace {

OpCase shift_case(HostTensor x, HostTensor y, const std::string& dir) {
  OpCase c;
  c.op = "BitShift";
  c.attrs.set("direction", dir);
  c.inputs = {std::move(x), std::move(y)};
  return c;
}

using BitShiftCuda = GpuTest;

TEST(BitShiftCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("BitShift");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "broadcast");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(BitShiftCuda, ShapesAndDirections) {
  std::mt19937 rng(1);
  struct Pair {
    Dims x, y;
  };
  const Pair pairs[] = {
      {{17}, {17}},           {{3, 5}, {1}},         {{1}, {4, 6}},       {{}, {}},
      {{2, 3, 4}, {3, 1}},    {{4, 1}, {1, 5}},      {{2, 3, 4, 5}, {5}}, {{2, 1, 4, 1}, {3, 1, 6}},
      {{6, 1, 1}, {6, 7, 8}}, {{1000, 3}, {1000, 1}}};
  for (const Pair& p : pairs) {
    for (const char* dir : {"LEFT", "RIGHT"}) {
      OpCase c = shift_case(random_tensor(DataType::kUInt8, p.x, rng, 0, 255),
                            random_tensor(DataType::kUInt8, p.y, rng, 0, 10), dir);
      EXPECT_EQ(expect_exact(c, device(), stream(),
                             std::string(dir) + " " + p.x.to_string() + " " + p.y.to_string())
                    .size(),
                1u);
    }
  }
}

TEST_F(BitShiftCuda, RandomBroadcasts) {
  std::mt19937 rng(11);
  for (int iter = 0; iter < 60; ++iter) {
    const Dims out = random_rank_dims(rng, 0, 6, 5);
    Dims x = random_broadcast_of(out, rng), y = random_broadcast_of(out, rng);
    if (iter % 2 == 1) std::swap(x, y);
    OpCase c =
        shift_case(random_tensor(DataType::kUInt8, x, rng, 0, 255),
                   random_tensor(DataType::kUInt8, y, rng, 0, 9), iter % 3 == 0 ? "LEFT" : "RIGHT");
    expect_exact(c, device(), stream(), x.to_string() + " " + y.to_string());
  }
}

TEST_F(BitShiftCuda, LargeAndZeroSize) {
  std::mt19937 rng(2);
  OpCase big = shift_case(random_tensor(DataType::kUInt8, {3, 700, 1000}, rng, 0, 255),
                          random_tensor(DataType::kUInt8, {700, 1}, rng, 0, 9), "LEFT");
  expect_exact(big, device(), stream(), "2.1M broadcast");
  OpCase zero = shift_case(random_tensor(DataType::kUInt8, {0, 3}, rng, 0, 255),
                           random_tensor(DataType::kUInt8, {3}, rng, 0, 9), "RIGHT");
  EXPECT_EQ(expect_exact(zero, device(), stream(), "zero size").size(), 1u);
}

TEST_F(BitShiftCuda, Capturable) {
  std::mt19937 rng(3);
  OpCase c = shift_case(random_tensor(DataType::kUInt8, {4, 9}, rng, 0, 255),
                        random_tensor(DataType::kUInt8, {9}, rng, 0, 9), "RIGHT");
  EXPECT_EQ(expect_capturable(c, device(), stream(), 0, 0, "bitshift"), 1);
}

}  // namespace
}  // namespace kiln::testing::bit_shift_cuda_test
