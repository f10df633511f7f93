// InstanceNorm CUDA tactic against the CPU reference: every float dtype (X and parameters in
// different dtypes), planes short (warp per plane) and long (block per plane), rank 2 to 5,
// zero-size tensors.
#include "gpu/op_check.h"

namespace kiln::testing::instance_norm_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

Tol in_tol(DataType dt) {
  return dtype_tol(dt, {2e-5, 2e-5});
}

OpCase in_case(HostTensor x, HostTensor scale, HostTensor bias, double eps = 1e-5) {
  OpCase c;
  c.op = "InstanceNorm";
  c.attrs.set("epsilon", eps);
  c.inputs = {std::move(x), std::move(scale), std::move(bias)};
  return c;
}

using InstanceNormCuda = GpuTest;

TEST(InstanceNormCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("InstanceNorm");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "planes");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(InstanceNormCuda, ShapesAndDtypes) {
  std::mt19937 rng(1);
  const Dims shapes[] = {{2, 3},         {2, 3, 5},       {1, 4, 7, 9}, {2, 3, 32, 32},
                         {1, 2, 40, 40}, {2, 2, 3, 4, 5}, {3, 5, 1025}, {1, 3, 200, 300}};
  for (DataType dt : kFloatTypes) {
    for (const Dims& x : shapes) {
      const DataType pdt = kFloatTypes[(static_cast<int>(dt) + 1) % 3];
      OpCase c =
          in_case(random_tensor(dt, x, rng, -3, 3), random_tensor(pdt, {x[1]}, rng, 0.5, 1.5),
                  random_tensor(pdt, {x[1]}, rng));
      check_cuda_tactics(c, device(), stream(), in_tol(dt),
                         std::string(dtype_name(dt)) + " " + x.to_string());
    }
  }
}

TEST_F(InstanceNormCuda, LargeOffsetSmallSpread) {
  std::mt19937 rng(3);
  for (Dims x : {Dims{2, 3, 20}, Dims{1, 2, 4000}}) {
    OpCase c = in_case(random_tensor(DataType::kFloat32, x, rng, 1000, 1000.01),
                       random_tensor(DataType::kFloat32, {x[1]}, rng, 0.5, 1.5),
                       random_tensor(DataType::kFloat32, {x[1]}, rng), 1e-12);
    check_cuda_tactics(c, device(), stream(), {1e-4, 1e-4}, "offset " + x.to_string());
  }
}

TEST_F(InstanceNormCuda, ZeroSize) {
  std::mt19937 rng(2);
  for (DataType dt : kFloatTypes) {
    for (Dims x : {Dims{0, 3, 4}, Dims{2, 3, 0}, Dims{2, 0, 5}}) {
      OpCase c = in_case(random_tensor(dt, x, rng), random_tensor(dt, {x[1]}, rng),
                         random_tensor(dt, {x[1]}, rng));
      auto ids = check_cuda_tactics(c, device(), stream(), in_tol(dt), x.to_string());
      EXPECT_EQ(ids.size(), 1u);
    }
  }
}

}  // namespace
}  // namespace kiln::testing::instance_norm_cuda_test
