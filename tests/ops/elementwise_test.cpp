// ElementWise: every op x every valid dtype x broadcasting shapes, every CPU tactic, against
// formulas and numpy-broadcast indexing written here; errors; shape-value propagation.
#include "common/op_harness.h"
#include "common/pool_runner.h"

#include <cmath>
#include <limits>

namespace kiln::testing::elementwise_test {
namespace {

const std::vector<std::string> kBoth = {"ElementWise/cpu-ref/reference",
                                        "ElementWise/cpu-opt/fast"};
const std::vector<std::string> kRefOnly = {"ElementWise/cpu-ref/reference"};

const char* const kArith[] = {"sum", "sub", "prod", "div", "min", "max", "pow", "mod"};
const char* const kCompare[] = {"equal", "less", "greater", "less_equal", "greater_equal"};
const char* const kLogic[] = {"and", "or", "xor"};
const DataType kNumeric[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                             DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,
                             DataType::kInt64};

bool fast_dtype(DataType dt) {
  return dt != DataType::kInt8 && dt != DataType::kUInt8;
}

// Element i of an integer tensor written with C++'s modular conversion (so expected values wrap
// the way two's-complement integers do).
void store_int(HostTensor& t, int64_t i, int64_t v) {
  dispatch_dtype(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) t.as<T>()[i] = static_cast<T>(v);
  });
}

// Test data: small values on a 0.25 grid (exact in every float type, so equal cases occur),
// divisors without 0, small non-negative exponents for integer pow.
HostTensor gen(DataType dt, Dims d, std::mt19937& rng, const std::string& op, bool divisor) {
  HostTensor t(dt, d);
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v;
    if (dt == DataType::kBool) {
      v = std::uniform_int_distribution<int>(0, 1)(rng);
    } else if (is_floating(dt)) {
      if (op == "pow" && !divisor) {
        v = std::uniform_int_distribution<int>(1, 8)(rng) * 0.25;
      } else {
        v = std::uniform_int_distribution<int>(-12, 12)(rng) * 0.25;
      }
    } else {
      bool is_unsigned = dt == DataType::kUInt8;
      if (op == "pow") {
        v = divisor ? std::uniform_int_distribution<int>(0, 4)(rng)
                    : std::uniform_int_distribution<int>(is_unsigned ? 0 : -5, 5)(rng);
      } else {
        v = std::uniform_int_distribution<int>(is_unsigned ? 0 : -20, 20)(rng);
      }
    }
    if (divisor && (op == "div" || op == "mod") && v == 0) v = dt == DataType::kBool ? 1 : 3;
    store_from_double(t.data(), dt, i, v);
  }
  return t;
}

double float_expected(const std::string& op, double a, double b) {
  if (op == "sum") return a + b;
  if (op == "sub") return a - b;
  if (op == "prod") return a * b;
  if (op == "div") return a / b;
  if (op == "min") return (std::isnan(a) || std::isnan(b)) ? NAN : std::min(a, b);
  if (op == "max") return (std::isnan(a) || std::isnan(b)) ? NAN : std::max(a, b);
  if (op == "pow") return std::pow(a, b);
  if (op == "mod") {  // Python: result has the divisor's sign
    double r = std::fmod(a, b);
    if (r != 0 && (r < 0) != (b < 0)) r += b;
    return r;
  }
  if (op == "equal") return a == b;
  if (op == "less") return a < b;
  if (op == "greater") return a > b;
  if (op == "less_equal") return a <= b;
  if (op == "greater_equal") return a >= b;
  if (op == "and") return (a != 0) && (b != 0);
  if (op == "or") return (a != 0) || (b != 0);
  if (op == "xor") return (a != 0) != (b != 0);
  ADD_FAILURE() << op;
  return 0;
}

