// Unary: every op x every valid dtype, every CPU tactic, against double-precision formulas
// written here; edge values; errors.
#include "common/op_harness.h"
#include "common/pool_runner.h"

#include <cmath>
#include <limits>

namespace kiln::testing::unary_test {
namespace {

const std::vector<std::string> kBoth = {"Unary/cpu-ref/reference", "Unary/cpu-opt/threaded"};

const char* const kFloatOps[] = {"exp", "log",        "sqrt", "rsqrt", "abs",
                                 "neg", "reciprocal", "erf",  "sin",   "cos",
                                 "tan", "floor",      "ceil", "round", "sign"};
const DataType kFloats[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

double round_half_even(double x) {
  double r = std::floor(x + 0.5);
  if (x + 0.5 == r && std::fmod(r, 2.0) != 0) r -= 1;  // a tie rounded up to an odd value
  return r;
}

double expected(const std::string& op, double x) {
  if (op == "exp") return std::exp(x);
  if (op == "log") return std::log(x);
  if (op == "sqrt") return std::sqrt(x);
  if (op == "rsqrt") return 1 / std::sqrt(x);
  if (op == "abs") return std::fabs(x);
  if (op == "neg") return -x;
  if (op == "reciprocal") return 1 / x;
  if (op == "erf") return std::erf(x);
  if (op == "sin") return std::sin(x);
  if (op == "cos") return std::cos(x);
  if (op == "tan") return std::tan(x);
  if (op == "floor") return std::floor(x);
  if (op == "ceil") return std::ceil(x);
  if (op == "round") return round_half_even(x);
  if (op == "sign") return std::isnan(x) ? x : (x > 0 ? 1 : (x < 0 ? -1 : 0));
  if (op == "not") return x == 0 ? 1 : 0;
  ADD_FAILURE() << op;
  return 0;
}

// Inputs inside each op's domain; round gets many exact ties.
HostTensor gen(const std::string& op, DataType dt, Dims d, std::mt19937& rng) {
  HostTensor t(dt, d);
  std::uniform_real_distribution<double> u(-4, 4);
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = u(rng);
    if (op == "log" || op == "sqrt" || op == "rsqrt") v = std::fabs(v) + 0.05;
    if (op == "reciprocal" && std::fabs(v) < 0.05) v = 0.5;
    if (op == "tan") v *= 0.35;  // stay away from the poles
    if (op == "round" || op == "floor" || op == "ceil") v = std::round(v * 4) / 4;
    store_from_double(t.data(), dt, i, v);
  }
  return t;
}

HostTensor expect_tensor(const std::string& op, const HostTensor& x) {
  HostTensor y(x.dtype(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) {
    store_from_double(y.data(), y.dtype(), i, expected(op, x.get_double(i)));
  }
  return y;
}

OpCase make_case(const std::string& op, HostTensor x) {
  OpCase c;
  c.op = "Unary";
  c.attrs.set("op", op);
  c.inputs = {std::move(x)};
  return c;
}

void check(const OpCase& c, const HostTensor& want, ThreadPool* pool = nullptr) {
  auto runs = pool ? run_cpu_tactics_threaded(c, pool) : run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  EXPECT_EQ(tactic_names(*runs), kBoth);
  DataType dt = want.dtype();
  double atol = dt == DataType::kFloat32 ? 1e-6 : (dt == DataType::kFloat16 ? 1e-3 : 8e-3);
  double rtol = dt == DataType::kFloat32 ? 2e-6 : atol;
  if (!is_floating(dt)) atol = rtol = 0;
  for (const auto& r : *runs) {
    EXPECT_TRUE(all_close(r.outputs[0], want, atol, rtol))
        << r.tactic << " op=" << c.attrs.get_string("op") << " " << dtype_name(dt) << " "
        << c.inputs[0].shape().to_string();
  }
}

TEST(Unary, EveryFloatOpEveryFloatDtype) {
  std::mt19937 rng(41);
  for (const char* op : kFloatOps) {
    for (DataType dt : kFloats) {
      for (Dims d : {Dims{3, 5, 7}, Dims{}, Dims{0, 4}, Dims{1}}) {
        HostTensor x = gen(op, dt, d, rng);
        check(make_case(op, x), expect_tensor(op, x));
      }
    }
  }
}

TEST(Unary, IntegerOps) {
  std::mt19937 rng(42);
  for (DataType dt : {DataType::kInt8, DataType::kInt32, DataType::kInt64, DataType::kUInt8}) {
    for (const char* op : {"abs", "neg", "sign"}) {
      if (dt == DataType::kUInt8 && std::string(op) == "neg") continue;
      for (Dims d : {Dims{4, 9}, Dims{}, Dims{0}}) {
        HostTensor x = random_tensor(dt, d, rng, dt == DataType::kUInt8 ? 0 : -50, 50);
        check(make_case(op, x), expect_tensor(op, x));
      }
    }
  }
  // The minimum value wraps (as two's complement) instead of overflowing.
  HostTensor x = make_tensor(DataType::kInt8, {3}, {-128, 127, 0});
  check(make_case("neg", x), make_tensor(DataType::kInt8, {3}, {-128, -127, 0}));
  check(make_case("abs", x), make_tensor(DataType::kInt8, {3}, {-128, 127, 0}));
  check(make_case("sign", x), make_tensor(DataType::kInt8, {3}, {-1, 1, 0}));
  HostTensor m(DataType::kInt64, {1});
  m.as<int64_t>()[0] = std::numeric_limits<int64_t>::min();
  check(make_case("neg", m), m);
}

TEST(Unary, NotOnBool) {
  HostTensor x(DataType::kBool, {5});
  uint8_t v[] = {0, 1, 2, 255, 0};  // any non-zero byte is true
  std::memcpy(x.data(), v, 5);
  check(make_case("not", x), make_tensor(DataType::kBool, {5}, {1, 0, 0, 0, 1}));
  std::mt19937 rng(43);
  HostTensor y = random_tensor(DataType::kBool, {2, 0, 3}, rng);
  check(make_case("not", y), y);
}

TEST(Unary, FloatEdgeValues) {
  for (DataType dt : kFloats) {
    auto run1 = [&](const std::string& op, std::vector<double> x, std::vector<double> want) {
      int64_t n = static_cast<int64_t>(x.size());
      check(make_case(op, make_tensor(dt, {n}, x)), make_tensor(dt, {n}, want));
    };
    run1("round", {0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 2.25, -2.75}, {0, -0.0, 2, -2, 2, -2, 2, -3});
    run1("log", {0, -1}, {-INFINITY, NAN});
    run1("sqrt", {-1, 0}, {NAN, 0});
    run1("rsqrt", {0, 4}, {INFINITY, 0.5});
    run1("reciprocal", {0, -0.0, 4}, {INFINITY, -INFINITY, 0.25});
    run1("sign", {NAN, -0.0, -3, 2}, {NAN, 0, -1, 1});
    run1("exp", {-INFINITY, 0}, {0, 1});
    run1("abs", {-INFINITY, NAN}, {INFINITY, NAN});
    run1("floor", {-1.5, 1.5}, {-2, 1});
    run1("ceil", {-1.5, 1.5}, {-1, 2});
  }
}

TEST(Unary, RoundLargeMagnitudes) {
  // Near and beyond 2^23 (where every float is an integer) and non-finite values.
  HostTensor x =
      make_tensor(DataType::kFloat32, {8},
                  {4194303.5, -4194302.5, 8388607, 8388608, -16777216, 1e10, INFINITY, NAN});
  check(make_case("round", x),
        make_tensor(DataType::kFloat32, {8},
                    {4194304, -4194302, 8388607, 8388608, -16777216, 1e10, INFINITY, NAN}));
}

TEST(Unary, ThreadedLarge) {
  std::mt19937 rng(44);
  ThreadPool pool(4);
  for (const char* op : {"exp", "round", "sign"}) {
    for (DataType dt : {DataType::kFloat32, DataType::kBFloat16}) {
      HostTensor x = gen(op, dt, {100003}, rng);
      check(make_case(op, x), expect_tensor(op, x), &pool);
    }
  }
  HostTensor xi = random_tensor(DataType::kInt32, {70001}, rng, -100, 100);
  check(make_case("abs", xi), expect_tensor("abs", xi), &pool);
}

::testing::AssertionResult fails_with(const OpCase& c, const std::string& needle) {
  auto g = make_graph(c);
  if (g.is_ok())
    return ::testing::AssertionFailure() << "expected an error with '" << needle << "'";
  std::string msg = g.status().to_string();
  if (msg.find(needle) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "error '" << msg << "' does not name '" << needle << "'";
  }
  return ::testing::AssertionSuccess();
}

TEST(Unary, Errors) {
  std::mt19937 rng(45);
  auto t = [&](DataType dt) { return random_tensor(dt, {3}, rng); };
  EXPECT_TRUE(fails_with(make_case("expm1", t(DataType::kFloat32)), "unknown unary op 'expm1'"));
  EXPECT_TRUE(fails_with(make_case("not", t(DataType::kFloat32)), "float32"));
  for (const char* op : kFloatOps) {
    std::string s = op;
    if (s == "abs" || s == "neg" || s == "sign") continue;
    EXPECT_TRUE(fails_with(make_case(op, t(DataType::kInt32)), "int32")) << op;
    EXPECT_TRUE(fails_with(make_case(op, t(DataType::kBool)), "bool")) << op;
  }
  EXPECT_TRUE(fails_with(make_case("neg", t(DataType::kUInt8)), "uint8"));
  EXPECT_TRUE(fails_with(make_case("abs", t(DataType::kBool)), "bool"));
  OpCase two = make_case("exp", t(DataType::kFloat32));
  two.inputs.push_back(t(DataType::kFloat32));
  EXPECT_TRUE(fails_with(two, "expects 1 input"));
}

}  // namespace
}  // namespace kiln::testing::unary_test
