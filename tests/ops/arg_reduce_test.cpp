// ArgReduce (ArgMax / ArgMin): the ONNX examples, random cases (every numeric dtype, axes incl.
// negative, keepdims, select_last_index, many ties) against a naive scan, NaN handling,
// zero-size outer dims, and errors.
#include "data_movement_util.h"

#include <cmath>

namespace kiln::testing::arg_reduce_test {
namespace {

OpCase arg_case(const HostTensor& x, const std::string& op, int64_t axis, int64_t keepdims,
                int64_t last) {
  OpCase c;
  c.op = "ArgReduce";
  c.attrs.set("op", op);
  c.attrs.set("axis", axis);
  c.attrs.set("keepdims", keepdims);
  c.attrs.set("select_last_index", last);
  c.inputs = {x};
  return c;
}

HostTensor naive_arg(const HostTensor& x, const std::string& op, int64_t axis, bool keepdims,
                     bool last) {
  const Dims& d = x.shape();
  if (axis < 0) axis += d.rank();
  std::vector<int64_t> od, kd;
  for (int k = 0; k < d.rank(); ++k) {
    kd.push_back(k == axis ? 1 : d[k]);
    if (k != axis || keepdims) od.push_back(k == axis ? 1 : d[k]);
  }
  HostTensor y(DataType::kInt64, dims_of(od));
  const Dims kdims = dims_of(kd);
  for (int64_t o = 0; o < y.numel(); ++o) {
    auto idx = unravel(o, kdims);
    int64_t best = -1;
    double bv = 0;
    for (int64_t i = 0; i < d[static_cast<int>(axis)]; ++i) {
      idx[axis] = i;
      const double v = x.get_double(ravel(idx, d));
      bool take;
      if (best < 0) {
        take = true;
      } else if (std::isnan(bv) || std::isnan(v)) {
        take = std::isnan(v) && (!std::isnan(bv) || last);  // NaN is the extreme
      } else if (v == bv) {
        take = last;
      } else {
        take = op == "max" ? v > bv : v < bv;
      }
      if (take) {
        best = i;
        bv = v;
      }
    }
    y.as<int64_t>()[o] = best;
  }
  return y;
}

void check(const HostTensor& x, const std::string& op, int64_t axis, int64_t keepdims, int64_t last,
           const std::string& what) {
  auto runs = run_cpu_tactics(arg_case(x, op, axis, keepdims, last));
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"ArgReduce/cpu-ref/reference"});
  EXPECT_TRUE(same((*runs)[0].outputs[0], naive_arg(x, op, axis, keepdims, last))) << what;
}

TEST(ArgReduce, OnnxExamples) {
  const HostTensor a = make_tensor(DataType::kFloat32, {2, 2}, {2, 1, 3, 10});
  auto run = [](const OpCase& c) {
    auto runs = run_cpu_tactics(c);
    EXPECT_TRUE(runs.is_ok()) << runs.status().to_string();
    return runs.is_ok() ? (*runs)[0].outputs[0] : HostTensor();
  };
  // argmax_default_axis_example: axis 0, keepdims -> [[1, 1]].
  EXPECT_TRUE(
      same(run(arg_case(a, "max", 0, 1, 0)), make_tensor(DataType::kInt64, {1, 2}, {1, 1})));
  // argmax_keepdims_example: axis 1 -> [[0], [1]].
  EXPECT_TRUE(
      same(run(arg_case(a, "max", 1, 1, 0)), make_tensor(DataType::kInt64, {2, 1}, {0, 1})));
  // argmin_no_keepdims_example: axis 1 -> [1, 0].
  EXPECT_TRUE(same(run(arg_case(a, "min", 1, 0, 0)), make_tensor(DataType::kInt64, {2}, {1, 0})));
  // select_last_index examples: [[2, 2], [3, 10]].
  const HostTensor t = make_tensor(DataType::kFloat32, {2, 2}, {2, 2, 3, 10});
  EXPECT_TRUE(
      same(run(arg_case(t, "max", 1, 1, 1)), make_tensor(DataType::kInt64, {2, 1}, {1, 1})));
  EXPECT_TRUE(
      same(run(arg_case(t, "max", 1, 1, 0)), make_tensor(DataType::kInt64, {2, 1}, {0, 1})));
  EXPECT_TRUE(same(run(arg_case(t, "min", -1, 0, 1)), make_tensor(DataType::kInt64, {2}, {1, 0})));
}