int64_t int_expected(const std::string& op, int64_t a, int64_t b) {
  if (op == "sum") return a + b;
  if (op == "sub") return a - b;
  if (op == "prod") return a * b;
  if (op == "div") return a / b;  // C++ truncates toward zero
  if (op == "min") return std::min(a, b);
  if (op == "max") return std::max(a, b);
  if (op == "pow") {
    int64_t r = 1;
    for (int64_t i = 0; i < b; ++i) r *= a;
    return r;
  }
  if (op == "mod") {
    int64_t r = a - b * (a / b);
    if (r != 0 && (r < 0) != (b < 0)) r += b;
    return r;
  }
  ADD_FAILURE() << op;
  return 0;
}

bool is_compare_op(const std::string& op) {
  return std::find(std::begin(kCompare), std::end(kCompare), op) != std::end(kCompare);
}

// Expected output with numpy broadcasting, computed by explicit index arithmetic.
HostTensor expected(const std::string& op, const HostTensor& a, const HostTensor& b) {
  std::vector<int64_t> as = a.shape().to_vector(), bs = b.shape().to_vector();
  size_t r = std::max(as.size(), bs.size());
  while (as.size() < r) as.insert(as.begin(), 1);
  while (bs.size() < r) bs.insert(bs.begin(), 1);
  std::vector<int64_t> os(r);
  for (size_t d = 0; d < r; ++d) os[d] = as[d] == 1 ? bs[d] : as[d];
  DataType out_dt = is_compare_op(op) ? DataType::kBool : a.dtype();
  HostTensor y(out_dt, Dims(std::span<const int64_t>(os)));
  std::vector<int64_t> idx(r, 0);
  for (int64_t i = 0; i < y.numel(); ++i) {
    int64_t rem = i;
    for (size_t d = r; d-- > 0;) {
      idx[d] = rem % os[d];
      rem /= os[d];
    }
    int64_t ai = 0, bi = 0;
    for (size_t d = 0; d < r; ++d) {
      ai = ai * as[d] + (as[d] == 1 ? 0 : idx[d]);
      bi = bi * bs[d] + (bs[d] == 1 ? 0 : idx[d]);
    }
    if (is_integer(a.dtype()) && !is_compare_op(op)) {
      store_int(y, i, int_expected(op, a.get_int(ai), b.get_int(bi)));
    } else {
      store_from_double(y.data(), out_dt, i,
                        float_expected(op, a.get_double(ai), b.get_double(bi)));
    }
  }
  return y;
}

double tolerance(DataType dt) {
  switch (dt) {
    case DataType::kFloat32:
      return 2e-6;
    case DataType::kFloat16:
      return 1e-3;
    case DataType::kBFloat16:
      return 8e-3;
    default:
      return 0;
  }
}

OpCase make_case(const std::string& op, const HostTensor& a, const HostTensor& b) {
  OpCase c;
  c.op = "ElementWise";
  c.attrs.set("op", op);
  c.inputs = {a, b};
  return c;
}

void check(const OpCase& c, const HostTensor& want, ThreadPool* pool = nullptr) {
  auto runs = pool ? run_cpu_tactics_threaded(c, pool) : run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  DataType dt = c.inputs[0].dtype();
  EXPECT_EQ(tactic_names(*runs), fast_dtype(dt) ? kBoth : kRefOnly) << dtype_name(dt);
  double tol = tolerance(want.dtype());
  for (const auto& r : *runs) {
    EXPECT_TRUE(all_close(r.outputs[0], want, tol, tol))
        << r.tactic << " op=" << c.attrs.get_string("op") << " " << dtype_name(dt) << " A"
        << c.inputs[0].shape().to_string() << " B" << c.inputs[1].shape().to_string();
  }
}

