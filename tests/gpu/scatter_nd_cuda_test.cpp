// CUDA tactics of ScatterND ("ordered", "parallel") against the CPU reference, bit for bit: every
// dtype and reduction (none / add / mul / max / min), tuple lengths from 1 to the full rank,
// int32 / int64 tuples (negative entries count from the end), repeated tuples (the last wins with
// none; float add / mul only in order), element-wise scatters (k = rank) with many collisions,
// wide slices, zero-size, in place, a CUDA graph capture, and out-of-range tuples, which CUDA
// skips (the CPU reference refuses the run).
#include "gpu/cuda_case_util.h"
#include "gpu/index_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::scatter_nd_cuda_test {
namespace {

using ScatterNdCuda = GpuTest;

const char* const kReductions[] = {"none", "add", "mul", "max", "min"};

OpCase snd_case(HostTensor data, HostTensor idx, HostTensor upd, const std::string& reduction) {
  OpCase c;
  c.op = "ScatterND";
  c.inputs = {std::move(data), std::move(idx), std::move(upd)};
  c.attrs.set("reduction", reduction);
  return c;
}

// Updates for data `d` and tuples [lead..., k]: shape lead ++ d[k:].
Dims updates_shape(const Dims& d, const std::vector<int64_t>& lead, int k) {
  std::vector<int64_t> s = lead;
  s.insert(s.end(), d.begin() + k, d.end());
  return make_dims(s);
}

size_t expected_tactics(DataType dt, const std::string& red) {
  return is_floating(dt) && (red == "add" || red == "mul") ? 1 : 2;
}

TEST(ScatterNdCudaRegistry, Tactics) {
  auto tactics = ops::cuda_tactics("ScatterND");
  ASSERT_EQ(tactics.size(), 2u);
  EXPECT_EQ(tactics[0].name, "ordered");
  EXPECT_EQ(tactics[1].name, "parallel");
}

TEST_F(ScatterNdCuda, RandomEveryDtypeReductionAndTupleLength) {
  std::mt19937 rng(181);
  for (DataType dt : all_dtypes()) {
    for (const char* red : kReductions) {
      for (int iter = 0; iter < 6; ++iter) {
        const int rank = 1 + static_cast<int>(rng() % 3);
        const Dims d = random_dims(rng, rank, 1, 5);
        const int k = 1 + static_cast<int>(rng() % rank);
        std::vector<int64_t> lead;
        for (int i = static_cast<int>(rng() % 3); i > 0; --i) {
          lead.push_back(1 + static_cast<int64_t>(rng() % 6));
        }
        const DataType it = iter % 2 ? DataType::kInt32 : DataType::kInt64;
        OpCase c =
            snd_case(pattern_tensor(dt, d, rng),
                     random_tuples(rng, it, lead, std::vector<int64_t>(d.begin(), d.begin() + k)),
                     pattern_tensor(dt, updates_shape(d, lead, k), rng), red);
        const auto runs = expect_exact(c, device(), stream(),
                                       std::string(dtype_name(dt)) + " " + red + " k " +
                                           std::to_string(k) + " " + d.to_string());
        EXPECT_EQ(runs.size(), expected_tactics(dt, red)) << dtype_name(dt) << " " << red;
      }
    }
  }
}

TEST_F(ScatterNdCuda, ElementwiseScatterWithCollisions) {
  std::mt19937 rng(182);
  for (DataType dt : {DataType::kUInt8, DataType::kBool, DataType::kFloat16, DataType::kInt32,
                      DataType::kFloat32, DataType::kInt64}) {
    for (const char* red : kReductions) {
      // 3000 tuples onto a 4 x 3 tensor, k = rank: slices of one element.
      OpCase c = snd_case(pattern_tensor(dt, Dims{4, 3}, rng),
                          random_tuples(rng, DataType::kInt64, {3000}, {4, 3}),
                          pattern_tensor(dt, Dims{3000}, rng), red);
      const auto runs = expect_exact(c, device(), stream(),
                                     std::string(dtype_name(dt)) + " " + red + " collisions");
      EXPECT_EQ(runs.size(), expected_tactics(dt, red));
    }
  }
}

TEST_F(ScatterNdCuda, WideSlicesInPlaceZeroSizeAndCapture) {
  std::mt19937 rng(183);
  // A KV-cache style update: rows of 256 written at 8 positions.
  auto data = pattern_tensor(DataType::kFloat16, Dims{2, 64, 256}, rng);
  auto idx = random_tuples(rng, DataType::kInt64, {8}, {2, 64});
  auto upd = pattern_tensor(DataType::kFloat16, Dims{8, 256}, rng);
  expect_exact(snd_case(data, idx, upd, "none"), device(), stream(), "rows");
  CudaRunOptions in_place;
  in_place.in_place = true;
  expect_exact(snd_case(data, idx, upd, "add"), device(), stream(), "rows in place", in_place);
  expect_exact(snd_case(data, HostTensor(DataType::kInt64, Dims{0, 2}),
                        HostTensor(DataType::kFloat16, Dims{0, 256}), "none"),
               device(), stream(), "no tuples");
  EXPECT_EQ(expect_capturable(snd_case(data, idx, upd, "none"), device(), stream(), 0, 0, "none"),
            2);
  EXPECT_EQ(expect_capturable(snd_case(data, idx, upd, "mul"), device(), stream(), 0, 0, "mul"), 1);
}

TEST_F(ScatterNdCuda, OutOfRangeTuplesAreSkipped) {
  std::mt19937 rng(184);
  for (const char* red : {"none", "max"}) {
    auto data = pattern_tensor(DataType::kInt64, Dims{3, 2}, rng);
    // Rows 3 and -4 are out of range for extent 3.
    HostTensor idx = make_tensor(DataType::kInt32, {4, 1}, {2, 3, -4, 0});
    auto upd = pattern_tensor(DataType::kInt64, Dims{4, 2}, rng);
    OpCase c = snd_case(data, idx, upd, red);
    EXPECT_FALSE(run_reference_case(c).is_ok());
    HostTensor idx_ok = make_tensor(DataType::kInt32, {2, 1}, {2, 0});
    HostTensor upd_ok(DataType::kInt64, Dims{2, 2});
    for (int64_t e = 0; e < 2; ++e) {
      upd_ok.as<int64_t>()[e] = upd.as<int64_t>()[e];
      upd_ok.as<int64_t>()[2 + e] = upd.as<int64_t>()[6 + e];
    }
    auto want = run_reference_case(snd_case(data, idx_ok, upd_ok, red));
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
}  // namespace kiln::testing::scatter_nd_cuda_test