TEST(ArgReduce, RandomEveryDtype) {
  std::mt19937 rng(29);
  const DataType dts[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                          DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,
                          DataType::kInt64};
  for (int iter = 0; iter < 200; ++iter) {
    const int rank = 1 + static_cast<int>(rng() % 4);
    Dims d = random_dims(rng, rank, 1, 5);
    const int64_t axis = static_cast<int64_t>(rng() % rank);
    const DataType dt = dts[rng() % 7];
    HostTensor x(dt, d);
    for (int64_t i = 0; i < x.numel(); ++i) {
      store_from_double(x.data(), dt, i, static_cast<double>(rng() % 5) - 2);  // many ties
    }
    check(x, rng() % 2 ? "max" : "min", rng() % 2 ? axis : axis - rank, rng() % 2, rng() % 2,
          "iter " + std::to_string(iter) + " " + d.to_string());
  }
  // Large int64 values compare exactly.
  const HostTensor big = make_tensor(DataType::kInt64, {3}, {0, 0, 0});
  big.as<int64_t>()[0] = (int64_t{1} << 62) + 1;
  big.as<int64_t>()[1] = (int64_t{1} << 62) + 2;
  big.as<int64_t>()[2] = (int64_t{1} << 62) + 1;
  auto runs = run_cpu_tactics(arg_case(big, "max", 0, 0, 0));
  ASSERT_TRUE(runs.is_ok());
  EXPECT_EQ((*runs)[0].outputs[0].as<int64_t>()[0], 1);
}

TEST(ArgReduce, NanAndZeroSize) {
  const double nan = std::nan("");
  const HostTensor x = make_tensor(DataType::kFloat32, {2, 4}, {1, nan, 3, nan, nan, 1, 2, 0});
  for (const char* op : {"max", "min"}) {
    for (int64_t last : {0, 1}) check(x, op, 1, 1, last, std::string("nan ") + op);
  }
  auto runs = run_cpu_tactics(arg_case(x, "min", 1, 0, 1));
  ASSERT_TRUE(runs.is_ok());
  EXPECT_TRUE(same((*runs)[0].outputs[0], make_tensor(DataType::kInt64, {2}, {3, 0})));
  // Zero-size non-reduced dims: empty output.
  check(HostTensor(DataType::kFloat32, {0, 3}), "max", 1, 1, 0, "zero outer");
}

TEST(ArgReduce, Errors) {
  const HostTensor x = make_tensor(DataType::kFloat32, {2, 3}, {});
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  expect_error(arg_case(x, "mean", 0, 1, 0), "attribute 'op' must be 'max' or 'min'");
  expect_error(arg_case(x, "max", 2, 1, 0), "axis 2 is out of range for rank 2");
  expect_error(arg_case(x, "max", -3, 1, 0), "axis -3 is out of range");
  expect_error(arg_case(x, "max", 0, 2, 0), "'keepdims' must be 0 or 1");
  expect_error(arg_case(x, "max", 0, 1, 3), "'select_last_index' must be 0 or 1");
  expect_error(arg_case(HostTensor(DataType::kFloat32, {3, 0}), "max", 1, 1, 0), "extent 0");
  expect_error(arg_case(make_tensor(DataType::kBool, {2}, {1, 0}), "max", 0, 1, 0), "bool");
  expect_error(arg_case(make_tensor(DataType::kFloat32, {}, {1}), "max", 0, 1, 0), "rank >= 1");
}

}  // namespace
}  // namespace kiln::testing::arg_reduce_test