const std::pair<Dims, Dims> kShapes[] = {
    {{3, 4, 5}, {3, 4, 5}},  // same shape
    {{3, 4}, {}},            // scalar B
    {{}, {2, 5}},            // scalar A
    {{}, {}},                // both scalars
    {{1}, {}},               // [1] and scalar
    {{2, 3, 4}, {4}},        // rank mismatch, row broadcast
    {{5}, {2, 3, 5}},        // rank mismatch on A
    {{2, 1, 4}, {1, 3, 1}},  // size-1 dims on both sides
    {{5, 6}, {5, 1}},        // column broadcast
    {{4, 1}, {2, 1, 3}},     // -> [2,4,3]
    {{0, 3}, {1, 3}},        // zero-size
    {{2, 0}, {2, 1}},        // zero-size
    {{0}, {}},               // zero-size and scalar
};

TEST(ElementWise, ArithmeticEveryOpEveryDtypeBroadcast) {
  std::mt19937 rng(31);
  for (const char* op : kArith) {
    for (DataType dt : kNumeric) {
      for (const auto& [sa, sb] : kShapes) {
        HostTensor a = gen(dt, sa, rng, op, false), b = gen(dt, sb, rng, op, true);
        check(make_case(op, a, b), expected(op, a, b));
      }
    }
  }
}

TEST(ElementWise, ComparisonsProduceBool) {
  std::mt19937 rng(32);
  for (const char* op : kCompare) {
    for (DataType dt : kNumeric) {
      for (const auto& [sa, sb] : kShapes) {
        HostTensor a = gen(dt, sa, rng, op, false), b = gen(dt, sb, rng, op, true);
        HostTensor want = expected(op, a, b);
        ASSERT_EQ(want.dtype(), DataType::kBool);
        check(make_case(op, a, b), want);
      }
    }
  }
  // equal also takes bool.
  for (const auto& [sa, sb] : kShapes) {
    HostTensor a = gen(DataType::kBool, sa, rng, "", false);
    HostTensor b = gen(DataType::kBool, sb, rng, "", false);
    check(make_case("equal", a, b), expected("equal", a, b));
  }
}

TEST(ElementWise, LogicOnBool) {
  std::mt19937 rng(33);
  for (const char* op : kLogic) {
    for (const auto& [sa, sb] : kShapes) {
      HostTensor a = gen(DataType::kBool, sa, rng, op, false);
      HostTensor b = gen(DataType::kBool, sb, rng, op, false);
      check(make_case(op, a, b), expected(op, a, b));
    }
  }
  // Non-canonical true bytes (any non-zero is true).
  HostTensor a(DataType::kBool, {4}), b(DataType::kBool, {4});
  uint8_t av[] = {0, 2, 0, 7}, bv[] = {0, 0, 5, 9};
  std::memcpy(a.data(), av, 4);
  std::memcpy(b.data(), bv, 4);
  check(make_case("xor", a, b), make_tensor(DataType::kBool, {4}, {0, 1, 1, 0}));
  check(make_case("and", a, b), make_tensor(DataType::kBool, {4}, {0, 0, 0, 1}));
  check(make_case("equal", a, b), make_tensor(DataType::kBool, {4}, {1, 0, 0, 1}));
}

TEST(ElementWise, ThreadedLargeBroadcasts) {
  // Large enough to split into several chunks, each starting mid-row.
  std::mt19937 rng(34);
  ThreadPool pool(4);
  const std::pair<Dims, Dims> shapes[] = {{{70, 1100}, {1100}},
                                          {{300, 257}, {300, 1}},
                                          {{81, 1, 1000}, {1, 3, 1}},
                                          {{100000}, {}},
                                          {{100000}, {100000}}};
  for (DataType dt : {DataType::kFloat32, DataType::kInt64, DataType::kFloat16}) {
    for (const char* op : {"sum", "div", "less"}) {
      for (const auto& [sa, sb] : shapes) {
        HostTensor a = gen(dt, sa, rng, op, false), b = gen(dt, sb, rng, op, true);
        check(make_case(op, a, b), expected(op, a, b), &pool);
      }
    }
  }
}

