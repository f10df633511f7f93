// Unary CUDA tactic against the CPU reference: every op with every dtype it accepts, edge values
// (NaN, infinities, zeros, halves for round, integer minimums), unaligned, in place, zero-size,
// large.
#include "gpu/gpu_harness.h"
#include "ops/unary/unary.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace kiln::testing::unary_cuda_test {
namespace {

const char* const kOps[] = {"exp", "log", "sqrt", "rsqrt", "abs",  "neg",   "reciprocal", "erf",
                            "sin", "cos", "tan",  "floor", "ceil", "round", "sign",       "not"};
const DataType kAll[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                         DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,
                         DataType::kInt64,   DataType::kBool};

OpCase make_case(const std::string& op, HostTensor x) {
  OpCase c;
  c.op = "Unary";
  c.attrs.set("op", op);
  c.inputs.push_back(std::move(x));
  return c;
}

HostTensor input_for(const std::string& op, DataType dt, Dims shape, std::mt19937& rng) {
  if (dt == DataType::kBool) return random_tensor(dt, shape, rng, -1, 1);
  if (dt == DataType::kUInt8) return random_tensor(dt, shape, rng, 0, 250);
  if (!is_floating(dt)) return random_tensor(dt, shape, rng, -100, 100);
  if (op == "log" || op == "sqrt" || op == "rsqrt") return random_tensor(dt, shape, rng, 0.01, 20);
  if (op == "exp") return random_tensor(dt, shape, rng, -10, 10);
  return random_tensor(dt, shape, rng, -6, 6);
}

TEST(UnaryCudaRegistry, OneElementwiseTacticOfKilnSource) {
  auto tactics = ops::cuda_tactics("Unary");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "elementwise");
  EXPECT_EQ(tactics[0].source, TacticSource::kKilnCuda);
}

using UnaryCuda = GpuTest;

TEST_F(UnaryCuda, EveryOpEverySupportedDtype) {
  std::mt19937 rng(31);
  int cases = 0;
  for (const char* name : kOps) {
    ops::UnaryOp op;
    ASSERT_TRUE(ops::parse_unary_op(name, &op)) << name;
    for (DataType dt : kAll) {
      if (!ops::unary_supports_dtype(op, dt)) continue;
      Tolerance tol = device_tolerance(dt);
      for (Dims shape : {Dims{1}, Dims{17}, Dims{3, 5, 7}, Dims{1031}, Dims{2, 0}, Dims{}}) {
        OpCase c = make_case(name, input_for(name, dt, shape, rng));
        EXPECT_TRUE(cuda_matches_reference(c, device(), stream(), tol.atol, tol.rtol, {}, 1))
            << name << " " << dtype_name(dt) << " " << shape.to_string();
        ++cases;
      }
    }
  }
  EXPECT_GT(cases, 16 * 6);
}

TEST_F(UnaryCuda, FloatEdgeValues) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> v = {nan,       inf,  -inf, 0.0,  -0.0,  0.5,  1.5,   2.5,
                           -0.5,      -1.5, -2.5, 1e-3, -1e-3, 3.49, -3.51, 100.5,
                           1e7 + 0.5, 1.0,  -1.0, 88.0, -88.0, 1e30};
  for (const char* name : kOps) {
    if (std::string(name) == "not") continue;
    for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
      Tolerance tol = device_tolerance(dt);
      OpCase c = make_case(name, make_tensor(dt, {static_cast<int64_t>(v.size())}, v));
      EXPECT_TRUE(cuda_matches_reference(c, device(), stream(), tol.atol, tol.rtol, {}, 1))
          << name << " " << dtype_name(dt);
    }
  }
}

TEST_F(UnaryCuda, IntegerMinimumsWrap) {
  struct Case {
    DataType dt;
    double min;
  };
  for (Case k : {Case{DataType::kInt8, -128.0},
                 Case{DataType::kInt32, static_cast<double>(std::numeric_limits<int32_t>::min())},
                 Case{DataType::kInt64, -9.2233720368547758e18}}) {
    for (const char* name : {"abs", "neg", "sign"}) {
      OpCase c = make_case(name, make_tensor(k.dt, {5}, {k.min, -1, 0, 1, 42}));
      EXPECT_TRUE(cuda_matches_reference(c, device(), stream(), 0, 0, {}, 1))
          << name << " " << dtype_name(k.dt);
    }
  }
}

TEST_F(UnaryCuda, UnalignedInPlaceAndLarge) {
  std::mt19937 rng(32);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kInt8, DataType::kInt64}) {
    const char* name = is_floating(dt) ? "erf" : "neg";
    Tolerance tol = device_tolerance(dt);
    CudaRunOptions unaligned;
    unaligned.misalign_elements = 1;
    CudaRunOptions in_place;
    in_place.in_place = true;
    for (int64_t n : {int64_t{1}, int64_t{33}, int64_t{65537}}) {
      OpCase c = make_case(name, input_for(name, dt, Dims{n}, rng));
      EXPECT_TRUE(cuda_matches_reference(c, device(), stream(), tol.atol, tol.rtol, unaligned, 1))
          << name << " unaligned " << dtype_name(dt) << " n=" << n;
      EXPECT_TRUE(cuda_matches_reference(c, device(), stream(), tol.atol, tol.rtol, in_place, 1))
          << name << " in place " << dtype_name(dt) << " n=" << n;
    }
    OpCase big = make_case(name, input_for(name, dt, Dims{5, (1 << 20) + 3}, rng));
    EXPECT_TRUE(cuda_matches_reference(big, device(), stream(), tol.atol, tol.rtol, {}, 1))
        << name << " large " << dtype_name(dt);
  }
}

TEST_F(UnaryCuda, NotOnNonCanonicalBoolBytes) {
  HostTensor x(DataType::kBool, {6});
  const uint8_t bytes[] = {0, 1, 2, 255, 0, 7};
  std::memcpy(x.data(), bytes, 6);
  OpCase c = make_case("not", x);
  EXPECT_TRUE(cuda_matches_reference(c, device(), stream(), 0, 0, {}, 1));
}

}  // namespace
}  // namespace kiln::testing::unary_cuda_test
