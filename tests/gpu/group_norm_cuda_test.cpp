// GroupNormalization CUDA tactic against the CPU reference: every float dtype (parameters in
// another dtype), per-channel and per-group affine, group sizes short (warp per group) and long
// (block per group), rank 2 to 5, a large common offset, zero-size tensors.
#include "gpu/op_check.h"

namespace kiln::testing::group_norm_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

Tol gn_tol(DataType dt) {
  return dtype_tol(dt, {2e-5, 2e-5});
}

OpCase gn_case(HostTensor x, int64_t groups, bool per_group, DataType pdt, std::mt19937& rng,
               double eps = 1e-5) {
  OpCase c;
  c.op = "GroupNormalization";
  c.attrs.set("num_groups", groups);
  c.attrs.set("epsilon", eps);
  c.attrs.set("per_group_affine", int64_t{per_group ? 1 : 0});
  const int64_t n = per_group ? groups : x.shape()[1];
  c.inputs.push_back(std::move(x));
  c.inputs.push_back(random_tensor(pdt, {n}, rng, 0.5, 1.5));
  c.inputs.push_back(random_tensor(pdt, {n}, rng));
  return c;
}

using GroupNormCuda = GpuTest;

TEST(GroupNormCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("GroupNormalization");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "groups");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(GroupNormCuda, ShapesGroupsAndDtypes) {
  std::mt19937 rng(1);
  struct Case {
    Dims x;
    int64_t groups;
  };
  const Case cases[] = {{{2, 6}, 3},          {{2, 6, 5}, 2},       {{1, 8, 7, 9}, 4},
                        {{2, 32, 16, 16}, 8}, {{1, 12, 40, 40}, 3}, {{2, 4, 3, 4, 5}, 2},
                        {{3, 5, 11}, 5},      {{1, 6, 9}, 1}};
  for (DataType dt : kFloatTypes) {
    for (const Case& k : cases) {
      for (bool per_group : {false, true}) {
        const DataType pdt = kFloatTypes[(static_cast<int>(dt) + 2) % 3];
        OpCase c = gn_case(random_tensor(dt, k.x, rng, -3, 3), k.groups, per_group, pdt, rng);
        check_cuda_tactics(c, device(), stream(), gn_tol(dt),
                           std::string(dtype_name(dt)) + " " + k.x.to_string() + " groups " +
                               std::to_string(k.groups) + (per_group ? " per-group" : ""));
      }
    }
  }
}

TEST_F(GroupNormCuda, LargeOffsetSmallSpread) {
  std::mt19937 rng(2);
  OpCase c = gn_case(random_tensor(DataType::kFloat32, {2, 4, 30, 30}, rng, 1000, 1000.01), 2,
                     false, DataType::kFloat32, rng, 1e-12);
  check_cuda_tactics(c, device(), stream(), {1e-4, 1e-4}, "offset");
}

TEST_F(GroupNormCuda, ZeroSize) {
  std::mt19937 rng(3);
  for (Dims x : {Dims{0, 4, 3}, Dims{2, 4, 0}}) {
    auto ids = check_cuda_tactics(
        gn_case(random_tensor(DataType::kFloat32, x, rng), 2, false, DataType::kFloat32, rng),
        device(), stream(), gn_tol(DataType::kFloat32), x.to_string());
    EXPECT_EQ(ids.size(), 1u);
  }
}

}  // namespace
}  // namespace kiln::testing::group_norm_cuda_test