TEST(ElementWise, IntegerSemantics) {
  auto run1 = [](const std::string& op, DataType dt, std::vector<double> a, std::vector<double> b,
                 std::vector<double> want, int64_t fmod = 0) {
    int64_t n = static_cast<int64_t>(a.size());
    OpCase c = make_case(op, make_tensor(dt, {n}, a), make_tensor(dt, {n}, b));
    if (fmod) c.attrs.set("fmod", fmod);
    check(c, make_tensor(dt, {n}, want));
  };
  for (DataType dt : {DataType::kInt8, DataType::kInt32, DataType::kInt64}) {
    // Truncation toward zero.
    run1("div", dt, {7, -7, 7, -7, 0}, {2, 2, -2, -2, 5}, {3, -3, -3, 3, 0});
    // ONNX Mod fmod=0: sign of the divisor; fmod=1: sign of the dividend.
    run1("mod", dt, {7, -7, 7, -7, 6}, {3, 3, -3, -3, 3}, {1, 2, -2, -1, 0});
    run1("mod", dt, {7, -7, 7, -7, 6}, {3, 3, -3, -3, 3}, {1, -1, 1, -1, 0}, 1);
    // Division / mod by zero is defined as 0 (no crash); pow with a negative exponent truncates.
    run1("div", dt, {5, -5}, {0, 0}, {0, 0});
    run1("mod", dt, {5, -5}, {0, 0}, {0, 0});
    run1("pow", dt, {2, 1, -1, -1, 0, 3}, {-1, -3, -3, -2, 0, 3}, {0, 1, -1, 1, 1, 27});
  }
  // Overflow wraps; INT_MIN / -1 does not trap.
  constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax64 = std::numeric_limits<int64_t>::max();
  {
    HostTensor a(DataType::kInt64, {3}), b(DataType::kInt64, {3}), want(DataType::kInt64, {3});
    int64_t av[] = {kMin64, kMax64, kMin64}, bv[] = {-1, 1, -1};
    std::memcpy(a.data(), av, sizeof(av));
    std::memcpy(b.data(), bv, sizeof(bv));
    int64_t div_want[] = {kMin64, kMax64, kMin64};
    std::memcpy(want.data(), div_want, sizeof(div_want));
    check(make_case("div", a, b), want);
    int64_t sum_want[] = {kMax64, kMin64, kMax64};
    std::memcpy(want.data(), sum_want, sizeof(sum_want));
    check(make_case("sum", a, b), want);
    int64_t mod_want[] = {0, 0, 0};
    std::memcpy(want.data(), mod_want, sizeof(mod_want));
    check(make_case("mod", a, b), want);
  }
  run1("sum", DataType::kInt8, {127, -128}, {1, -1}, {-128, 127});
  run1("sub", DataType::kUInt8, {3, 0}, {5, 1}, {254, 255});
  run1("mod", DataType::kUInt8, {7, 200}, {3, 7}, {1, 4});
}

TEST(ElementWise, FloatSemantics) {
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    auto run1 = [&](const std::string& op, std::vector<double> a, std::vector<double> b,
                    std::vector<double> want, int64_t fmod = 0) {
      int64_t n = static_cast<int64_t>(a.size());
      OpCase c = make_case(op, make_tensor(dt, {n}, a), make_tensor(dt, {n}, b));
      if (fmod) c.attrs.set("fmod", fmod);
      check(c, make_tensor(dt, {n}, want));
    };
    run1("min", {NAN, 1, 2}, {1, NAN, -3}, {NAN, NAN, -3});
    run1("max", {NAN, 1, 2}, {1, NAN, -3}, {NAN, NAN, 2});
    run1("div", {1, -1, 0}, {0, 0, 0}, {INFINITY, -INFINITY, NAN});
    run1("mod", {5.5, -5.5, 5.5, -5.5}, {2, 2, -2, -2}, {1.5, 0.5, -0.5, -1.5});
    run1("mod", {5.5, -5.5, 5.5, -5.5}, {2, 2, -2, -2}, {1.5, -1.5, 1.5, -1.5}, 1);
    run1("pow", {-2, 4, 0}, {3, 0.5, 0}, {-8, 2, 1});
    int64_t n = 3;
    OpCase c = make_case("equal", make_tensor(dt, {n}, {NAN, 1, 0.0}),
                         make_tensor(dt, {n}, {NAN, 1, -0.0}));
    check(c, make_tensor(DataType::kBool, {n}, {0, 1, 1}));
  }
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

