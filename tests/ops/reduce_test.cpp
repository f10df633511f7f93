// Reduce: every op, dtype and CPU tactic against a naive computation written here (each output's
// values gathered into a list, then reduced), axes from the attribute and from input 1.
#include "common/op_harness.h"
#include "common/pool_runner.h"

#include <cmath>
#include <limits>

namespace kiln::testing::reduce_test {
namespace {

const char* const kOps[] = {"sum",        "mean", "max", "min",        "prod",
                            "sum_square", "l1",   "l2",  "log_sum_exp"};
constexpr DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

bool int_op(const std::string& op) {
  return op == "sum" || op == "max" || op == "min" || op == "prod";
}

double reduce_list(const std::string& op, const std::vector<double>& v) {
  double r = 0;
  if (op == "sum")
    for (double x : v) r += x;
  if (op == "mean") {
    for (double x : v) r += x;
    r /= static_cast<double>(v.size());  // NaN for an empty list
  }
  if (op == "max") {
    r = -INFINITY;
    for (double x : v) r = (std::isnan(r) || std::isnan(x)) ? NAN : std::max(r, x);
  }
  if (op == "min") {
    r = INFINITY;
    for (double x : v) r = (std::isnan(r) || std::isnan(x)) ? NAN : std::min(r, x);
  }
  if (op == "prod") {
    r = 1;
    for (double x : v) r *= x;
  }
  if (op == "sum_square")
    for (double x : v) r += x * x;
  if (op == "l1")
    for (double x : v) r += std::fabs(x);
  if (op == "l2") {
    for (double x : v) r += x * x;
    r = std::sqrt(r);
  }
  if (op == "log_sum_exp") {
    for (double x : v) r += std::exp(x);  // inputs are small: no max-shift needed here
    r = std::log(r);
  }
  return r;
}

// Integer reductions wrap like the target type; max/min of nothing are the type's extremes.
int64_t reduce_int_list(const std::string& op, const std::vector<int64_t>& v, DataType dt) {
  int64_t lo = dt == DataType::kInt32 ? std::numeric_limits<int32_t>::min()
                                      : std::numeric_limits<int64_t>::min();
  int64_t hi = dt == DataType::kInt32 ? std::numeric_limits<int32_t>::max()
                                      : std::numeric_limits<int64_t>::max();
  uint64_t acc = op == "prod" ? 1 : 0;
  int64_t best = op == "max" ? lo : hi;
  for (int64_t x : v) {
    if (op == "sum") acc += static_cast<uint64_t>(x);
    if (op == "prod") acc *= static_cast<uint64_t>(x);
    if (op == "max") best = std::max(best, x);
    if (op == "min") best = std::min(best, x);
  }
  if (op == "max" || op == "min") return best;
  return dt == DataType::kInt32 ? static_cast<int32_t>(acc) : static_cast<int64_t>(acc);
}

// Naive: output coordinate of each input element = its coordinates with reduced dims dropped
// (or zeroed with keepdims).
HostTensor expected_reduce(const HostTensor& x, const std::string& op, std::vector<bool> reduced,
                           bool keepdims) {
  const Dims& d = x.shape();
  std::vector<int64_t> od;
  for (int i = 0; i < d.rank(); ++i) {
    if (!reduced[i])
      od.push_back(d[i]);
    else if (keepdims)
      od.push_back(1);
  }
  HostTensor y(x.dtype(), Dims(std::span<const int64_t>(od)));
  std::vector<std::vector<double>> lists(y.numel());
  std::vector<std::vector<int64_t>> ilists(y.numel());
  for (int64_t e = 0; e < x.numel(); ++e) {
    std::vector<int64_t> coord(d.rank());
    int64_t rest = e;
    for (int i = d.rank() - 1; i >= 0; --i) {
      coord[i] = rest % d[i];
      rest /= d[i];
    }
    int64_t o = 0;
    for (int i = 0; i < d.rank(); ++i) {
      if (!reduced[i]) o = o * d[i] + coord[i];
    }
    lists[o].push_back(x.get_double(e));
    ilists[o].push_back(x.get_int(e));
  }
  for (int64_t o = 0; o < y.numel(); ++o) {
    if (is_floating(x.dtype())) {
      store_from_double(y.data(), y.dtype(), o, reduce_list(op, lists[o]));
    } else if (x.dtype() == DataType::kInt32) {
      y.as<int32_t>()[o] = static_cast<int32_t>(reduce_int_list(op, ilists[o], x.dtype()));
    } else {
      y.as<int64_t>()[o] = reduce_int_list(op, ilists[o], x.dtype());
    }
  }
  return y;
}

OpCase reduce_case(HostTensor x, const std::string& op, std::vector<int64_t> axes, int keepdims = 1,
                   bool axes_as_input = false) {
  OpCase c;
  c.op = "Reduce";
  c.attrs.set("op", op);
  c.attrs.set("keepdims", int64_t{keepdims});
  c.inputs.push_back(std::move(x));
  if (axes_as_input) {
    HostTensor a(DataType::kInt64, {static_cast<int64_t>(axes.size())});
    for (size_t i = 0; i < axes.size(); ++i) a.as<int64_t>()[i] = axes[i];
    c.inputs.push_back(a);
    c.constant = {false, true};
  } else if (!axes.empty()) {
    c.attrs.set("axes", axes);
  }
  return c;
}

double tol_for(DataType dt) {
  return dt == DataType::kFloat32 ? 1e-4 : dt == DataType::kFloat16 ? 2e-3 : 1e-2;
}

void check(const OpCase& c, const HostTensor& want, double tol, const std::string& what,
           ThreadPool* pool = nullptr) {
  auto runs = pool ? run_cpu_tactics_threaded(c, pool) : run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(runs->size(), 2u) << what;
  EXPECT_EQ((*runs)[0].tactic, "Reduce/cpu-ref/reference");
  EXPECT_EQ((*runs)[1].tactic, "Reduce/cpu-opt/threaded");
  for (const auto& r : *runs) {
    EXPECT_TRUE(all_close(r.outputs[0], want, tol, tol)) << what << " " << r.tactic;
  }
}

std::vector<bool> reduced_set(int rank, const std::vector<int64_t>& axes) {
  std::vector<bool> r(rank, axes.empty());
  for (int64_t a : axes) r[a < 0 ? a + rank : a] = true;
  return r;
}

TEST(Reduce, RandomShapesAxesOpsDtypes) {
  std::mt19937 rng(31);
  int cases = 0;
  for (const char* op_name : kOps) {
    std::string op = op_name;
    std::vector<DataType> types(std::begin(kFloatTypes), std::end(kFloatTypes));
    if (int_op(op)) {
      types.push_back(DataType::kInt32);
      types.push_back(DataType::kInt64);
    }
    for (DataType dt : types) {
      for (int iter = 0; iter < 8; ++iter) {
        int rank = 1 + static_cast<int>(rng() % 4);
        std::vector<int64_t> dims(rank);
        for (auto& v : dims) v = 1 + rng() % 6;
        std::vector<int64_t> axes;  // random subset, some negative; empty = all
        for (int i = 0; i < rank; ++i) {
          if (rng() % 2) axes.push_back(rng() % 2 ? i : i - rank);
        }
        int keepdims = static_cast<int>(rng() % 2);
        bool as_input = rng() % 2;
        double lo = op == "prod" ? (is_floating(dt) ? 0.5 : -2) : -3, hi = op == "prod" ? 1.5 : 3;
        if (op == "prod" && !is_floating(dt)) hi = 2;
        HostTensor x = random_tensor(dt, Dims(std::span<const int64_t>(dims)), rng, lo, hi);
        std::string what = op + " " + x.shape().to_string() + " axes " +
                           std::to_string(axes.size()) + " keepdims " + std::to_string(keepdims) +
                           (as_input ? " (input)" : " (attr)") + " " + std::string(dtype_name(dt));
        check(reduce_case(x, op, axes, keepdims, as_input),
              expected_reduce(x, op, reduced_set(rank, axes), keepdims), tol_for(dt), what);
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 9 * 3 * 8 + 4 * 2 * 8);
}

TEST(Reduce, FastPathLayouts) {
  // [O, R] rows, [O, R, I] and [R, I] columns (I above the column block), long rows with tails,
  // and size-1 dims that the fast path must see through.
  struct Layout {
    Dims shape;
    std::vector<int64_t> axes;
  };
  const Layout layouts[] = {{{5, 1029}, {1}},      {{3, 37, 130}, {1}}, {{70, 9}, {0}},
                            {{2, 1, 300, 1}, {2}}, {{4, 6, 5}, {1, 2}}, {{4, 6, 5}, {0, 2}},
                            {{1, 1, 7}, {0, 1}}};
  std::mt19937 rng(9);
  for (const Layout& l : layouts) {
    for (const char* op_name : kOps) {
      std::string op = op_name;
      for (DataType dt : kFloatTypes) {
        HostTensor x =
            random_tensor(dt, l.shape, rng, op == "prod" ? 0.97 : -2, op == "prod" ? 1.03 : 2);
        double tol = tol_for(dt);
        if (dt == DataType::kFloat32 && x.numel() > 1000) tol = 3e-4;  // float sums of ~1000
        check(reduce_case(x, op, l.axes, 0),
              expected_reduce(x, op, reduced_set(l.shape.rank(), l.axes), false), tol,
              op + " " + l.shape.to_string() + " " + std::string(dtype_name(dt)));
      }
    }
  }
}

TEST(Reduce, NoopWithEmptyAxesAndDefaultAll) {
  std::mt19937 rng(2);
  HostTensor x = random_tensor(DataType::kFloat32, {3, 4}, rng, -2, 2);
  for (const char* op_name : kOps) {
    std::string op = op_name;
    OpCase c = reduce_case(x, op, {}, 1);
    c.attrs.set("noop_with_empty_axes", int64_t{1});
    // Reducing over no axes: each element alone.
    HostTensor want(DataType::kFloat32, {3, 4});
    for (int64_t i = 0; i < 12; ++i) {
      store_from_double(want.data(), want.dtype(), i, reduce_list(op, {x.get_double(i)}));
    }
    check(c, want, 1e-5, op + " noop");
    // Default: empty axes reduce everything.
    check(reduce_case(x, op, {}, 0), expected_reduce(x, op, {true, true}, false), 1e-4,
          op + " all");
    // An empty constant axes input behaves the same.
    check(reduce_case(x, op, {}, 1, true), expected_reduce(x, op, {true, true}, true), 1e-4,
          op + " all (input)");
  }
}

TEST(Reduce, ZeroSizeDims) {
  std::mt19937 rng(3);
  // Reducing an empty dim gives each op's value over an empty set.
  const std::pair<const char*, double> empty_values[] = {
      {"sum", 0},        {"mean", NAN}, {"max", -INFINITY}, {"min", INFINITY},         {"prod", 1},
      {"sum_square", 0}, {"l1", 0},     {"l2", 0},          {"log_sum_exp", -INFINITY}};
  for (auto [op, v] : empty_values) {
    HostTensor x(DataType::kFloat32, {3, 0});
    HostTensor want(DataType::kFloat32, {3});
    for (int i = 0; i < 3; ++i) store_from_double(want.data(), want.dtype(), i, v);
    check(reduce_case(x, op, {-1}, 0), want, 0, std::string(op) + " empty");
    // An empty kept dim: empty output.
    HostTensor z(DataType::kFloat32, {0, 3});
    check(reduce_case(z, op, {1}, 1), HostTensor(DataType::kFloat32, {0, 1}), 0,
          std::string(op) + " empty output");
  }
  HostTensor xi(DataType::kInt32, {2, 0});
  HostTensor want_max = make_tensor(DataType::kInt32, {2, 1}, {0, 0});
  want_max.as<int32_t>()[0] = want_max.as<int32_t>()[1] = std::numeric_limits<int32_t>::min();
  check(reduce_case(xi, "max", {1}, 1), want_max, 0, "int max empty");
}

TEST(Reduce, NaNPropagatesThroughMaxMin) {
  HostTensor x = make_tensor(DataType::kFloat32, {2, 3}, {1, NAN, 3, 4, 5, 6});
  check(reduce_case(x, "max", {1}, 0), make_tensor(DataType::kFloat32, {2}, {NAN, 6}), 0, "max");
  check(reduce_case(x, "min", {1}, 0), make_tensor(DataType::kFloat32, {2}, {NAN, 4}), 0, "min");
  // log_sum_exp is stable for large inputs: log(e^1000 + e^1000) = 1000 + log 2.
  HostTensor big = make_tensor(DataType::kFloat32, {2}, {1000, 1000});
  check(reduce_case(big, "log_sum_exp", {0}, 0),
        make_tensor(DataType::kFloat32, {}, {1000 + std::log(2.0)}), 1e-6, "lse large");
}

TEST(Reduce, IntegerWrapAround) {
  HostTensor x = make_tensor(DataType::kInt32, {2}, {2147483647, 1});
  check(reduce_case(x, "sum", {0}, 0), make_tensor(DataType::kInt32, {}, {-2147483648.0}), 0,
        "int32 sum wraps");
}

TEST(Reduce, Errors) {
  std::mt19937 rng(1);
  HostTensor x = random_tensor(DataType::kFloat32, {2, 3}, rng);
  auto msg = [](const OpCase& c) {
    auto g = make_graph(c);
    return g.is_ok() ? std::string("OK") : g.status().to_string();
  };
  EXPECT_NE(msg(reduce_case(x, "median", {0})).find("unknown reduce op 'median'"),
            std::string::npos);
  EXPECT_NE(msg(reduce_case(x, "sum", {2})).find("reduce axis 2 is out of range"),
            std::string::npos);
  EXPECT_NE(msg(reduce_case(x, "sum", {-3}, 1, true)).find("out of range"), std::string::npos);
  EXPECT_NE(msg(reduce_case(x, "sum", {1, -1})).find("repeated"), std::string::npos);
  HostTensor xi = random_tensor(DataType::kInt32, {2, 3}, rng);
  EXPECT_NE(msg(reduce_case(xi, "mean", {0})).find("does not support dtype int32"),
            std::string::npos);
  EXPECT_NE(msg(reduce_case(random_tensor(DataType::kUInt8, {2}, rng), "sum", {0})).find("uint8"),
            std::string::npos);
  OpCase runtime_axes = reduce_case(x, "sum", {0}, 1, true);
  runtime_axes.constant = {false, false};
  EXPECT_NE(msg(runtime_axes).find("axes must be a constant or a shape value"), std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::reduce_test

namespace kiln::testing::reduce_test {
namespace {

TEST(Reduce, ThreadedChunks) {
  std::mt19937 rng(14);
  ThreadPool pool(4);
  struct Case {
    Dims shape;
    std::vector<int64_t> axes;
    DataType dt;
  };
  const Case cases[] = {{{300, 500}, {1}, DataType::kFloat32},
                        {{10, 400, 300}, {1}, DataType::kFloat32},
                        {{30, 20, 40}, {0, 2}, DataType::kFloat16},
                        {{300, 500}, {1}, DataType::kInt32}};
  for (const Case& k : cases) {
    for (const char* op : {"sum", "max", "log_sum_exp"}) {
      if (!is_floating(k.dt) && std::string(op) == "log_sum_exp") continue;
      HostTensor x = random_tensor(k.dt, k.shape, rng, -2, 2);
      check(reduce_case(x, op, k.axes, 1),
            expected_reduce(x, op, reduced_set(k.shape.rank(), k.axes), true),
            k.dt == DataType::kFloat32 ? 3e-4 : tol_for(k.dt),
            std::string(op) + " " + k.shape.to_string() + " threaded", &pool);
    }
  }
}

}  // namespace
}  // namespace kiln::testing::reduce_test
