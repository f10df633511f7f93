// CUDA tactics of ScatterElements ("ordered", "parallel") against the CPU reference, bit for bit:
// every dtype and reduction (none / add / mul / max / min), every axis (negative too), int32 /
// int64 indices, heavily repeated indices (the last update wins with none; integer, bool and
// max / min reductions through atomics; float add / mul only in order), 8- and 16-bit elements
// at every byte offset of their 32-bit word (atomics there go through the word), zero-size, a
// CUDA graph capture, and out-of-range indices, which CUDA skips (the CPU reference refuses the
// run).
#include "gpu/cuda_case_util.h"
#include "gpu/index_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::scatter_elements_cuda_test {
namespace {

using ScatterElementsCuda = GpuTest;

const char* const kReductions[] = {"none", "add", "mul", "max", "min"};

OpCase se_case(HostTensor data, HostTensor idx, HostTensor upd, int64_t axis,
               const std::string& reduction) {
  OpCase c;
  c.op = "ScatterElements";
  c.inputs = {std::move(data), std::move(idx), std::move(upd)};
  c.attrs.set("axis", axis);
  c.attrs.set("reduction", reduction);
  return c;
}

// Float add / mul depend on the order: only "ordered" takes them.
size_t expected_tactics(DataType dt, const std::string& red) {
  return is_floating(dt) && (red == "add" || red == "mul") ? 1 : 2;
}

TEST(ScatterElementsCudaRegistry, Tactics) {
  auto tactics = ops::cuda_tactics("ScatterElements");
  ASSERT_EQ(tactics.size(), 2u);
  EXPECT_EQ(tactics[0].name, "ordered");
  EXPECT_EQ(tactics[1].name, "parallel");
}

TEST_F(ScatterElementsCuda, RandomEveryDtypeReductionAndAxis) {
  std::mt19937 rng(171);
  for (DataType dt : all_dtypes()) {
    for (const char* red : kReductions) {
      for (int iter = 0; iter < 6; ++iter) {
        const int rank = 1 + static_cast<int>(rng() % 3);
        const Dims d = random_dims(rng, rank, 1, 6);
        const int axis = static_cast<int>(rng() % rank);
        std::vector<int64_t> id(rank);
        for (int k = 0; k < rank; ++k) {
          // Longer than data along the axis: indices repeat there.
          id[k] = k == axis ? 1 + static_cast<int64_t>(rng() % 12)
                            : 1 + static_cast<int64_t>(rng() % d[k]);
        }
        const DataType it = iter % 2 ? DataType::kInt32 : DataType::kInt64;
        OpCase c =
            se_case(pattern_tensor(dt, d, rng), random_indices(rng, it, make_dims(id), d[axis]),
                    pattern_tensor(dt, make_dims(id), rng), iter % 3 ? axis : axis - rank, red);
        const auto runs =
            expect_exact(c, device(), stream(),
                         std::string(dtype_name(dt)) + " " + red + " iter " + std::to_string(iter));
        EXPECT_EQ(runs.size(), expected_tactics(dt, red)) << dtype_name(dt) << " " << red;
      }
    }
  }
}

TEST_F(ScatterElementsCuda, ManyCollisionsOnSmallElements) {
  // 4000 updates onto 5 elements of each row: long collision chains on every byte of a word.
  std::mt19937 rng(172);
  for (DataType dt : {DataType::kUInt8, DataType::kInt8, DataType::kBool, DataType::kFloat16,
                      DataType::kBFloat16, DataType::kInt32, DataType::kInt64}) {
    for (const char* red : kReductions) {
      // Small update values keep float sums exact only in order; bool / ints are exact anyway.
      OpCase c = se_case(pattern_tensor(dt, Dims{3, 5}, rng),
                         random_indices(rng, DataType::kInt64, Dims{3, 4000}, 5),
                         pattern_tensor(dt, Dims{3, 4000}, rng), 1, red);
      const auto runs = expect_exact(c, device(), stream(),
                                     std::string(dtype_name(dt)) + " " + red + " collisions");
      EXPECT_EQ(runs.size(), expected_tactics(dt, red));
    }
  }
}

TEST_F(ScatterElementsCuda, InPlaceZeroSizeAndCapture) {
  std::mt19937 rng(173);
  auto data = pattern_tensor(DataType::kFloat32, Dims{64, 33}, rng);
  auto idx = random_indices(rng, DataType::kInt64, Dims{64, 40}, 33);
  auto upd = pattern_tensor(DataType::kFloat32, Dims{64, 40}, rng);
  CudaRunOptions in_place;
  in_place.in_place = true;
  expect_exact(se_case(data, idx, upd, 1, "none"), device(), stream(), "in place", in_place);
  expect_exact(se_case(data, HostTensor(DataType::kInt64, Dims{0, 33}),
                       HostTensor(DataType::kFloat32, Dims{0, 33}), 0, "add"),
               device(), stream(), "no updates");
  for (const char* red : {"none", "max"}) {
    EXPECT_EQ(expect_capturable(se_case(data, idx, upd, 1, red), device(), stream(), 0, 0, red), 2);
  }
}

TEST_F(ScatterElementsCuda, OutOfRangeIndicesAreSkipped) {
  std::mt19937 rng(174);
  for (const char* red : {"none", "add"}) {
    auto data = pattern_tensor(DataType::kInt32, Dims{2, 4}, rng);
    // Along axis 1 (extent 4): 4 and -5 are out of range.
    HostTensor idx = make_tensor(DataType::kInt64, {2, 3}, {1, 4, -1, -5, 0, 0});
    auto upd = pattern_tensor(DataType::kInt32, Dims{2, 3}, rng);
    OpCase c = se_case(data, idx, upd, 1, red);
    EXPECT_FALSE(run_reference_case(c).is_ok());
    // The reference on the in-range updates alone.
    HostTensor idx_ok = make_tensor(DataType::kInt64, {2, 2}, {1, -1, 0, 0});
    HostTensor upd_ok(DataType::kInt32, Dims{2, 2});
    const int64_t keep[4] = {0, 2, 4, 5};
    for (int64_t i = 0; i < 4; ++i) upd_ok.as<int32_t>()[i] = upd.as<int32_t>()[keep[i]];
    auto want = run_reference_case(se_case(data, idx_ok, upd_ok, 1, red));
    ASSERT_TRUE(want.is_ok()) << want.status().to_string();
    auto runs = run_cuda_tactics(c, device(), stream());
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    EXPECT_EQ(runs->size(), 2u);
    for (const auto& r : *runs) {
      EXPECT_TRUE(all_close(r.outputs[0], (*want)[0], 0, 0)) << red << " " << r.tactic;
    }
  }
}

}  // namespace
}  // namespace kiln::testing::scatter_elements_cuda_test