TEST(ElementWise, Errors) {
  std::mt19937 rng(35);
  auto t = [&](DataType dt, Dims d) { return random_tensor(dt, d, rng); };
  {
    OpCase c = make_case("sum", t(DataType::kFloat32, {3}), t(DataType::kFloat16, {3}));
    EXPECT_TRUE(fails_with(c, "float32"));
    EXPECT_TRUE(fails_with(c, "float16"));
  }
  EXPECT_TRUE(fails_with(make_case("sum", t(DataType::kFloat32, {3}), t(DataType::kFloat32, {4})),
                         "cannot be broadcast"));
  EXPECT_TRUE(fails_with(
      make_case("sum", t(DataType::kFloat32, {2, 3}), t(DataType::kFloat32, {3, 3})), "[2,3]"));
  for (const char* op : kArith) {
    EXPECT_TRUE(
        fails_with(make_case(op, t(DataType::kBool, {3}), t(DataType::kBool, {3})), "bool"));
  }
  for (const char* op : {"less", "greater", "less_equal", "greater_equal"}) {
    EXPECT_TRUE(fails_with(make_case(op, t(DataType::kBool, {3}), t(DataType::kBool, {3})), op));
  }
  for (const char* op : kLogic) {
    EXPECT_TRUE(fails_with(make_case(op, t(DataType::kInt32, {3}), t(DataType::kInt32, {3})),
                           "needs bool"));
  }
  EXPECT_TRUE(fails_with(make_case("plus", t(DataType::kFloat32, {3}), t(DataType::kFloat32, {3})),
                         "unknown elementwise op 'plus'"));
  {
    OpCase c = make_case("mod", t(DataType::kInt32, {3}), t(DataType::kInt32, {3}));
    c.attrs.set("fmod", int64_t{2});
    EXPECT_TRUE(fails_with(c, "fmod"));
  }
  {
    OpCase c = make_case("sum", t(DataType::kFloat32, {3}), t(DataType::kFloat32, {3}));
    c.inputs.push_back(t(DataType::kFloat32, {3}));
    EXPECT_TRUE(fails_with(c, "expects 2 inputs"));
  }
}

// ---- shape values ----

std::string sv_string(const ir::Graph& g, int value) {
  const auto& sv = g.value(value).shape_value;
  if (!sv) return "none";
  return ir::shape_to_string(*sv);
}

