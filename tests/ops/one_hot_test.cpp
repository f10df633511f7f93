// OneHot: the ONNX examples (axes, negative indices, float depth), random cases (index dtypes,
// value dtypes, axes incl. negative, out-of-range indices) against a naive comparison, symbolic
// depth from a shape program, and errors.
#include "data_movement_util.h"

#include <cmath>

namespace kiln::testing::one_hot_test {
namespace {

OpCase one_hot_case(const HostTensor& idx, const HostTensor& depth, const HostTensor& values,
                    int64_t axis) {
  OpCase c;
  c.op = "OneHot";
  c.attrs.set("axis", axis);
  c.inputs = {idx, depth, values};
  c.constant = {false, true, false};
  return c;
}

HostTensor naive_one_hot(const HostTensor& idx, int64_t depth, const HostTensor& values,
                         int64_t axis) {
  const Dims& d = idx.shape();
  const int r = d.rank();
  if (axis < 0) axis += r + 1;
  std::vector<int64_t> od = d.to_vector();
  od.insert(od.begin() + axis, depth);
  HostTensor y(values.dtype(), dims_of(od));
  for (int64_t o = 0; o < y.numel(); ++o) {
    auto oi = unravel(o, y.shape());
    const int64_t k = oi[axis];
    oi.erase(oi.begin() + axis);
    double v = std::trunc(idx.get_double(ravel(oi, d)));
    if (v < 0) v += static_cast<double>(depth);
    copy_element(values, v == static_cast<double>(k) ? 1 : 0, y, o);
  }
  return y;
}

TEST(OneHot, OnnxExamples) {
  const HostTensor values = make_tensor(DataType::kFloat32, {2}, {1, 3});
  const HostTensor depth10 = make_tensor(DataType::kFloat32, {}, {10});
  const HostTensor idx = make_tensor(DataType::kFloat32, {2, 2}, {1, 9, 2, 4});
  std::vector<double> want(40, 1);
  // Output [2, 10, 2]: y[i, idx[i, j], j] = 3.
  want[0 * 20 + 1 * 2 + 0] = 3;
  want[0 * 20 + 9 * 2 + 1] = 3;
  want[1 * 20 + 2 * 2 + 0] = 3;
  want[1 * 20 + 4 * 2 + 1] = 3;
  for (int64_t axis : {1, -2}) {
    auto runs = run_cpu_tactics(one_hot_case(idx, depth10, values, axis));
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"OneHot/cpu-ref/reference"});
    EXPECT_TRUE(same((*runs)[0].outputs[0], make_tensor(DataType::kFloat32, {2, 10, 2}, want)));
  }
  // negative_indices: [0, -7, -8] with depth 10 -> rows hot at 0, 3, 2.
  const HostTensor neg = make_tensor(DataType::kInt64, {3}, {0, -7, -8});
  auto runs = run_cpu_tactics(one_hot_case(neg, depth10, values, 1));
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  std::vector<double> w2(30, 1);
  w2[0] = w2[13] = w2[22] = 3;
  EXPECT_TRUE(same((*runs)[0].outputs[0], make_tensor(DataType::kFloat32, {3, 10}, w2)));
  // without_axis: int32 values [2, 5], depth 12, indices [0, 7, 8].
  runs = run_cpu_tactics(one_hot_case(make_tensor(DataType::kInt64, {3}, {0, 7, 8}),
                                      make_tensor(DataType::kFloat32, {}, {12}),
                                      make_tensor(DataType::kInt32, {2}, {2, 5}), -1));
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  std::vector<double> w3(36, 2);
  w3[0] = w3[12 + 7] = w3[24 + 8] = 5;
  EXPECT_TRUE(same((*runs)[0].outputs[0], make_tensor(DataType::kInt32, {3, 12}, w3)));
}

