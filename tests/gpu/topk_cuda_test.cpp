// TopK CUDA tactics against the CPU reference: largest / smallest, every dtype, axes (inner and
// strided slices), k from 1 to n, ties (exact index order), NaN ranking, both kernels where both
// apply, extents only one of them takes, k = 0 and zero-size tensors.
#include "gpu/op_check.h"

#include <algorithm>
#include <limits>

namespace kiln::testing::topk_cuda_test {
namespace {

const DataType kAllTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                              DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,
                              DataType::kInt64};

OpCase topk_case(HostTensor x, int64_t k, int64_t axis, bool largest, bool sorted = true) {
  OpCase c;
  c.op = "TopK";
  c.attrs.set("k", k);
  c.attrs.set("axis", axis);
  c.attrs.set("largest", int64_t{largest ? 1 : 0});
  c.attrs.set("sorted", int64_t{sorted ? 1 : 0});
  c.inputs.push_back(std::move(x));
  c.num_outputs = 2;
  return c;
}

HostTensor input_for(DataType dt, Dims shape, std::mt19937& rng, double lo = -50, double hi = 50) {
  if (dt == DataType::kUInt8) return random_tensor(dt, shape, rng, 0, 255);
  return random_tensor(dt, shape, rng, lo, hi);
}

bool contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

using TopKCuda = GpuTest;

TEST(TopKCudaRegistry, Tactics) {
  auto t = ops::cuda_tactics("TopK");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].name, "select");
  EXPECT_EQ(t[1].name, "bitonic");
}

TEST_F(TopKCuda, EveryDtypeBothKernels) {
  std::mt19937 rng(1);
  struct Case {
    Dims x;
    int64_t k, axis;
  };
  // Values come from a small range, so ties are frequent: the index order must match exactly.
  const Case cases[] = {{{10}, 3, 0},        {{4, 33}, 5, 1},   {{4, 33}, 2, 0},
                        {{3, 7, 5}, 7, 1},   {{2, 100}, 64, 1}, {{5, 2048}, 10, 1},
                        {{2, 3, 300}, 1, 2}, {{300, 4}, 20, 0}, {{1, 1}, 1, 1}};
  for (DataType dt : kAllTypes) {
    for (const Case& k : cases) {
      for (bool largest : {true, false}) {
        OpCase c = topk_case(input_for(dt, k.x, rng), k.k, k.axis, largest);
        auto ids =
            check_cuda_tactics(c, device(), stream(), {},
                               std::string(dtype_name(dt)) + " " + k.x.to_string() + " k " +
                                   std::to_string(k.k) + (largest ? " largest" : " smallest"));
        EXPECT_EQ(ids.size(), 2u);
      }
    }
  }
}

TEST_F(TopKCuda, LargeKOnlyBitonicLargeExtentOnlySelect) {
  std::mt19937 rng(2);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kInt32}) {
    // k above select's limit: bitonic only.
    OpCase big_k = topk_case(input_for(dt, {3, 1500}, rng), 700, 1, true);
    auto ids = check_cuda_tactics(big_k, device(), stream(), {}, "k 700");
    EXPECT_EQ(ids.size(), 1u);
    EXPECT_TRUE(contains(ids, "TopK/kiln-cuda/bitonic") || ids.empty());
    // Extent above bitonic's limit: select only.
    OpCase big_n = topk_case(input_for(dt, {2, 100000}, rng, -1e4, 1e4), 16, 1, false);
    ids = check_cuda_tactics(big_n, device(), stream(), {}, "n 100000");
    EXPECT_EQ(ids.size(), 1u);
    EXPECT_TRUE(contains(ids, "TopK/kiln-cuda/select") || ids.empty());
    // Strided slices (axis 0) with a large extent.
    OpCase strided = topk_case(input_for(dt, {5000, 3}, rng, -1e4, 1e4), 5, 0, true);
    check_cuda_tactics(strided, device(), stream(), {}, "strided n 5000");
  }
}

TEST_F(TopKCuda, NoTacticForLargeKAndLargeExtent) {
  std::mt19937 rng(3);
  OpCase c = topk_case(input_for(DataType::kFloat32, {1, 5000}, rng), 100, 1, true);
  auto runs = run_cuda_tactics(c, device(), stream());
  EXPECT_FALSE(runs.is_ok());
}

TEST_F(TopKCuda, FullSortAndRandom) {
  std::mt19937 rng(4);
  std::uniform_int_distribution<int64_t> nd(1, 300);
  for (int iter = 0; iter < 40; ++iter) {
    const DataType dt = kAllTypes[iter % 7];
    const int64_t n = nd(rng);
    const int64_t k =
        iter % 5 == 0 ? n
                      : std::uniform_int_distribution<int64_t>(1, std::min<int64_t>(n, 64))(rng);
    const bool axis_last = iter % 2 == 0;
    Dims shape = axis_last ? Dims{3, n} : Dims{n, 3};
    OpCase c =
        topk_case(input_for(dt, shape, rng), k, axis_last ? -1 : 0, iter % 3 != 0, iter % 4 != 0);
    check_cuda_tactics(
        c, device(), stream(), {},
        std::string(dtype_name(dt)) + " " + shape.to_string() + " k " + std::to_string(k));
  }
}

TEST_F(TopKCuda, NanRanksAboveNumbers) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    HostTensor x = make_tensor(dt, {2, 6}, {1, nan, 3, -inf, nan, inf, 0, 0, -1, nan, 2, 2});
    for (bool largest : {true, false}) {
      OpCase c = topk_case(x, 4, 1, largest);
      auto ids = check_cuda_tactics(c, device(), stream(), {}, std::string(dtype_name(dt)));
      EXPECT_EQ(ids.size(), 2u);
    }
  }
}

TEST_F(TopKCuda, ZeroKAndZeroSize) {
  std::mt19937 rng(5);
  auto ids = check_cuda_tactics(topk_case(input_for(DataType::kFloat32, {3, 8}, rng), 0, 1, true),
                                device(), stream(), {}, "k 0");
  EXPECT_EQ(ids.size(), 2u);
  ids = check_cuda_tactics(topk_case(input_for(DataType::kFloat32, {0, 8}, rng), 3, 1, true),
                           device(), stream(), {}, "zero rows");
  EXPECT_EQ(ids.size(), 2u);
}

}  // namespace
}  // namespace kiln::testing::topk_cuda_test
