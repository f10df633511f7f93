// ElementWise CUDA tactic against the CPU reference: every op, every dtype it accepts, same-shape
// (vectorized and unaligned), scalar and general broadcasts, zero-size, large tensors, and the
// integer / NaN edge semantics.
#include "gpu/gpu_harness.h"
#include "ops/elementwise/elementwise.h"

#include <cmath>
#include <limits>

namespace kiln::testing::elementwise_cuda_test {
namespace {

const DataType kNumeric[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                             DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,
                             DataType::kInt64};

struct ShapePair {
  Dims a, b;
};
const ShapePair kShapes[] = {
    {{3, 5, 7}, {3, 5, 7}},        // same shape
    {{1031}, {1031}},              // same shape, vector body and tail
    {{}, {4, 9}},                  // scalar a
    {{4, 9}, {1}},                 // scalar b
    {{2, 3, 4, 5}, {1, 3, 1, 1}},  // per-channel bias
    {{4, 1, 5}, {3, 1}},           // both broadcast
    {{6, 1}, {1, 7}},              // outer product
    {{2, 1, 3, 1, 4}, {1, 5, 1, 4, 1}},  // rank 5, alternating
    {{3, 4}, {2, 1, 4}},           // b has more dims
    {{0, 3}, {1, 3}},              // zero-size
    {{3, 0}, {3, 1}},              // zero-size
};

OpCase make_case(const std::string& op, DataType dt, const ShapePair& s, std::mt19937& rng,
                 double lo, double hi, int fmod = 0) {
  OpCase c;
  c.op = "ElementWise";
  c.attrs.set("op", op);
  if (fmod) c.attrs.set("fmod", int64_t{fmod});
  c.inputs.push_back(random_tensor(dt, s.a, rng, lo, hi));
  c.inputs.push_back(random_tensor(dt, s.b, rng, lo, hi));
  return c;
}

// Integral values in [lo, hi] whatever the dtype (so that comparisons see ties).
HostTensor random_integral(DataType dt, Dims shape, std::mt19937& rng, int lo, int hi) {
  HostTensor t(dt, shape);
  std::uniform_int_distribution<int> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) store_from_double(t.data(), dt, i, dist(rng));
  return t;
}

void value_range(const std::string& op, DataType dt, double* lo, double* hi) {
  bool is_unsigned = dt == DataType::kUInt8;
  if (op == "pow") {
    *lo = is_unsigned ? 0 : -4;
    *hi = 4;
  } else if (is_floating(dt)) {
    *lo = -5;
    *hi = 5;
  } else {
    *lo = is_unsigned ? 0 : -20;
    *hi = is_unsigned ? 40 : 20;
  }
}

TEST(ElementWiseCudaRegistry, OneBroadcastTacticOfKilnSource) {
  auto tactics = ops::cuda_tactics("ElementWise");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "broadcast");
  EXPECT_EQ(tactics[0].source, TacticSource::kKilnCuda);
}

using ElementWiseCuda = GpuTest;

TEST_F(ElementWiseCuda, ArithmeticEveryOpEveryDtypeEveryBroadcast) {
  std::mt19937 rng(21);
  for (const char* op : {"sum", "sub", "prod", "div", "min", "max", "pow", "mod"}) {
    for (DataType dt : kNumeric) {
      Tolerance tol = device_tolerance(dt);
      double lo, hi;
      value_range(op, dt, &lo, &hi);
      for (const ShapePair& s : kShapes) {
        for (int fmod : {0, 1}) {
          if (fmod && std::string(op) != "mod") continue;
          OpCase c = make_case(op, dt, s, rng, lo, hi, fmod);
          EXPECT_TRUE(cuda_matches_reference(c, device(), stream(), tol.atol, tol.rtol, {}, 1))
              << op << " fmod=" << fmod << " " << dtype_name(dt) << " " << s.a.to_string() << " x "
              << s.b.to_string();
        }
      }
    }
  }
}

TEST_F(ElementWiseCuda, ComparisonsProduceBool) {
  std::mt19937 rng(22);
  for (const char* op : {"equal", "less", "greater", "less_equal", "greater_equal"}) {
    for (DataType dt : kNumeric) {
      for (const ShapePair& s : kShapes) {
        OpCase c;
        c.op = "ElementWise";
        c.attrs.set("op", std::string(op));
        int lo = dt == DataType::kUInt8 ? 0 : -3;
        c.inputs.push_back(random_integral(dt, s.a, rng, lo, 3));
        c.inputs.push_back(random_integral(dt, s.b, rng, lo, 3));
        EXPECT_TRUE(cuda_matches_reference(c, device(), stream(), 0, 0, {}, 1))
            << op << " " << dtype_name(dt) << " " << s.a.to_string() << " x " << s.b.to_string();
      }
    }
  }
}

