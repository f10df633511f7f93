// CumSum: the ONNX examples (exclusive / reverse / axes), random cases (every supported dtype,
// negative axes, int32 / int64 axis) against a naive double sum, integer wrap-around, zero-size,
// and errors.
#include "data_movement_util.h"

#include <limits>

namespace kiln::testing::cumsum_test {
namespace {

OpCase cumsum_case(const HostTensor& x, int64_t axis, int64_t exclusive, int64_t reverse,
                   DataType adt = DataType::kInt32) {
  OpCase c;
  c.op = "CumSum";
  c.attrs.set("exclusive", exclusive);
  c.attrs.set("reverse", reverse);
  HostTensor a(adt, {});
  store_from_double(a.data(), adt, 0, static_cast<double>(axis));
  c.inputs = {x, a};
  c.constant = {false, true};
  return c;
}

HostTensor naive_cumsum(const HostTensor& x, int64_t axis, bool exclusive, bool reverse) {
  const Dims& d = x.shape();
  if (axis < 0) axis += d.rank();
  HostTensor y(x.dtype(), d);
  for (int64_t o = 0; o < x.numel(); ++o) {
    auto idx = unravel(o, d);
    const int64_t at = idx[axis];
    double sum = 0;
    for (int64_t i = 0; i < d[static_cast<int>(axis)]; ++i) {
      const bool in = reverse ? (exclusive ? i > at : i >= at) : (exclusive ? i < at : i <= at);
      if (!in) continue;
      idx[axis] = i;
      sum += x.get_double(ravel(idx, d));
    }
    store_from_double(y.data(), y.dtype(), o, sum);
  }
  return y;
}

void check(const HostTensor& x, int64_t axis, bool exclusive, bool reverse, DataType adt,
           const std::string& what) {
  auto runs = run_cpu_tactics(cumsum_case(x, axis, exclusive, reverse, adt));
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"CumSum/cpu-ref/reference"});
  const HostTensor want = naive_cumsum(x, axis, exclusive, reverse);
  const double tol = x.dtype() == DataType::kFloat16    ? 1e-3
                     : x.dtype() == DataType::kBFloat16 ? 8e-3
                     : x.dtype() == DataType::kFloat32  ? 1e-6
                                                        : 0;
  EXPECT_TRUE(all_close((*runs)[0].outputs[0], want, tol, tol)) << what;
}

TEST(CumSum, OnnxExamples) {
  const HostTensor v = make_tensor(DataType::kFloat32, {5}, {1, 2, 3, 4, 5});
  auto run = [](const OpCase& c) {
    auto runs = run_cpu_tactics(c);
    EXPECT_TRUE(runs.is_ok()) << runs.status().to_string();
    return runs.is_ok() ? (*runs)[0].outputs[0] : HostTensor();
  };
  EXPECT_TRUE(
      same(run(cumsum_case(v, 0, 0, 0)), make_tensor(DataType::kFloat32, {5}, {1, 3, 6, 10, 15})));
  EXPECT_TRUE(
      same(run(cumsum_case(v, 0, 1, 0)), make_tensor(DataType::kFloat32, {5}, {0, 1, 3, 6, 10})));
  EXPECT_TRUE(
      same(run(cumsum_case(v, 0, 0, 1)), make_tensor(DataType::kFloat32, {5}, {15, 14, 12, 9, 5})));
  EXPECT_TRUE(
      same(run(cumsum_case(v, 0, 1, 1)), make_tensor(DataType::kFloat32, {5}, {14, 12, 9, 5, 0})));
  const HostTensor m = make_tensor(DataType::kFloat32, {2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(same(run(cumsum_case(m, 0, 0, 0)),
                   make_tensor(DataType::kFloat32, {2, 3}, {1, 2, 3, 5, 7, 9})));
  EXPECT_TRUE(same(run(cumsum_case(m, 1, 0, 0)),
                   make_tensor(DataType::kFloat32, {2, 3}, {1, 3, 6, 4, 9, 15})));
  EXPECT_TRUE(same(run(cumsum_case(m, -1, 0, 0, DataType::kInt64)),
                   make_tensor(DataType::kFloat32, {2, 3}, {1, 3, 6, 4, 9, 15})));
}

TEST(CumSum, RandomEveryDtype) {
  std::mt19937 rng(37);
  const DataType dts[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                          DataType::kInt32, DataType::kInt64};
  for (int iter = 0; iter < 150; ++iter) {
    const int rank = 1 + static_cast<int>(rng() % 4);
    const Dims d = random_dims(rng, rank, iter % 20 == 0 ? 0 : 1, 6);
    const DataType dt = dts[rng() % 5];
    const HostTensor x =
        is_floating(dt) ? random_tensor(dt, d, rng, -1, 1) : random_tensor(dt, d, rng, -1000, 1000);
    const int64_t axis = static_cast<int64_t>(rng() % rank);
    check(x, rng() % 2 ? axis : axis - rank, rng() % 2, rng() % 2,
          rng() % 2 ? DataType::kInt32 : DataType::kInt64,
          "iter " + std::to_string(iter) + " " + d.to_string() + " " + std::string(dtype_name(dt)));
  }
}

TEST(CumSum, IntegersWrap) {
  HostTensor x(DataType::kInt32, {3});
  x.as<int32_t>()[0] = std::numeric_limits<int32_t>::max();
  x.as<int32_t>()[1] = 1;
  x.as<int32_t>()[2] = 1;
  auto runs = run_cpu_tactics(cumsum_case(x, 0, 0, 0));
  ASSERT_TRUE(runs.is_ok());
  EXPECT_EQ((*runs)[0].outputs[0].as<int32_t>()[1], std::numeric_limits<int32_t>::min());
  EXPECT_EQ((*runs)[0].outputs[0].as<int32_t>()[2], std::numeric_limits<int32_t>::min() + 1);
  HostTensor y(DataType::kInt64, {2});
  y.as<int64_t>()[0] = std::numeric_limits<int64_t>::max();
  y.as<int64_t>()[1] = 1;
  runs = run_cpu_tactics(cumsum_case(y, 0, 0, 0));
  ASSERT_TRUE(runs.is_ok());
  EXPECT_EQ((*runs)[0].outputs[0].as<int64_t>()[1], std::numeric_limits<int64_t>::min());
}

TEST(CumSum, Errors) {
  const HostTensor x(DataType::kFloat32, {2, 3});
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  expect_error(cumsum_case(x, 2, 0, 0), "axis 2 is out of range for rank 2");
  expect_error(cumsum_case(x, 0, 2, 0), "'exclusive' must be 0 or 1");
  expect_error(cumsum_case(x, 0, 0, 5), "'reverse' must be 0 or 1");
  expect_error(cumsum_case(HostTensor(DataType::kInt8, {2}), 0, 0, 0),
               "X must be float32, float16, bfloat16, int32 or int64, got int8");
  OpCase c = cumsum_case(x, 0, 0, 0);
  c.constant[1] = false;
  expect_error(c, "axis input 'in1' must be a constant");
  c = cumsum_case(x, 0, 0, 0);
  c.inputs[1] = ints(DataType::kInt64, {0, 1});
  expect_error(c, "axis must be a scalar");
  c = cumsum_case(x, 0, 0, 0);
  c.inputs[1] = make_tensor(DataType::kFloat32, {}, {0});
  expect_error(c, "axis must be int64 or int32");
}

}  // namespace
}  // namespace kiln::testing::cumsum_test
