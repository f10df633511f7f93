// Range: the ONNX examples, random integer and float ranges (every dtype, negative deltas, empty
// ranges) against a naive loop, symbolic lengths from shape values (start / limit symbolic),
// output shape values, and errors.
#include "data_movement_util.h"

#include <cmath>

namespace kiln::testing::range_test {
namespace {

HostTensor scalar(DataType dt, double v) {
  HostTensor t(dt, {});
  store_from_double(t.data(), dt, 0, v);
  return t;
}

OpCase range_case(DataType dt, double start, double limit, double delta) {
  OpCase c;
  c.op = "Range";
  c.inputs = {scalar(dt, start), scalar(dt, limit), scalar(dt, delta)};
  c.constant = {true, true, true};
  return c;
}

// The spec's loop: values start, start + delta, ... while on the start side of limit.
HostTensor naive_range(DataType dt, double start, double limit, double delta) {
  std::vector<double> v;
  for (int64_t i = 0;; ++i) {
    const double x = start + static_cast<double>(i) * delta;
    if (delta > 0 ? x >= limit : x <= limit) break;
    v.push_back(x);
  }
  return make_tensor(dt, {static_cast<int64_t>(v.size())}, v);
}

void check(DataType dt, double start, double limit, double delta, const std::string& what) {
  auto runs = run_cpu_tactics(range_case(dt, start, limit, delta));
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"Range/cpu-ref/reference"});
  EXPECT_TRUE(same((*runs)[0].outputs[0], naive_range(dt, start, limit, delta))) << what;
}

TEST(Range, OnnxExamples) {
  auto runs = run_cpu_tactics(range_case(DataType::kFloat32, 1, 5, 2));
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  EXPECT_TRUE(same((*runs)[0].outputs[0], make_tensor(DataType::kFloat32, {2}, {1, 3})));
  runs = run_cpu_tactics(range_case(DataType::kInt32, 10, 6, -3));
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  EXPECT_TRUE(same((*runs)[0].outputs[0], make_tensor(DataType::kInt32, {2}, {10, 7})));
}

TEST(Range, RandomEveryDtype) {
  std::mt19937 rng(41);
  for (int iter = 0; iter < 200; ++iter) {
    const DataType dts[] = {DataType::kInt32, DataType::kInt64, DataType::kFloat32,
                            DataType::kFloat16, DataType::kBFloat16};
    const DataType dt = dts[rng() % 5];
    const double start = static_cast<double>(static_cast<int>(rng() % 41) - 20);
    const double limit = static_cast<double>(static_cast<int>(rng() % 41) - 20);
    double delta = static_cast<double>(static_cast<int>(rng() % 9) - 4);
    if (delta == 0) delta = 3;
    if (is_floating(dt) && rng() % 2) delta *= 0.5;  // exact in every float type
    check(dt, start, limit, delta,
          "iter " + std::to_string(iter) + " " + std::string(dtype_name(dt)) + " " +
              std::to_string(start) + ":" + std::to_string(limit) + ":" + std::to_string(delta));
  }
  // Float lengths: ceil((1 - 0) / 0.1f) = 10 (limit - start in float, the division in double).
  auto runs = run_cpu_tactics(range_case(DataType::kFloat32, 0, 1, 0.1f));
  ASSERT_TRUE(runs.is_ok());
  EXPECT_EQ((*runs)[0].outputs[0].numel(), 10);
  EXPECT_NEAR((*runs)[0].outputs[0].get_double(9), 0.9, 1e-6);
}

TEST(Range, SymbolicLengthAndShapeValues) {
  // Range(0, N, 1) and Range(N, 1, -2) with N = Shape(x)[0] dynamic; Range(1, 4, 1) constant has
  // a shape value.
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 2});
  int s = g.node(g.add_node("Shape", "s", {x}, 1)).outputs[0];
  int i0 = g.add_constant("i0", make_tensor(DataType::kInt64, {}, {0}));
  int n = g.node(g.add_node("Gather", "n", {s, i0}, 1)).outputs[0];
  int zero = g.add_constant("zero", scalar(DataType::kInt64, 0));
  int one = g.add_constant("one", scalar(DataType::kInt64, 1));
  int m2 = g.add_constant("m2", scalar(DataType::kInt64, -2));
  int four = g.add_constant("four", scalar(DataType::kInt64, 4));
  int up = g.node(g.add_node("Range", "up", {zero, n, one}, 1)).outputs[0];
  int down = g.node(g.add_node("Range", "down", {n, one, m2}, 1)).outputs[0];
  int c = g.node(g.add_node("Range", "c", {one, four, one}, 1)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
  for (int64_t nv = 0; nv <= 9; ++nv) {
    const std::vector<int64_t> sym = {nv};
    EXPECT_EQ(*g.value(up).shape[0].eval(sym), nv);
    EXPECT_EQ(*g.value(down).shape[0].eval(sym), naive_range(DataType::kInt64, nv, 1, -2).numel())
        << nv;
    auto values = interpret(g, {{x, HostTensor(DataType::kFloat32, {nv, 2})}}, sym);
    ASSERT_TRUE(values.is_ok()) << values.status().to_string();
    EXPECT_TRUE(same((*values)[down], naive_range(DataType::kInt64, nv, 1, -2))) << nv;
    EXPECT_TRUE(same((*values)[up], naive_range(DataType::kInt64, 0, nv, 1))) << nv;
  }
  ASSERT_TRUE(g.value(c).shape_value.has_value());
  EXPECT_EQ(*ir::eval_shape(*g.value(c).shape_value, {}), (std::vector<int64_t>{1, 2, 3}));
}

TEST(Range, Errors) {
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  expect_error(range_case(DataType::kInt64, 0, 5, 0), "delta is 0");
  expect_error(range_case(DataType::kFloat32, 0, 5, 0), "delta is 0");
  expect_error(range_case(DataType::kBool, 0, 1, 1), "inputs must be float32");
  OpCase c = range_case(DataType::kInt64, 0, 5, 1);
  c.inputs[1] = scalar(DataType::kInt32, 5);
  expect_error(c, "limit has dtype int32 but start has int64");
  c = range_case(DataType::kInt64, 0, 5, 1);
  c.constant[1] = false;
  expect_error(c, "a data-dependent range length is unsupported");
  c = range_case(DataType::kFloat32, 0, 5, 1);
  c.constant[2] = false;
  expect_error(c, "a data-dependent range length is unsupported");
  c = range_case(DataType::kInt64, 0, 5, 1);
  c.inputs[0] = ints(DataType::kInt64, {0, 1});
  expect_error(c, "start must be a scalar");
  expect_error(range_case(DataType::kFloat32, 0, INFINITY, 1), "is not a valid extent");
}

}  // namespace
}  // namespace kiln::testing::range_test
