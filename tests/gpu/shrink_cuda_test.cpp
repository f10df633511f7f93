// Shrink CUDA tactic against the CPU reference, bit for bit: every dtype the op accepts, values on
// and around +-lambd, NaN and infinities, negative and zero lambd, unaligned buffers, in place,
// a size that exercises the grid-stride loop and the vector tail, zero-size tensors, and a CUDA
// graph capture.
#include "gpu/cuda_case_util.h"

#include <limits>

namespace kiln::testing::shrink_cuda_test {
namespace {

const DataType kDtypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                            DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,
                            DataType::kInt64};

OpCase shrink_case(HostTensor x, double bias, double lambd) {
  OpCase c;
  c.op = "Shrink";
  c.attrs.set("bias", bias);
  c.attrs.set("lambd", lambd);
  c.inputs = {std::move(x)};
  return c;
}

std::string name_of(DataType dt, const Dims& d, double bias, double lambd) {
  return std::string(dtype_name(dt)) + " " + d.to_string() + " bias " + std::to_string(bias) +
         " lambd " + std::to_string(lambd);
}

using ShrinkCuda = GpuTest;

TEST(ShrinkCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("Shrink");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "elementwise");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(ShrinkCuda, EveryDtypeExact) {
  std::mt19937 rng(1);
  const Dims shapes[] = {{1}, {7}, {3, 5, 17}, {2, 1000}, {4099}};
  struct Attr {
    double bias, lambd;
  };
  const Attr attrs[] = {{0.0, 0.5}, {1.5, 0.5}, {0.25, 2.0}, {-1.0, 3.0}, {2.0, 0.0}, {0.5, -1.0}};
  for (DataType dt : kDtypes) {
    const bool is_unsigned = dt == DataType::kUInt8;
    for (const Dims& d : shapes) {
      for (const Attr& a : attrs) {
        HostTensor x = random_tensor(dt, d, rng, is_unsigned ? 0 : -6, 6);
        auto runs = expect_exact(shrink_case(x, a.bias, a.lambd), device(), stream(),
                                 name_of(dt, d, a.bias, a.lambd));
        EXPECT_EQ(runs.size(), 1u);
      }
    }
  }
}

TEST_F(ShrinkCuda, BoundariesAndSpecialValues) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> v = {-0.5, 0.5,  -0.25, 0.25, 0.0,   -0.0, 0.75, -0.75,
                                 inf,  -inf, nan,   1e30, -1e30, 3.0,  -3.0, 0.4999};
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    HostTensor x = make_tensor(dt, {static_cast<int64_t>(v.size())}, v);
    expect_exact(shrink_case(x, 0.5, 0.5), device(), stream(), std::string(dtype_name(dt)));
    expect_exact(shrink_case(x, 0.0, 0.25), device(), stream(), std::string(dtype_name(dt)));
  }
  // Integers exactly at +-lambd stay 0; results truncate toward zero.
  for (DataType dt : {DataType::kInt8, DataType::kInt32, DataType::kInt64}) {
    HostTensor x = make_tensor(dt, {9}, {-3, -2, -1, 0, 1, 2, 3, 100, -100});
    expect_exact(shrink_case(x, 0.5, 2.0), device(), stream(), std::string(dtype_name(dt)));
    expect_exact(shrink_case(x, 1.75, 1.0), device(), stream(), std::string(dtype_name(dt)));
  }
  // int8 wraps like the reference when x - bias leaves the range.
  HostTensor x8 = make_tensor(DataType::kInt8, {4}, {-128, 127, -120, 120});
  expect_exact(shrink_case(x8, -10.0, 0.5), device(), stream(), "int8 wrap");
  HostTensor xu = make_tensor(DataType::kUInt8, {4}, {0, 1, 200, 255});
  expect_exact(shrink_case(xu, 3.0, 0.5), device(), stream(), "uint8");
}

TEST_F(ShrinkCuda, UnalignedAndInPlace) {
  std::mt19937 rng(2);
  for (DataType dt : kDtypes) {
    HostTensor x = random_tensor(dt, {1037}, rng, dt == DataType::kUInt8 ? 0 : -4, 4);
    for (int shift : {1, 3}) {
      CudaRunOptions o;
      o.misalign_elements = shift;
      expect_exact(shrink_case(x, 0.5, 1.0), device(), stream(),
                   std::string(dtype_name(dt)) + " misaligned", o);
    }
    CudaRunOptions in_place;
    in_place.in_place = true;
    expect_exact(shrink_case(x, 0.5, 1.0), device(), stream(),
                 std::string(dtype_name(dt)) + " in place", in_place);
  }
}

TEST_F(ShrinkCuda, LargeAndZeroSize) {
  std::mt19937 rng(3);
  HostTensor big = random_tensor(DataType::kFloat16, {3, 1 << 20}, rng, -2, 2);
  expect_exact(shrink_case(big, 0.125, 0.5), device(), stream(), "3M float16");
  for (DataType dt : kDtypes) {
    auto runs = expect_exact(shrink_case(HostTensor(dt, {0, 4}), 0.5, 0.5), device(), stream(),
                             "zero size");
    EXPECT_EQ(runs.size(), 1u);
  }
}

TEST_F(ShrinkCuda, Capturable) {
  std::mt19937 rng(4);
  OpCase c = shrink_case(random_tensor(DataType::kFloat32, {257, 3}, rng, -2, 2), 0.5, 0.75);
  EXPECT_EQ(expect_capturable(c, device(), stream(), 0, 0, "shrink"), 1);
}

}  // namespace
}  // namespace kiln::testing::shrink_cuda_test
