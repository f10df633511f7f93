// MeanVarianceNormalization CUDA tactic against the CPU reference (double on the host, two float
// passes on the GPU): the default axes [0, 2, 3], other axis sets (trailing, leading, one axis,
// every axis, none), ranks 2 to 5, groups large enough for a block per group, constant groups
// (output exactly 0), a large common offset, all float dtypes, zero-size tensors, unaligned
// buffers, and a CUDA graph capture.
#include "gpu/cuda_case_util.h"
#include "gpu/op_check.h"
#include "gpu/random_shapes.h"

namespace kiln::testing::mean_variance_norm_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

OpCase mvn_case(HostTensor x, const std::vector<int64_t>* axes) {
  OpCase c;
  c.op = "MeanVarianceNormalization";
  if (axes != nullptr) c.attrs.set("axes", *axes);
  c.inputs = {std::move(x)};
  return c;
}

// Outputs are O(1) (standardized values) from float sums of up to ~1e5 terms.
Tol mvn_tol(DataType dt) {
  return dtype_tol(dt, {2e-5, 2e-5});
}

std::string axes_name(const std::vector<int64_t>* axes) {
  if (axes == nullptr) return "default";
  std::string s = "[";
  for (int64_t a : *axes) s += std::to_string(a) + ",";
  return s + "]";
}

using MvnCuda = GpuTest;

TEST(MvnCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("MeanVarianceNormalization");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "groups");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(MvnCuda, AxisSetsAndDtypes) {
  std::mt19937 rng(1);
  const std::vector<int64_t> sets[] = {{0, 2, 3}, {2, 3}, {1}, {0, 1, 2, 3}, {-1}, {0}, {1, 3}, {}};
  const Dims shapes[] = {{2, 3, 4, 5}, {3, 8, 16, 16}, {1, 2, 1, 7}};
  for (DataType dt : kFloatTypes) {
    for (const Dims& d : shapes) {
      const std::vector<int64_t>* none = nullptr;
      check_cuda_tactics(mvn_case(random_tensor(dt, d, rng, -3, 3), none), device(), stream(),
                         mvn_tol(dt),
                         std::string(dtype_name(dt)) + " " + d.to_string() + " default");
      for (const auto& axes : sets) {
        auto ids = check_cuda_tactics(
            mvn_case(random_tensor(dt, d, rng, -3, 3), &axes), device(), stream(), mvn_tol(dt),
            std::string(dtype_name(dt)) + " " + d.to_string() + " " + axes_name(&axes));
        EXPECT_EQ(ids.size(), 1u);
      }
    }
  }
}

TEST_F(MvnCuda, OtherRanksAndLargeGroups) {
  std::mt19937 rng(2);
  struct Case {
    Dims x;
    std::vector<int64_t> axes;
  };
  const Case cases[] = {{{6, 40}, {1}},
                        {{6, 40}, {0}},
                        {{2, 3, 4, 5, 6}, {0, 2, 3, 4}},
                        {{8, 4, 64, 64}, {0, 2, 3}},
                        {{2, 3, 5000}, {2}},
                        {{4000, 5}, {0}},
                        {{3, 2, 300, 3}, {0, 2}}};
  for (const Case& k : cases) {
    for (DataType dt : {DataType::kFloat32, DataType::kBFloat16}) {
      check_cuda_tactics(
          mvn_case(random_tensor(dt, k.x, rng, -2, 2), &k.axes), device(), stream(), mvn_tol(dt),
          std::string(dtype_name(dt)) + " " + k.x.to_string() + " " + axes_name(&k.axes));
    }
  }
}

TEST_F(MvnCuda, RandomShapesAndAxes) {
  std::mt19937 rng(11);
  for (int iter = 0; iter < 40; ++iter) {
    const DataType dt = kFloatTypes[iter % 3];
    const Dims d = random_rank_dims(rng, 1, 5, 8);
    std::vector<int64_t> axes;
    for (int64_t a = 0; a < d.rank(); ++a) {
      // Each dim reduced or not; some axes given as negative numbers.
      if (std::uniform_int_distribution<int>(0, 1)(rng) == 1)
        axes.push_back(a % 2 ? a - d.rank() : a);
    }
    check_cuda_tactics(mvn_case(random_tensor(dt, d, rng, -2, 2), &axes), device(), stream(),
                       mvn_tol(dt),
                       std::string(dtype_name(dt)) + " " + d.to_string() + " " + axes_name(&axes));
  }
}

TEST_F(MvnCuda, ConstantGroupsAndOffset) {
  std::mt19937 rng(3);
  const std::vector<int64_t> axes = {2, 3};
  for (DataType dt : kFloatTypes) {
    HostTensor x(dt, {2, 3, 4, 4});
    for (int64_t i = 0; i < x.numel(); ++i) store_from_double(x.data(), dt, i, 0.5 * (i / 16));
    check_cuda_tactics(mvn_case(x, &axes), device(), stream(), {0, 0}, "constant groups");
  }
  // Values near 1000 with a spread of 0.01: statistics relative to the first element keep it.
  HostTensor off = random_tensor(DataType::kFloat32, {2, 3, 8, 8}, rng, 1000, 1000.01);
  check_cuda_tactics(mvn_case(off, &axes), device(), stream(), {1e-3, 1e-3}, "offset");
}

TEST_F(MvnCuda, ZeroSizeUnalignedCapture) {
  std::mt19937 rng(4);
  for (DataType dt : kFloatTypes) {
    const std::vector<int64_t>* none = nullptr;
    EXPECT_EQ(check_cuda_tactics(mvn_case(HostTensor(dt, {0, 3, 2, 2}), none), device(), stream(),
                                 mvn_tol(dt), "zero size")
                  .size(),
              1u);
    CudaRunOptions o;
    o.misalign_elements = 1;
    check_cuda_tactics(mvn_case(random_tensor(dt, {2, 3, 5, 5}, rng, -1, 1), none), device(),
                       stream(), mvn_tol(dt), "misaligned", o);
  }
  const std::vector<int64_t>* none = nullptr;
  OpCase c = mvn_case(random_tensor(DataType::kFloat32, {2, 4, 9, 9}, rng, -1, 1), none);
  EXPECT_EQ(expect_capturable(c, device(), stream(), 2e-5, 2e-5, "mvn"), 1);
}

}  // namespace
}  // namespace kiln::testing::mean_variance_norm_cuda_test