TEST(ElementWise, ShapeValuesOfSymbolicShapeTensors) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 3, -1});  // symbols s0, s1
  // A shape tensor [s0, 3, s1] as a Shape op would produce.
  int shp = g.add_value("shape", DataType::kInt64, {3});
  g.value(shp).shape_value =
      std::vector<ir::SymExpr>{ir::SymExpr::symbol(0), 3, ir::SymExpr::symbol(1)};
  (void)x;
  HostTensor two(DataType::kInt64, {});
  two.as<int64_t>()[0] = 2;
  int c2 = g.add_constant("two", two);
  HostTensor vec = make_tensor(DataType::kInt64, {3}, {1, 4, 5});
  int cv = g.add_constant("vec", vec);

  auto node = [&](const std::string& op, int a, int b) {
    ir::Attrs attrs;
    attrs.set("op", op);
    int n = g.add_node("ElementWise", op, {a, b}, 1, attrs);
    Status st = g.infer_node(n);
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    return g.node(n).outputs[0];
  };
  EXPECT_EQ(sv_string(g, node("prod", shp, c2)), "[(s0*2),6,(s1*2)]");
  EXPECT_EQ(sv_string(g, node("div", shp, c2)), "[(s0/2),1,(s1/2)]");
  EXPECT_EQ(sv_string(g, node("sum", c2, shp)), "[(2+s0),5,(2+s1)]");
  EXPECT_EQ(sv_string(g, node("sub", shp, cv)), "[(s0-1),-1,(s1-5)]");
  EXPECT_EQ(sv_string(g, node("min", shp, cv)), "[min(s0,1),3,min(s1,5)]");
  EXPECT_EQ(sv_string(g, node("max", shp, cv)), "[max(s0,1),4,max(s1,5)]");
  EXPECT_EQ(sv_string(g, node("mod", shp, c2)), "[(s0%2),1,(s1%2)]");
  int prod = node("prod", shp, shp);
  EXPECT_EQ(sv_string(g, prod), "[(s0*s0),9,(s1*s1)]");
  EXPECT_EQ(g.value(prod).dtype, DataType::kInt64);
  EXPECT_EQ(ir::shape_to_string(g.value(prod).shape), "[3]");
  // Chains: the output's shape value feeds the next node.
  EXPECT_EQ(sv_string(g, node("sum", prod, c2)), "[((s0*s0)+2),11,((s1*s1)+2)]");
  // No symbolic content: comparisons, pow, and non-shape inputs.
  EXPECT_EQ(sv_string(g, node("less", shp, cv)), "none");
  EXPECT_EQ(sv_string(g, node("pow", shp, c2)), "none");
  int runtime = g.add_input("runtime", DataType::kInt64, Dims{3});
  EXPECT_EQ(sv_string(g, node("sum", shp, runtime)), "none");
  EXPECT_EQ(sv_string(g, node("sum", runtime, shp)), "none");
}

TEST(ElementWise, ShapeValuesOfConstants) {
  ir::Graph g;
  // Two constants: each keeps its own content (both are read through InferContext::shape_value).
  int a = g.add_constant("a", make_tensor(DataType::kInt64, {2}, {10, -7}));
  int b = g.add_constant("b", make_tensor(DataType::kInt64, {1}, {3}));
  int a32 = g.add_constant("a32", make_tensor(DataType::kInt32, {2}, {10, -7}));
  int b32 = g.add_constant("b32", make_tensor(DataType::kInt32, {}, {3}));
  int f = g.add_constant("f", make_tensor(DataType::kFloat32, {2}, {1, 2}));
  int m = g.add_constant("m", make_tensor(DataType::kInt64, {2, 1}, {1, 2}));
  auto node = [&](const std::string& op, int x, int y) {
    ir::Attrs attrs;
    attrs.set("op", op);
    int n = g.add_node("ElementWise", op, {x, y}, 1, attrs);
    Status st = g.infer_node(n);
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    return g.node(n).outputs[0];
  };
  EXPECT_EQ(sv_string(g, node("sum", a, b)), "[13,-4]");
  EXPECT_EQ(sv_string(g, node("sub", b, a)), "[-7,10]");
  EXPECT_EQ(sv_string(g, node("div", a, b)), "[3,-2]");  // truncation, as the kernels
  EXPECT_EQ(sv_string(g, node("mod", a, b)), "[1,2]");   // sign of the divisor
  EXPECT_EQ(sv_string(g, node("prod", a32, b32)), "[30,-21]");
  int s = node("max", b32, b32);
  EXPECT_EQ(sv_string(g, s), "[3]");
  EXPECT_EQ(ir::shape_to_string(g.value(s).shape), "[]");
  EXPECT_EQ(
      sv_string(g, node("div", a, g.add_constant("z", make_tensor(DataType::kInt64, {1}, {0})))),
      "none");
  EXPECT_EQ(sv_string(g, node("sum", f, f)), "none");  // not an integer tensor
  EXPECT_EQ(sv_string(g, node("sum", m, b)), "none");  // rank 2
}

}  // namespace
}  // namespace kiln::testing::elementwise_test
