// Cast: every dtype pair and CPU tactic against conversions written here, hand-checked edge
// values (truncation, saturation, wrap-around, round-to-nearest-even into float16/bfloat16),
// round trips, shape-value propagation and the errors.
#include "common/op_harness.h"
#include "common/pool_runner.h"

#include <cmath>
#include <limits>

namespace kiln::testing::cast_test {
namespace {

constexpr DataType kAll[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                             DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,
                             DataType::kInt64,   DataType::kBool};

OpCase cast_case(HostTensor x, DataType to) {
  OpCase c;
  c.op = "Cast";
  c.attrs.set("to", std::string(dtype_name(to)));
  c.inputs.push_back(std::move(x));
  return c;
}

// Integer range of an integer dtype.
std::pair<double, double> int_range(DataType dt) {
  switch (dt) {
    case DataType::kInt8:
      return {-128, 127};
    case DataType::kUInt8:
      return {0, 255};
    case DataType::kInt32:
      return {-2147483648.0, 2147483647.0};
    default:
      return {-9223372036854775808.0, 9223372036854775807.0};
  }
}

// The expected result of converting v (exactly representable in double) from src to dst.
double expected_value(double v, DataType src, DataType dst) {
  if (dst == DataType::kBool) return v != 0 ? 1 : 0;  // NaN != 0
  if (is_floating(dst)) return v;                     // rounding into dst happens when stored
  auto [lo, hi] = int_range(dst);
  if (is_floating(src)) {
    if (std::isnan(v)) return 0;
    double t = std::trunc(v);
    return t < lo ? lo : t > hi ? hi : t;
  }
  if (dst == DataType::kInt64) return v;  // every integer source fits
  // Integer wrap-around: v mod 2^bits, into the target's range.
  double m = hi - lo + 1;
  double r = std::fmod(v - lo, m);
  if (r < 0) r += m;
  return r + lo;
}

void check(const OpCase& c, const HostTensor& want, const std::string& what,
           ThreadPool* pool = nullptr) {
  auto runs = pool ? run_cpu_tactics_threaded(c, pool) : run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(runs->size(), 2u) << what;
  EXPECT_EQ((*runs)[0].tactic, "Cast/cpu-ref/reference");
  EXPECT_EQ((*runs)[1].tactic, "Cast/cpu-opt/threaded");
  for (const auto& r : *runs) {
    EXPECT_TRUE(all_close(r.outputs[0], want, 0, 0)) << what << " " << r.tactic;
  }
}

TEST(Cast, EveryDtypePair) {
  std::mt19937 rng(71);
  for (DataType src : kAll) {
    for (DataType dst : kAll) {
      double lo = src == DataType::kUInt8 ? 0 : src == DataType::kInt8 ? -128 : -300;
      double hi = src == DataType::kUInt8 ? 255 : src == DataType::kInt8 ? 127 : 300;
      HostTensor x = random_tensor(src, {3, 41}, rng, lo, hi);
      HostTensor want(dst, x.shape());
      for (int64_t i = 0; i < x.numel(); ++i) {
        store_from_double(want.data(), dst, i, expected_value(x.get_double(i), src, dst));
      }
      check(cast_case(x, dst), want,
            std::string(dtype_name(src)) + " -> " + std::string(dtype_name(dst)));
    }
  }
}

struct Edge {
  DataType src, dst;
  std::vector<double> in, out;
};

TEST(Cast, EdgeValues) {
  const double inf = INFINITY, nan = NAN;
  const double i32max = 2147483647.0, i32min = -2147483648.0;
  const double i64min = -9223372036854775808.0;
  const Edge edges[] = {
      // float -> int: truncate toward zero; NaN -> 0; out of range saturates.
      {DataType::kFloat32,
       DataType::kInt32,
       {2.7, -2.7, 0.5, -0.5, nan, inf, -inf, 3e9, -3e9},
       {2, -2, 0, 0, 0, i32max, i32min, i32max, i32min}},
      {DataType::kFloat32, DataType::kUInt8, {-1.5, 255.9, 256, 300, 1.99}, {0, 255, 255, 255, 1}},
      {DataType::kFloat32, DataType::kInt8, {127.9, -128.9, -129, 200}, {127, -128, -128, 127}},
      {DataType::kFloat16, DataType::kInt32, {65504, -inf, -7.5}, {65504, i32min, -7}},
      // int -> narrower int wraps.
      {DataType::kInt32, DataType::kInt8, {300, -129, 127, 128}, {44, 127, 127, -128}},
      {DataType::kInt32, DataType::kUInt8, {-1, 256, 511}, {255, 0, 255}},
      {DataType::kInt64, DataType::kInt32, {1099511627781.0, -1, 2147483648.0}, {5, -1, i32min}},
      // -> float16: round to nearest even, overflow to inf, subnormals.
      {DataType::kFloat32,
       DataType::kFloat16,
       {65504, 65520, 65519, 1 + std::ldexp(1, -11), 1 + 3 * std::ldexp(1, -11), std::ldexp(1, -24),
        std::ldexp(1, -25), 1.5 * std::ldexp(1, -25), nan, 1e-8},
       {65504, inf, 65504, 1, 1 + std::ldexp(1, -9), std::ldexp(1, -24), 0, std::ldexp(1, -24), nan,
        0}},
      {DataType::kInt32,
       DataType::kFloat16,
       {65519, 65520, 2049, 2051, -70000},
       {65504, inf, 2048, 2052, -inf}},
      // -> bfloat16: ties to even; the float max rounds up to inf.
      {DataType::kFloat32,
       DataType::kBFloat16,
       {1 + std::ldexp(1, -8), 1 + 3 * std::ldexp(1, -8),
        1 + std::ldexp(1, -8) + std::ldexp(1, -20), 3.4028234663852886e38, nan},
       {1, 1 + std::ldexp(1, -6), 1 + std::ldexp(1, -7), inf, nan}},
      // An integer that int -> float -> bfloat16 would round twice (to 2^24): correct is up.
      {DataType::kInt32, DataType::kBFloat16, {16842753}, {16908288}},
      {DataType::kInt64, DataType::kBFloat16, {16842753, -16842753}, {16908288, -16908288}},
      {DataType::kBFloat16, DataType::kFloat16, {1.0078125, 131072}, {1.0078125, inf}},
      // bool
      {DataType::kFloat32, DataType::kBool, {0, -0.0, 0.1, nan, -3}, {0, 0, 1, 1, 1}},
      {DataType::kInt32, DataType::kBool, {0, 256, -1}, {0, 1, 1}},
      {DataType::kBool, DataType::kFloat32, {0, 1}, {0, 1}},
      {DataType::kBool, DataType::kInt64, {1, 0}, {1, 0}},
      {DataType::kFloat32, DataType::kInt64, {1e20, -1e20, i64min}, {0, i64min, i64min}},
  };
  for (const Edge& e : edges) {
    int64_t n = static_cast<int64_t>(e.in.size());
    HostTensor x = make_tensor(e.src, {n}, e.in);
    HostTensor want(e.dst, {n});
    for (int64_t i = 0; i < n; ++i) {
      if (e.dst == DataType::kInt64) {
        want.as<int64_t>()[i] = e.out[i] == i64min ? std::numeric_limits<int64_t>::min()
                                                   : static_cast<int64_t>(e.out[i]);
      } else {
        store_from_double(want.data(), e.dst, i, e.out[i]);
      }
    }
    if (e.src == DataType::kFloat32 && e.dst == DataType::kInt64) {
      want.as<int64_t>()[0] = std::numeric_limits<int64_t>::max();  // 1e20 saturates
    }
    if (e.src == DataType::kInt64 && e.dst == DataType::kInt32) {
      x.as<int64_t>()[0] = (int64_t{1} << 40) + 5;  // exact, not via double
    }
    check(cast_case(x, e.dst), want,
          std::string(dtype_name(e.src)) + " -> " + std::string(dtype_name(e.dst)));
  }
}

TEST(Cast, RoundTrips) {
  // Every float16 / bfloat16 bit pattern survives -> float32 -> back (NaNs stay NaN).
  for (DataType dt : {DataType::kFloat16, DataType::kBFloat16}) {
    HostTensor x(dt, {65536});
    for (int i = 0; i < 65536; ++i) x.as<uint16_t>()[i] = static_cast<uint16_t>(i);
    auto up = run_cpu_tactics(cast_case(x, DataType::kFloat32));
    ASSERT_TRUE(up.is_ok());
    auto down = run_cpu_tactics(cast_case((*up)[0].outputs[0], dt));
    ASSERT_TRUE(down.is_ok());
    for (const auto& r : *down) {
      int64_t bad = 0;
      for (int i = 0; i < 65536; ++i) {
        uint16_t got = r.outputs[0].as<uint16_t>()[i];
        bool ok = std::isnan(x.get_double(i)) ? std::isnan(r.outputs[0].get_double(i))
                                              : got == static_cast<uint16_t>(i);
        bad += ok ? 0 : 1;
      }
      EXPECT_EQ(bad, 0) << dtype_name(dt) << " " << r.tactic;
    }
  }
  // int32 -> int64 -> int32 and int8 -> float32 -> int8 are identities.
  std::mt19937 rng(5);
  HostTensor i32(DataType::kInt32, {1000});
  for (int i = 0; i < 1000; ++i) i32.as<int32_t>()[i] = static_cast<int32_t>(rng());
  auto wide = run_cpu_tactics(cast_case(i32, DataType::kInt64));
  ASSERT_TRUE(wide.is_ok());
  check(cast_case((*wide)[1].outputs[0], DataType::kInt32), i32, "int32 round trip");
  HostTensor i8(DataType::kInt8, {256});
  for (int i = 0; i < 256; ++i) i8.as<int8_t>()[i] = static_cast<int8_t>(i - 128);
  auto f = run_cpu_tactics(cast_case(i8, DataType::kFloat32));
  ASSERT_TRUE(f.is_ok());
  check(cast_case((*f)[0].outputs[0], DataType::kInt8), i8, "int8 round trip");
}

TEST(Cast, SameTypeZeroSizeAndScalar) {
  std::mt19937 rng(3);
  HostTensor x = random_tensor(DataType::kInt64, {4, 3}, rng, -1000, 1000);
  check(cast_case(x, DataType::kInt64), x, "identity");
  check(cast_case(HostTensor(DataType::kFloat32, {0, 3}), DataType::kInt8),
        HostTensor(DataType::kInt8, {0, 3}), "zero size");
  check(cast_case(make_tensor(DataType::kFloat32, {}, {-3.5}), DataType::kInt32),
        make_tensor(DataType::kInt32, {}, {-3}), "scalar");
}

TEST(Cast, ShapeValues) {
  auto shape_value_of = [](HostTensor x, DataType to) -> std::optional<std::vector<ir::SymExpr>> {
    OpCase c = cast_case(std::move(x), to);
    c.constant = {true};
    auto g = make_graph(c);
    EXPECT_TRUE(g.is_ok()) << g.status().to_string();
    if (!g.is_ok()) return std::nullopt;
    return g->value(g->node(0).outputs[0]).shape_value;
  };
  HostTensor dims = make_tensor(DataType::kInt64, {3}, {2, 3, 4});
  auto sv = shape_value_of(dims, DataType::kInt32);
  ASSERT_TRUE(sv.has_value());
  ASSERT_EQ(sv->size(), 3u);
  EXPECT_EQ((*sv)[2].value(), 4);
  EXPECT_FALSE(shape_value_of(dims, DataType::kFloat32).has_value());
  EXPECT_TRUE(shape_value_of(dims, DataType::kInt8).has_value());
  EXPECT_FALSE(shape_value_of(make_tensor(DataType::kInt64, {2}, {2, 300}), DataType::kInt8));
  // A symbolic shape value passes to int64/int32 but not to uint8 (it could not be checked).
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, {-1, 3});
  int s = g.add_value("s", DataType::kInt64, {2});
  g.value(s).shape_value = std::vector<ir::SymExpr>{g.value(x).shape[0], ir::SymExpr(3)};
  ir::Attrs a;
  a.set("to", std::string("int32"));
  int n = g.add_node("Cast", "c", {s}, 1, a);
  ASSERT_TRUE(g.infer_node(n).is_ok());
  const auto& out = g.value(g.node(n).outputs[0]).shape_value;
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE((*out)[0].same_as(g.value(x).shape[0]));
  a.set("to", std::string("uint8"));
  int n2 = g.add_node("Cast", "c2", {s}, 1, a);
  ASSERT_TRUE(g.infer_node(n2).is_ok());
  EXPECT_FALSE(g.value(g.node(n2).outputs[0]).shape_value.has_value());
}

TEST(Cast, Errors) {
  std::mt19937 rng(1);
  OpCase c = cast_case(random_tensor(DataType::kFloat32, {2}, rng), DataType::kInt32);
  c.attrs.set("to", std::string("float64"));
  auto g = make_graph(c);
  ASSERT_FALSE(g.is_ok());
  EXPECT_NE(g.status().to_string().find("unknown dtype 'float64'"), std::string::npos);
  c.attrs.erase("to");
  g = make_graph(c);
  ASSERT_FALSE(g.is_ok());
  EXPECT_NE(g.status().to_string().find("attribute 'to'"), std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::cast_test

namespace kiln::testing::cast_test {
namespace {

TEST(Cast, ThreadedChunks) {
  std::mt19937 rng(18);
  ThreadPool pool(4);
  for (auto [src, dst] : {std::pair{DataType::kFloat32, DataType::kInt32},
                          std::pair{DataType::kFloat32, DataType::kBFloat16},
                          std::pair{DataType::kInt64, DataType::kFloat16},
                          std::pair{DataType::kInt32, DataType::kInt32}}) {
    HostTensor x = random_tensor(src, {100003}, rng, -1000, 1000);
    HostTensor want(dst, x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
      store_from_double(want.data(), dst, i, expected_value(x.get_double(i), src, dst));
    }
    check(cast_case(x, dst), want, "threaded", &pool);
  }
}

}  // namespace
}  // namespace kiln::testing::cast_test
