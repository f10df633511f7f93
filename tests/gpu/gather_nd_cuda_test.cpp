// CUDA "slices" tactic of GatherND against the CPU reference: every data dtype, int32 / int64
// tuples (negative entries count from the end), tuple lengths from 1 to the full rank, batch_dims
// 0-2, wide slices (16-byte words), zero-size, unaligned buffers, a CUDA graph capture; and
// out-of-range tuples, which give a slice of zeros on CUDA (the CPU reference refuses them).
#include "gpu/cuda_case_util.h"
#include "gpu/index_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::gather_nd_cuda_test {
namespace {

using GatherNdCuda = GpuTest;

OpCase gnd_case(HostTensor data, HostTensor idx, int64_t batch_dims) {
  OpCase c;
  c.op = "GatherND";
  c.inputs = {std::move(data), std::move(idx)};
  c.attrs.set("batch_dims", batch_dims);
  return c;
}

// Tuples for data `d` with batch dims b: shape [d[0..b), lead..., k].
HostTensor batched_tuples(std::mt19937& rng, DataType dt, const Dims& d, int b, int k,
                          const std::vector<int64_t>& lead) {
  std::vector<int64_t> shape(d.begin(), d.begin() + b);
  shape.insert(shape.end(), lead.begin(), lead.end());
  std::vector<int64_t> extents(d.begin() + b, d.begin() + b + k);
  return random_tuples(rng, dt, shape, extents);
}

TEST(GatherNdCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("GatherND");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "slices");
}

TEST_F(GatherNdCuda, RandomEveryDtypeTupleLengthAndBatchDims) {
  std::mt19937 rng(161);
  for (DataType dt : all_dtypes()) {
    for (int iter = 0; iter < 12; ++iter) {
      const int rank = 1 + static_cast<int>(rng() % 4);
      const Dims d = random_dims(rng, rank, 1, 5);
      const int b = static_cast<int>(rng() % rank);  // < rank
      const int k = 1 + static_cast<int>(rng() % (rank - b));
      std::vector<int64_t> lead;
      for (int i = static_cast<int>(rng() % 3); i > 0; --i) {
        lead.push_back(static_cast<int64_t>(rng() % 4));
      }
      const DataType it = iter % 2 ? DataType::kInt32 : DataType::kInt64;
      expect_exact(gnd_case(pattern_tensor(dt, d, rng), batched_tuples(rng, it, d, b, k, lead), b),
                   device(), stream(),
                   std::string(dtype_name(dt)) + " " + d.to_string() + " b " + std::to_string(b) +
                       " k " + std::to_string(k));
    }
  }
}

TEST_F(GatherNdCuda, WideSlicesUnalignedAndCapture) {
  std::mt19937 rng(162);
  auto data = pattern_tensor(DataType::kFloat32, Dims{50, 7, 128}, rng);
  auto idx = random_tuples(rng, DataType::kInt64, {9, 4}, {50, 7});
  expect_exact(gnd_case(data, idx, 0), device(), stream(), "rows");
  CudaRunOptions misaligned;
  misaligned.misalign_elements = 1;
  expect_exact(gnd_case(data, idx, 0), device(), stream(), "rows misaligned", misaligned);
  EXPECT_EQ(expect_capturable(gnd_case(data, idx, 0), device(), stream(), 0, 0, "gather_nd"), 1);
}

TEST_F(GatherNdCuda, ZeroSize) {
  std::mt19937 rng(163);
  expect_exact(gnd_case(pattern_tensor(DataType::kFloat32, Dims{3, 4}, rng),
                        HostTensor(DataType::kInt64, Dims{0, 1}), 0),
               device(), stream(), "no tuples");
  expect_exact(gnd_case(pattern_tensor(DataType::kFloat32, Dims{3, 0}, rng),
                        random_tuples(rng, DataType::kInt64, {2}, {3}), 0),
               device(), stream(), "empty slices");
}

TEST_F(GatherNdCuda, OutOfRangeTuplesGiveZeroSlices) {
  std::mt19937 rng(164);
  for (DataType dt : {DataType::kFloat32, DataType::kInt8}) {
    auto data = pattern_tensor(dt, Dims{3, 4, 2}, rng);
    // Tuples (row, col): the second has col 4 (out of range), the fourth row -4.
    HostTensor idx = make_tensor(DataType::kInt64, {4, 2}, {1, 2, 0, 4, -1, -4, -4, 0});
    OpCase c = gnd_case(data, idx, 0);
    EXPECT_FALSE(run_reference_case(c).is_ok());
    auto runs = run_cuda_tactics(c, device(), stream());
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    ASSERT_EQ(runs->size(), 1u);
    const HostTensor& y = (*runs)[0].outputs[0];
    ASSERT_EQ(y.shape(), (Dims{4, 2}));
    const int64_t rows[4] = {1 * 4 + 2, -1, 2 * 4 + 0, -1};  // -1: out of range
    for (int64_t t = 0; t < 4; ++t) {
      for (int64_t e = 0; e < 2; ++e) {
        const double want = rows[t] < 0 ? 0.0 : data.get_double(rows[t] * 2 + e);
        EXPECT_EQ(y.get_double(t * 2 + e), want) << "tuple " << t << " element " << e;
      }
    }
  }
}

}  // namespace
}  // namespace kiln::testing::gather_nd_cuda_test