TEST_F(ElementWiseCuda, LogicAndEqualOnBool) {
  std::mt19937 rng(23);
  for (const char* op : {"and", "or", "xor", "equal"}) {
    for (const ShapePair& s : kShapes) {
      OpCase c;
      c.op = "ElementWise";
      c.attrs.set("op", std::string(op));
      c.inputs.push_back(random_integral(DataType::kBool, s.a, rng, 0, 1));
      c.inputs.push_back(random_integral(DataType::kBool, s.b, rng, 0, 1));
      EXPECT_TRUE(cuda_matches_reference(c, device(), stream(), 0, 0, {}, 1))
          << op << " " << s.a.to_string() << " x " << s.b.to_string();
    }
  }
}

TEST_F(ElementWiseCuda, UnalignedSameShapeUsesTheFlatPath) {
  std::mt19937 rng(24);
  for (DataType dt : kNumeric) {
    Tolerance tol = device_tolerance(dt);
    for (int64_t n : {1, 15, 1000, 65537}) {
      double lo, hi;
      value_range("sum", dt, &lo, &hi);
      OpCase c = make_case("prod", dt, {{n}, {n}}, rng, lo, hi);
      CudaRunOptions options;
      options.misalign_elements = 1;
      EXPECT_TRUE(cuda_matches_reference(c, device(), stream(), tol.atol, tol.rtol, options, 1))
          << dtype_name(dt) << " n=" << n;
    }
  }
}

TEST_F(ElementWiseCuda, InPlaceSameShape) {
  std::mt19937 rng(25);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kInt32}) {
    Tolerance tol = device_tolerance(dt);
    OpCase c = make_case("sub", dt, {{7, 129}, {7, 129}}, rng, -5, 5);
    CudaRunOptions options;
    options.in_place = true;
    EXPECT_TRUE(cuda_matches_reference(c, device(), stream(), tol.atol, tol.rtol, options, 1))
        << dtype_name(dt);
  }
}

TEST_F(ElementWiseCuda, LargeTensorsSpanSeveralGridPasses) {
  std::mt19937 rng(26);
  const ShapePair large[] = {
      {{3, (1 << 20) + 5}, {3, (1 << 20) + 5}},  // vectorized same shape
      {{3, (1 << 20) + 5}, {3, 1}},              // broadcast of a column
      {{8, 64, 3, 1024}, {1, 64, 1, 1}},         // NCHW bias, 1.5M elements
  };
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    Tolerance tol = device_tolerance(dt);
    for (const ShapePair& s : large) {
      OpCase c = make_case("sum", dt, s, rng, -5, 5);
      EXPECT_TRUE(cuda_matches_reference(c, device(), stream(), tol.atol, tol.rtol, {}, 1))
          << dtype_name(dt) << " " << s.a.to_string() << " x " << s.b.to_string();
    }
  }
}

TEST_F(ElementWiseCuda, IntegerEdgeSemantics) {
  // INT_MIN / -1 and INT_MIN % -1 wrap / give 0; division and mod by zero give 0; overflow wraps.
  for (DataType dt : {DataType::kInt8, DataType::kInt32, DataType::kInt64}) {
    double mn = dt == DataType::kInt8    ? -128.0
                : dt == DataType::kInt32 ? static_cast<double>(std::numeric_limits<int32_t>::min())
                                         : -9.2233720368547758e18;
    std::vector<double> a = {mn, mn, 7, -7, 7, -7, 0, 5, mn, 100};
    std::vector<double> b = {-1, 1, 0, 0, -2, 2, 0, 3, 2, -100};
    for (const char* op : {"div", "mod", "sum", "sub", "prod", "pow"}) {
      for (int fmod : {0, 1}) {
        OpCase c;
        c.op = "ElementWise";
        c.attrs.set("op", std::string(op));
        c.attrs.set("fmod", int64_t{fmod});
        c.inputs.push_back(make_tensor(dt, {10}, a));
        c.inputs.push_back(make_tensor(dt, {10}, b));
        EXPECT_TRUE(cuda_matches_reference(c, device(), stream(), 0, 0, {}, 1))
            << op << " fmod=" << fmod << " " << dtype_name(dt);
      }
    }
  }
}

TEST_F(ElementWiseCuda, FloatEdgeSemantics) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> a = {nan, 1, nan, -0.0, 0.0, inf, -inf, 5.5, -5.5, 1, 0, -3};
  std::vector<double> b = {1, nan, nan, 0.0, -0.0, 1, inf, -2, 2, 0, 0, 0.5};
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    Tolerance tol = device_tolerance(dt);
    for (const char* op : {"min", "max", "div", "mod", "pow", "sum", "prod"}) {
      for (int fmod : {0, 1}) {
        OpCase c;
        c.op = "ElementWise";
        c.attrs.set("op", std::string(op));
        c.attrs.set("fmod", int64_t{fmod});
        c.inputs.push_back(make_tensor(dt, {12}, a));
        c.inputs.push_back(make_tensor(dt, {12}, b));
        EXPECT_TRUE(cuda_matches_reference(c, device(), stream(), tol.atol, tol.rtol, {}, 1))
            << op << " fmod=" << fmod << " " << dtype_name(dt);
      }
    }
  }
}

}  // namespace
}  // namespace kiln::testing::elementwise_cuda_test
