// CUDA "rows" tactic of Gather against the CPU reference: every data dtype, int32 and int64
// indices (negative too), scalar and N-D indices, every axis, wide rows (16-byte words), zero-size,
// unaligned buffers; and out-of-range indices, which give rows of zeros on CUDA (the CPU tactics
// return an error).
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::gather_cuda_test {
namespace {

using GatherCuda = GpuTest;

OpCase gather_case(HostTensor data, HostTensor idx, int64_t axis) {
  OpCase c;
  c.op = "Gather";
  c.inputs = {std::move(data), std::move(idx)};
  c.attrs.set("axis", axis);
  return c;
}

HostTensor random_indices(std::mt19937& rng, DataType dt, const Dims& shape, int64_t extent) {
  HostTensor t(dt, shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t v = static_cast<int64_t>(rng() % (2 * extent)) - extent;  // [-extent, extent)
    store_from_double(t.data(), dt, i, static_cast<double>(v));
  }
  return t;
}

TEST(GatherCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("Gather");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "rows");
}

TEST_F(GatherCuda, RandomEveryDtypeAndAxis) {
  std::mt19937 rng(61);
  for (DataType dt : all_dtypes()) {
    for (int iter = 0; iter < 8; ++iter) {
      const int rank = 1 + static_cast<int>(rng() % 4);
      std::vector<int64_t> d(rank);
      for (auto& v : d) v = 1 + static_cast<int64_t>(rng() % 6);
      const int64_t axis = static_cast<int64_t>(rng() % rank);
      const int irank = static_cast<int>(rng() % 3);
      std::vector<int64_t> id(irank);
      for (auto& v : id) v = static_cast<int64_t>(rng() % 4);  // 0 sometimes: no indices
      const DataType it = iter % 2 ? DataType::kInt32 : DataType::kInt64;
      auto c = gather_case(pattern_tensor(dt, make_dims(d), rng),
                           random_indices(rng, it, make_dims(id), d[axis]),
                           iter % 3 == 0 ? axis - rank : axis);
      expect_exact(c, device(), stream(),
                   std::string(dtype_name(dt)) + " iter " + std::to_string(iter));
    }
  }
}

TEST_F(GatherCuda, EmbeddingRowsAndUnaligned) {
  std::mt19937 rng(62);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    auto table = pattern_tensor(dt, Dims{1000, 256}, rng);
    auto idx = random_indices(rng, DataType::kInt64, Dims{8, 77}, 1000);
    expect_exact(gather_case(table, idx, 0), device(), stream(), "embedding");
    CudaRunOptions misaligned;
    misaligned.misalign_elements = 1;
    expect_exact(gather_case(table, idx, 0), device(), stream(), "embedding misaligned",
                 misaligned);
  }
}

TEST_F(GatherCuda, OutOfRangeIndicesGiveZeroRows) {
  std::mt19937 rng(63);
  for (DataType dt : {DataType::kFloat32, DataType::kInt64, DataType::kUInt8}) {
    auto data = pattern_tensor(dt, Dims{2, 5, 3}, rng);
    // Entries 1 and 3 are out of range for extent 5.
    auto idx = ints(DataType::kInt64, {4, 5, -5, -6, 0});
    OpCase c = gather_case(data, idx, 1);
    // The CPU reference refuses the case.
    EXPECT_FALSE(run_reference_case(c).is_ok());
    auto runs = run_cuda_tactics(c, device(), stream());
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    ASSERT_EQ(runs->size(), 1u);
    const HostTensor& y = (*runs)[0].outputs[0];
    ASSERT_EQ(y.shape(), (Dims{2, 5, 3}));
    const int64_t picks[5] = {4, -1, 0, -1, 0};  // -1: out of range
    for (int64_t o = 0; o < 2; ++o) {
      for (int64_t k = 0; k < 5; ++k) {
        for (int64_t n = 0; n < 3; ++n) {
          const double got = y.get_double((o * 5 + k) * 3 + n);
          const double want = picks[k] < 0 ? 0.0 : data.get_double((o * 5 + picks[k]) * 3 + n);
          EXPECT_EQ(got, want) << "o=" << o << " k=" << k << " n=" << n;
        }
      }
    }
  }
}

TEST_F(GatherCuda, ZeroSize) {
  std::mt19937 rng(64);
  expect_exact(gather_case(pattern_tensor(DataType::kFloat32, Dims{0, 4}, rng),
                           ints(DataType::kInt64, {0, 1}), 1),
               device(), stream(), "empty data");
  expect_exact(gather_case(pattern_tensor(DataType::kFloat32, Dims{3, 4}, rng),
                           HostTensor(DataType::kInt32, Dims{0}), 0),
               device(), stream(), "no indices");
}

}  // namespace
}  // namespace kiln::testing::gather_cuda_test
