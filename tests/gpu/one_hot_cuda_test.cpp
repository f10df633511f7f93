// CUDA "expand" tactic of OneHot against the CPU reference: every indices dtype (floats truncate
// toward zero), negative indices (counting from depth) and indices outside [-depth, depth) (an
// all-off row), every values dtype, every axis (negative too), depth given as int or float,
// scalar and zero-size indices, a CUDA graph capture.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::one_hot_cuda_test {
namespace {

using OneHotCuda = GpuTest;

OpCase one_hot_case(const HostTensor& idx, const HostTensor& depth, const HostTensor& values,
                    int64_t axis) {
  OpCase c;
  c.op = "OneHot";
  c.attrs.set("axis", axis);
  c.inputs = {idx, depth, values};
  c.constant = {false, true, false};
  return c;
}

// Indices in [-depth - 2, depth + 2): out-of-range ones too; floats get fractions.
HostTensor indices_for(DataType dt, const Dims& d, int64_t depth, std::mt19937& rng) {
  HostTensor t(dt, d);
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = static_cast<double>(static_cast<int64_t>(rng() % (2 * depth + 4)) - depth - 2);
    if (dt == DataType::kUInt8 && v < 0) v = -v;
    if (is_floating(dt)) v += (v < 0 ? -0.5 : 0.25) * static_cast<double>(rng() % 2);
    store_from_double(t.data(), dt, i, v);
  }
  return t;
}

TEST(OneHotCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("OneHot");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "expand");
}

TEST_F(OneHotCuda, EveryIndexDtypeValueDtypeAndAxis) {
  std::mt19937 rng(191);
  const DataType idx_types[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                                DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,
                                DataType::kInt64};
  for (DataType it : idx_types) {
    for (DataType vt : all_dtypes()) {
      const int rank = static_cast<int>(rng() % 3);
      const Dims d = random_dims(rng, rank, 1, 5);
      const int64_t depth = 1 + static_cast<int64_t>(rng() % 7);
      const int64_t axis = static_cast<int64_t>(rng() % (rank + 2)) - 1;  // -1 .. rank
      HostTensor values(vt, Dims{2});
      store_from_double(values.data(), vt, 0, vt == DataType::kBool ? 0 : 3);
      store_from_double(values.data(), vt, 1, vt == DataType::kBool ? 1 : 9);
      const HostTensor dep =
          rng() % 2 ? int64_scalar(depth) : make_tensor(DataType::kFloat32, {}, {depth + 0.5});
      expect_exact(one_hot_case(indices_for(it, d, depth, rng), dep, values, axis), device(),
                   stream(),
                   std::string(dtype_name(it)) + " -> " + std::string(dtype_name(vt)) + " " +
                       d.to_string() + " axis " + std::to_string(axis));
    }
  }
}

TEST_F(OneHotCuda, ZeroSizeLargeAndCapture) {
  std::mt19937 rng(192);
  const HostTensor values = make_tensor(DataType::kFloat32, {2}, {0, 1});
  expect_exact(one_hot_case(HostTensor(DataType::kInt64, Dims{0, 3}), int64_scalar(4), values, 1),
               device(), stream(), "empty");
  auto idx = indices_for(DataType::kInt64, Dims{16, 77}, 1000, rng);
  OpCase c = one_hot_case(idx, int64_scalar(1000), values, -1);
  expect_exact(c, device(), stream(), "vocabulary");
  EXPECT_EQ(expect_capturable(c, device(), stream(), 0, 0, "one_hot"), 1);
}

}  // namespace
}  // namespace kiln::testing::one_hot_cuda_test
