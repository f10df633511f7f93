// BatchNorm CUDA tactic against the CPU reference: every float dtype (X and each parameter in
// its own dtype), rank 2 to 5, large tensors, zero-size tensors, channels-last.
#include "common/layout_util.h"
#include "gpu/op_check.h"

namespace kiln::testing::batch_norm_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

Tol bn_tol(DataType dt) {
  return dtype_tol(dt, {1e-5, 1e-5});
}

OpCase bn_case(DataType dt, Dims x, std::mt19937& rng, int param_dtype_shift = 0) {
  OpCase c;
  c.op = "BatchNorm";
  c.attrs.set("epsilon", 1e-3);
  c.inputs.push_back(random_tensor(dt, x, rng, -3, 3));
  const Dims p{x[1]};
  auto pdt = [&](int i) { return kFloatTypes[(i + param_dtype_shift) % 3]; };
  c.inputs.push_back(random_tensor(pdt(0), p, rng, 0.5, 1.5));  // scale
  c.inputs.push_back(random_tensor(pdt(1), p, rng, -1, 1));     // bias
  c.inputs.push_back(random_tensor(pdt(2), p, rng, -1, 1));     // mean
  c.inputs.push_back(random_tensor(pdt(3), p, rng, 0.1, 2));    // var
  c.constant = {false, true, true, true, true};
  return c;
}

using BatchNormCuda = GpuTest;

TEST(BatchNormCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("BatchNorm");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "elementwise");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(BatchNormCuda, ShapesAndDtypes) {
  std::mt19937 rng(1);
  const Dims shapes[] = {{2, 3},          {2, 3, 5},  {1, 4, 7, 9}, {2, 16, 32, 32},
                         {2, 3, 4, 5, 6}, {3, 70, 1}, {1, 1, 1},    {8, 64, 56, 56}};
  for (DataType dt : kFloatTypes) {
    for (const Dims& x : shapes) {
      for (int shift : {0, 1}) {
        OpCase c = bn_case(dt, x, rng, shift);
        check_cuda_tactics(c, device(), stream(), bn_tol(dt),
                           std::string(dtype_name(dt)) + " " + x.to_string());
      }
    }
  }
}

TEST_F(BatchNormCuda, ZeroSize) {
  std::mt19937 rng(2);
  for (DataType dt : kFloatTypes) {
    for (Dims x : {Dims{0, 3, 4}, Dims{2, 3, 0}}) {
      auto ids =
          check_cuda_tactics(bn_case(dt, x, rng), device(), stream(), bn_tol(dt), x.to_string());
      EXPECT_EQ(ids.size(), 1u);
    }
  }
}

// Channels-last: the output, transposed back here, against the channels-first reference.
TEST_F(BatchNormCuda, ChannelsLast) {
  std::mt19937 rng(3);
  for (DataType dt : kFloatTypes) {
    for (Dims x : {Dims{2, 16, 7, 9}, Dims{1, 3, 5, 5}, Dims{4, 64, 14, 14}}) {
      OpCase first = bn_case(dt, x, rng);
      auto want = run_reference_case(first);
      ASSERT_TRUE(want.is_ok()) << want.status().to_string();
      OpCase last = first;
      last.attrs.set("channels_last", int64_t{1});
      last.inputs[0] = to_channels_last(first.inputs[0]);
      auto runs = run_cuda_tactics(last, device(), stream());
      ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
      ASSERT_EQ(runs->size(), 1u);
      const Tol tol = bn_tol(dt);
      EXPECT_TRUE(
          all_close(to_channels_first((*runs)[0].outputs[0]), (*want)[0], tol.atol, tol.rtol))
          << dtype_name(dt) << " " << x.to_string();
    }
  }
}

}  // namespace
}  // namespace kiln::testing::batch_norm_cuda_test
