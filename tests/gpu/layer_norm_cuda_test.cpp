// LayerNorm CUDA tactic against the CPU reference: every float dtype for X and for Scale/Bias,
// axes, broadcast parameter shapes, optional Bias, the Mean / InvStdDev outputs, rows short
// (warp per row) and long (block per row), zero-size tensors.
#include "gpu/op_check.h"

namespace kiln::testing::layer_norm_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

// Float on the GPU against double on the host; outputs are O(1) (N(0,1) * scale + bias).
Tol ln_tol(DataType dt) {
  return dtype_tol(dt, {2e-5, 2e-5});
}

OpCase ln_case(HostTensor x, HostTensor scale, HostTensor bias, int64_t axis, int outputs,
               double eps = 1e-5) {
  OpCase c;
  c.op = "LayerNorm";
  c.attrs.set("axis", axis);
  c.attrs.set("epsilon", eps);
  c.inputs = {std::move(x), std::move(scale)};
  if (!bias.empty()) c.inputs.push_back(std::move(bias));
  c.num_outputs = outputs;
  return c;
}

using LayerNormCuda = GpuTest;

TEST(LayerNormCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("LayerNorm");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "rows");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(LayerNormCuda, ShapesAxesAndDtypes) {
  std::mt19937 rng(1);
  struct Case {
    Dims x;
    int64_t axis;
  };
  const Case cases[] = {{{4, 8}, -1},    {{3, 7, 9}, -1}, {{3, 7, 9}, 1}, {{2, 3, 4, 5}, 2},
                        {{5, 1024}, -1}, {{5, 1025}, -1}, {{2, 3000}, 1}, {{3, 2, 20000}, 2},
                        {{1000, 5}, 1},  {{2, 3, 4}, 0},  {{1, 1}, 1},    {{7, 1}, -1}};
  for (DataType dt : kFloatTypes) {
    for (const Case& k : cases) {
      const int64_t axis = k.axis < 0 ? k.axis + k.x.rank() : k.axis;
      std::vector<int64_t> norm(k.x.begin() + axis, k.x.end());
      for (int outputs : {1, 3}) {
        for (bool with_bias : {true, false}) {
          // Parameters in another float dtype than X, as the op allows.
          const DataType pdt = kFloatTypes[(static_cast<int>(dt) + outputs) % 3];
          OpCase c = ln_case(
              random_tensor(dt, k.x, rng, -3, 3), random_tensor(pdt, dims_of(norm), rng, 0.5, 1.5),
              with_bias ? random_tensor(pdt, dims_of(norm), rng) : HostTensor(), k.axis, outputs);
          check_cuda_tactics(c, device(), stream(), ln_tol(dt),
                             std::string(dtype_name(dt)) + " " + k.x.to_string() + " axis " +
                                 std::to_string(k.axis) + " outputs " + std::to_string(outputs));
        }
      }
    }
  }
}

TEST_F(LayerNormCuda, BroadcastParameters) {
  std::mt19937 rng(2);
  const Dims x{3, 4, 5, 6};
  // Normalized dims [4, 5, 6] (axis 1); parameters right-aligned with 1s broadcast.
  for (Dims ps : {Dims{6}, Dims{5, 1}, Dims{1, 6}, Dims{4, 1, 6}, Dims{1}, Dims{4, 5, 6}}) {
    for (DataType dt : kFloatTypes) {
      OpCase c = ln_case(random_tensor(dt, x, rng, -2, 2), random_tensor(dt, ps, rng, 0.5, 2),
                         random_tensor(DataType::kFloat32, ps, rng), 1, 3);
      check_cuda_tactics(c, device(), stream(), ln_tol(dt),
                         std::string(dtype_name(dt)) + " params " + ps.to_string());
    }
  }
}

TEST_F(LayerNormCuda, SmallVarianceAndLargeOffset) {
  // Rows with a large mean and tiny spread (float spacing at 1000 is 6e-5): statistics taken
  // relative to the row's first element keep their accuracy.
  std::mt19937 rng(3);
  for (int64_t d : {16, 3000}) {
    HostTensor x = random_tensor(DataType::kFloat32, {4, d}, rng, 1000, 1000.01);
    OpCase c = ln_case(x, random_tensor(DataType::kFloat32, {d}, rng, 0.5, 1.5), HostTensor(), -1,
                       3, 1e-12);
    check_cuda_tactics(c, device(), stream(), {1e-4, 1e-4},
                       "small variance d=" + std::to_string(d));
  }
}

TEST_F(LayerNormCuda, ZeroSize) {
  std::mt19937 rng(4);
  for (DataType dt : kFloatTypes) {
    OpCase c =
        ln_case(random_tensor(dt, {0, 8}, rng), random_tensor(dt, {8}, rng), HostTensor(), -1, 3);
    auto ids = check_cuda_tactics(c, device(), stream(), ln_tol(dt), "zero rows");
    EXPECT_EQ(ids.size(), 1u);
    // Empty normalized dims: Y is empty, Mean / InvStdDev are NaN (0 / 0), as the reference.
    OpCase e =
        ln_case(random_tensor(dt, {3, 0}, rng), random_tensor(dt, {0}, rng), HostTensor(), -1, 3);
    check_cuda_tactics(e, device(), stream(), ln_tol(dt), "empty rows");
  }
}

}  // namespace
}  // namespace kiln::testing::layer_norm_cuda_test