TEST(OneHot, RandomDtypes) {
  std::mt19937 rng(53);
  const DataType idx_types[] = {DataType::kInt64, DataType::kInt32,   DataType::kInt8,
                                DataType::kUInt8, DataType::kFloat32, DataType::kFloat16};
  for (int iter = 0; iter < 120; ++iter) {
    const int rank = static_cast<int>(rng() % 4);
    const Dims d = random_dims(rng, rank, iter % 17 == 0 ? 0 : 1, 4);
    const int64_t depth = 1 + static_cast<int64_t>(rng() % 6);
    const DataType it = idx_types[rng() % 6];
    HostTensor idx(it, d);
    for (int64_t i = 0; i < idx.numel(); ++i) {
      double v = static_cast<double>(static_cast<int>(rng() % (4 * depth + 1)) - 2 * depth);
      if (it == DataType::kUInt8) v = std::fabs(v);
      if (is_floating(it) && rng() % 2) v += v < 0 ? -0.5 : 0.5;  // truncated toward zero
      store_from_double(idx.data(), it, i, v);
    }
    const DataType vt = all_dtypes()[rng() % all_dtypes().size()];
    const HostTensor values = pattern_tensor(vt, {2}, rng);
    const HostTensor depth_t =
        rng() % 2 ? make_tensor(DataType::kInt64, {1}, {static_cast<double>(depth)})
                  : make_tensor(DataType::kFloat32, {}, {static_cast<double>(depth)});
    const int64_t axis = static_cast<int64_t>(rng() % (rank + 1)) - (rng() % 2 ? rank + 1 : 0);
    auto runs = run_cpu_tactics(one_hot_case(idx, depth_t, values, axis));
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    EXPECT_TRUE(same((*runs)[0].outputs[0], naive_one_hot(idx, depth, values, axis)))
        << "iter " << iter << " " << d.to_string() << " axis " << axis;
  }
}

TEST(OneHot, SymbolicDepth) {
  // depth = Shape(z)[0]: classes from a dynamic dim.
  ir::Graph g;
  int idx = g.add_input("idx", DataType::kInt64, Dims{3});
  int z = g.add_input("z", DataType::kFloat32, Dims{-1});
  int vals = g.add_constant("vals", make_tensor(DataType::kFloat32, {2}, {0, 1}));
  int s = g.node(g.add_node("Shape", "s", {z}, 1)).outputs[0];
  int i0 = g.add_constant("i0", make_tensor(DataType::kInt64, {}, {0}));
  int depth = g.node(g.add_node("Gather", "d", {s, i0}, 1)).outputs[0];
  int y = g.node(g.add_node("OneHot", "o", {idx, depth, vals}, 1)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
  const HostTensor iv = make_tensor(DataType::kInt64, {3}, {0, 4, -1});
  auto values =
      interpret(g, {{idx, iv}, {z, HostTensor(DataType::kFloat32, {5})}}, std::vector<int64_t>{5});
  ASSERT_TRUE(values.is_ok()) << values.status().to_string();
  EXPECT_TRUE(same((*values)[y], naive_one_hot(iv, 5, *g.value(vals).constant, -1)));
}

TEST(OneHot, Errors) {
  const HostTensor idx = make_tensor(DataType::kInt64, {3}, {0, 1, 2});
  const HostTensor depth = make_tensor(DataType::kInt64, {}, {4});
  const HostTensor values = make_tensor(DataType::kFloat32, {2}, {0, 1});
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  expect_error(one_hot_case(idx, depth, values, 2), "axis 2 is out of range for output rank 2");
  expect_error(one_hot_case(idx, make_tensor(DataType::kInt64, {}, {0}), values, -1),
               "depth must be >= 1");
  expect_error(one_hot_case(idx, depth, make_tensor(DataType::kFloat32, {3}, {0, 1, 2}), -1),
               "values must be 1-D with 2 elements");
  expect_error(one_hot_case(idx, ints(DataType::kInt64, {2, 2}), values, -1),
               "depth must be a scalar");
  expect_error(one_hot_case(make_tensor(DataType::kBool, {2}, {0, 1}), depth, values, -1),
               "indices must not be bool");
  OpCase c = one_hot_case(idx, depth, values, -1);
  c.constant[1] = false;
  expect_error(c, "data-dependent depth is unsupported");
}

}  // namespace
}  // namespace kiln::testing::one_hot_test
