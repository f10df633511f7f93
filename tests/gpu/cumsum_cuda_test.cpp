// CUDA tactics of CumSum ("lines", "block_scan") against the CPU reference: every dtype, every
// axis (negative too, int32 / int64 axis input), exclusive and reverse, long lines over many
// tiles of the block scan, integer wrap-around, zero-size and a CUDA graph capture. "lines" sums
// in the reference's order and must match bit for bit, as must every integer result;
// "block_scan" associates float sums differently (in double), so its float results may differ by
// one unit in the last place of the output dtype.
#include "gpu/cuda_case_util.h"
#include "gpu/op_check.h"

#include <limits>

namespace kiln::testing::cumsum_cuda_test {
namespace {

using CumSumCuda = GpuTest;

const DataType kTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                           DataType::kInt32, DataType::kInt64};

OpCase cumsum_case(const HostTensor& x, int64_t axis, int64_t exclusive, int64_t reverse,
                   DataType adt = DataType::kInt64) {
  OpCase c;
  c.op = "CumSum";
  c.attrs.set("exclusive", exclusive);
  c.attrs.set("reverse", reverse);
  HostTensor a(adt, {});
  store_from_double(a.data(), adt, 0, static_cast<double>(axis));
  c.inputs = {x, a};
  c.constant = {false, true};
  return c;
}

HostTensor input_for(DataType dt, const Dims& d, std::mt19937& rng) {
  return is_floating(dt) ? random_tensor(dt, d, rng, -1, 1)
                         : random_tensor(dt, d, rng, -1000, 1000);
}

// Both tactics must run; "lines" and integer results exactly, block_scan floats within one unit
// in the last place.
void check(const OpCase& c, Device* device, cudaStream_t stream, const std::string& what) {
  auto want = run_reference_case(c);
  ASSERT_TRUE(want.is_ok()) << what << ": " << want.status().to_string();
  auto runs = run_cuda_tactics(c, device, stream);
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(runs->size(), 2u) << what;
  const DataType dt = c.inputs[0].dtype();
  for (const CudaTacticRun& r : *runs) {
    const bool exact = !is_floating(dt) || r.tactic == "CumSum/kiln-cuda/lines";
    const Tol tol = exact ? Tol{} : dtype_tol(dt, {1e-6, 2.4e-7});
    EXPECT_TRUE(all_close(r.outputs[0], (*want)[0], tol.atol, tol.rtol)) << what << " " << r.tactic;
    if (!is_floating(dt)) {
      EXPECT_EQ(std::memcmp(r.outputs[0].data(), (*want)[0].data(), (*want)[0].nbytes()), 0)
          << what << " " << r.tactic;
    }
  }
}

TEST(CumSumCudaRegistry, Tactics) {
  auto tactics = ops::cuda_tactics("CumSum");
  ASSERT_EQ(tactics.size(), 2u);
  EXPECT_EQ(tactics[0].name, "lines");
  EXPECT_EQ(tactics[1].name, "block_scan");
}

TEST_F(CumSumCuda, EveryDtypeAxisAndMode) {
  std::mt19937 rng(201);
  for (DataType dt : kTypes) {
    for (int iter = 0; iter < 12; ++iter) {
      const int rank = 1 + static_cast<int>(rng() % 4);
      std::vector<int64_t> d(rank);
      for (auto& v : d) v = 1 + static_cast<int64_t>(rng() % 7);
      const int64_t axis = static_cast<int64_t>(rng() % rank) - (iter % 2 ? rank : 0);
      const int64_t exclusive = iter % 2, reverse = (iter / 2) % 2;
      check(cumsum_case(input_for(dt, make_dims(d), rng), axis, exclusive, reverse,
                        iter % 3 ? DataType::kInt64 : DataType::kInt32),
            device(), stream(),
            std::string(dtype_name(dt)) + " axis " + std::to_string(axis) + " exclusive " +
                std::to_string(exclusive) + " reverse " + std::to_string(reverse));
    }
  }
}

TEST_F(CumSumCuda, LongLines) {
  std::mt19937 rng(202);
  for (DataType dt : kTypes) {
    for (int64_t exclusive : {0, 1}) {
      for (int64_t reverse : {0, 1}) {
        // 5000 > one 2048-element tile: carries across tiles; a strided axis too.
        check(cumsum_case(input_for(dt, Dims{3, 5000}, rng), 1, exclusive, reverse), device(),
              stream(), std::string(dtype_name(dt)) + " innermost");
        check(cumsum_case(input_for(dt, Dims{3000, 5}, rng), 0, exclusive, reverse), device(),
              stream(), std::string(dtype_name(dt)) + " strided");
      }
    }
  }
}

TEST_F(CumSumCuda, IntegersWrap) {
  HostTensor x(DataType::kInt32, Dims{6});
  for (int i = 0; i < 6; ++i) x.as<int32_t>()[i] = std::numeric_limits<int32_t>::max() - i;
  check(cumsum_case(x, 0, 0, 0), device(), stream(), "int32 wrap");
  HostTensor y(DataType::kInt64, Dims{4});
  for (int i = 0; i < 4; ++i) y.as<int64_t>()[i] = std::numeric_limits<int64_t>::min() + i;
  check(cumsum_case(y, 0, 1, 1), device(), stream(), "int64 wrap");
}

TEST_F(CumSumCuda, ZeroSizeAndCapture) {
  std::mt19937 rng(203);
  const OpCase empty = cumsum_case(HostTensor(DataType::kFloat32, Dims{0, 4}), 1, 0, 0);
  auto runs = run_cuda_tactics(empty, device(), stream());
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  EXPECT_EQ(runs->size(), 2u);
  EXPECT_EQ(expect_capturable(cumsum_case(input_for(DataType::kInt64, Dims{4, 3000}, rng), 1, 0, 1),
                              device(), stream(), 0, 0, "cumsum"),
            2);
}

}  // namespace
}  // namespace kiln::testing::cumsum_cuda_test
