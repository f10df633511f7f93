// FloatClass (IsNaN / IsInf) CUDA tactic against the CPU reference, exactly: NaN, +-inf,
// the largest finite values, subnormals and zeros of every float dtype, each detect_positive /
// detect_negative combination, random shapes, unaligned buffers (the bool output is written in
// vectors of 4 or 8), zero-size tensors, and a CUDA graph capture.
#include "gpu/cuda_case_util.h"

#include <limits>

namespace kiln::testing::float_class_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

OpCase class_case(HostTensor x, const std::string& op, int positive = 1, int negative = 1) {
  OpCase c;
  c.op = "FloatClass";
  c.attrs.set("op", op);
  if (op == "isinf") {
    c.attrs.set("detect_positive", int64_t{positive});
    c.attrs.set("detect_negative", int64_t{negative});
  }
  c.inputs = {std::move(x)};
  return c;
}

// Special values spread through random ones.
HostTensor mixed(DataType dt, const Dims& d, std::mt19937& rng) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double specials[] = {inf, -inf, nan, -nan, 0.0, -0.0, 65504.0, -65504.0, 3.0e38, 1e-40};
  HostTensor t = random_tensor(dt, d, rng, -100, 100);
  std::uniform_int_distribution<int> pick(0, 13);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int k = pick(rng);
    if (k < 10) store_from_double(t.data(), dt, i, specials[k]);
  }
  return t;
}

using FloatClassCuda = GpuTest;

TEST(FloatClassCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("FloatClass");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "elementwise");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(FloatClassCuda, NanAndInfEveryDtype) {
  std::mt19937 rng(1);
  const Dims shapes[] = {{1}, {10}, {3, 7, 5}, {2, 4096}, {33, 33}};
  for (DataType dt : kFloatTypes) {
    for (const Dims& d : shapes) {
      HostTensor x = mixed(dt, d, rng);
      const std::string what = std::string(dtype_name(dt)) + " " + d.to_string();
      EXPECT_EQ(expect_exact(class_case(x, "isnan"), device(), stream(), what + " isnan").size(),
                1u);
      for (int pos : {0, 1}) {
        for (int neg : {0, 1}) {
          expect_exact(class_case(x, "isinf", pos, neg), device(), stream(),
                       what + " isinf " + std::to_string(pos) + std::to_string(neg));
        }
      }
    }
  }
}

TEST_F(FloatClassCuda, UnalignedAndZeroSize) {
  std::mt19937 rng(2);
  for (DataType dt : kFloatTypes) {
    HostTensor x = mixed(dt, {1001}, rng);
    for (int shift : {1, 2, 5}) {
      CudaRunOptions o;
      o.misalign_elements = shift;
      expect_exact(class_case(x, "isinf"), device(), stream(),
                   std::string(dtype_name(dt)) + " shift " + std::to_string(shift), o);
    }
    EXPECT_EQ(expect_exact(class_case(HostTensor(dt, {4, 0}), "isnan"), device(), stream(), "zero")
                  .size(),
              1u);
  }
}

TEST_F(FloatClassCuda, Capturable) {
  std::mt19937 rng(3);
  OpCase c = class_case(mixed(DataType::kFloat16, {300}, rng), "isnan");
  EXPECT_EQ(expect_capturable(c, device(), stream(), 0, 0, "isnan"), 1);
}

}  // namespace
}  // namespace kiln::testing::float_class_cuda_test
