// Split: the ONNX examples, random cases (every dtype, axes incl. negative, sizes from the input
// (int32 / int64), the attribute, num_outputs with an uneven last piece, equal split) against
// naive slicing, zero-size pieces, symbolic extents and shape values, and errors.
#include "data_movement_util.h"

namespace kiln::testing::split_test {
namespace {

// form 0: equal split; 1: split input int64; 2: split input int32; 3: attribute "split";
// 4: num_outputs.
OpCase split_case(const HostTensor& x, int64_t axis, const std::vector<int64_t>& sizes, int form) {
  OpCase c;
  c.op = "Split";
  c.attrs.set("axis", axis);
  c.inputs.push_back(x);
  c.num_outputs = static_cast<int>(sizes.size());
  if (form == 1 || form == 2) {
    c.inputs.push_back(ints(form == 1 ? DataType::kInt64 : DataType::kInt32, sizes));
    c.constant = {false, true};
  } else if (form == 3) {
    c.attrs.set("split", sizes);
  } else if (form == 4) {
    c.attrs.set("num_outputs", static_cast<int64_t>(sizes.size()));
  }
  return c;
}

std::vector<HostTensor> naive_split(const HostTensor& x, int64_t axis,
                                    const std::vector<int64_t>& sizes) {
  const Dims& d = x.shape();
  if (axis < 0) axis += d.rank();
  std::vector<HostTensor> out;
  int64_t at = 0;
  for (int64_t len : sizes) {
    std::vector<int64_t> od = d.to_vector();
    od[axis] = len;
    HostTensor y(x.dtype(), dims_of(od));
    for (int64_t o = 0; o < y.numel(); ++o) {
      auto idx = unravel(o, y.shape());
      idx[axis] += at;
      copy_element(x, ravel(idx, d), y, o);
    }
    at += len;
    out.push_back(std::move(y));
  }
  return out;
}

void check(const HostTensor& x, int64_t axis, const std::vector<int64_t>& sizes, int form,
           const std::string& what) {
  const auto want = naive_split(x, axis, sizes);
  auto runs = run_cpu_tactics(split_case(x, axis, sizes, form));
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"Split/cpu-ref/reference"});
  ASSERT_EQ((*runs)[0].outputs.size(), want.size());
  for (size_t k = 0; k < want.size(); ++k) {
    EXPECT_TRUE(same((*runs)[0].outputs[k], want[k])) << what << " output " << k;
  }
}

HostTensor iota(DataType dt, const Dims& d) {
  HostTensor t(dt, d);
  for (int64_t i = 0; i < t.numel(); ++i) store_from_double(t.data(), dt, i, i + 1);
  return t;
}

TEST(Split, OnnxExamples) {
  const HostTensor v = iota(DataType::kFloat32, {6});
  const HostTensor m = iota(DataType::kFloat32, {2, 6});
  // equal_parts_1d / 2d, variable_parts_1d / 2d (hand values from the ONNX tests).
  auto runs = run_cpu_tactics(split_case(v, 0, {2, 2, 2}, 0));
  ASSERT_TRUE(runs.is_ok());
  EXPECT_TRUE(same((*runs)[0].outputs[1], make_tensor(DataType::kFloat32, {2}, {3, 4})));
  runs = run_cpu_tactics(split_case(m, 1, {3, 3}, 0));
  ASSERT_TRUE(runs.is_ok());
  EXPECT_TRUE(
      same((*runs)[0].outputs[0], make_tensor(DataType::kFloat32, {2, 3}, {1, 2, 3, 7, 8, 9})));
  EXPECT_TRUE(
      same((*runs)[0].outputs[1], make_tensor(DataType::kFloat32, {2, 3}, {4, 5, 6, 10, 11, 12})));
  runs = run_cpu_tactics(split_case(m, 1, {2, 4}, 1));
  ASSERT_TRUE(runs.is_ok());
  EXPECT_TRUE(same((*runs)[0].outputs[0], make_tensor(DataType::kFloat32, {2, 2}, {1, 2, 7, 8})));
  EXPECT_TRUE(same((*runs)[0].outputs[1],
                   make_tensor(DataType::kFloat32, {2, 4}, {3, 4, 5, 6, 9, 10, 11, 12})));
  // Opset 18 num_outputs: 7 into 4 pieces of ceil(7/4) = 2, the last 1.
  const HostTensor seven = iota(DataType::kInt32, {7});
  runs = run_cpu_tactics(split_case(seven, 0, {2, 2, 2, 1}, 4));
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  EXPECT_TRUE(same((*runs)[0].outputs[3], make_tensor(DataType::kInt32, {1}, {7})));
  // zero_size_splits.
  check(HostTensor(DataType::kFloat32, {0}), 0, {0, 0, 0}, 1, "zero size");
}

TEST(Split, RandomEveryDtype) {
  std::mt19937 rng(17);
  for (int iter = 0; iter < 150; ++iter) {
    const int rank = 1 + static_cast<int>(rng() % 4);
    const Dims d = random_dims(rng, rank, 0, 6);
    const int64_t axis = static_cast<int64_t>(rng() % rank);
    const int64_t extent = d[static_cast<int>(axis)];
    const int form = static_cast<int>(rng() % 5);
    std::vector<int64_t> sizes;
    if (form == 0) {
      const int64_t n = extent == 0 ? 1 + rng() % 3 : 1;
      for (int64_t k = 0; k < std::max<int64_t>(n, 1); ++k)
        sizes.push_back(extent / std::max<int64_t>(n, 1));
      if (extent % 2 == 0 && extent > 0) sizes.assign(2, extent / 2);
    } else if (form == 4) {
      const int64_t n = 1 + static_cast<int64_t>(rng() % 4);
      const int64_t chunk = (extent + n - 1) / n;
      if (chunk * (n - 1) > extent) continue;  // no valid uneven split
      sizes.assign(n, chunk);
      sizes.back() = extent - chunk * (n - 1);
    } else {
      int64_t left = extent;
      const int n = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < n - 1; ++k) {
        const int64_t len = static_cast<int64_t>(rng() % (left + 1));
        sizes.push_back(len);
        left -= len;
      }
      sizes.push_back(left);
    }
    const DataType dt = all_dtypes()[rng() % all_dtypes().size()];
    const int64_t a = rng() % 2 ? axis : axis - rank;
    check(pattern_tensor(dt, d, rng), a, sizes, form,
          "iter " + std::to_string(iter) + " " + d.to_string() + " form " + std::to_string(form));
  }
}

TEST(Split, SymbolicExtentsAndShapeValues) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 3});
  ir::Attrs a;
  a.set("num_outputs", int64_t{3});
  const int n_id = g.add_node("Split", "s", {x}, 3, a);  // ids: adding nodes moves them
  // Shape value: Shape(x) = [s0, 3] split into [1, 1].
  int sh = g.node(g.add_node("Shape", "sh", {x}, 1)).outputs[0];
  const int m_id = g.add_node("Split", "t", {sh}, 2);
  ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
  const ir::Node& n = g.node(n_id);
  const ir::Node& m = g.node(m_id);
  for (int64_t d = 0; d <= 12; ++d) {
    const int64_t chunk = (d + 2) / 3;
    if (chunk * 2 > d) continue;  // the uneven rule has no valid split
    std::vector<int64_t> sym = {d};
    EXPECT_EQ(*g.value(n.outputs[0]).shape[0].eval(sym), chunk);
    EXPECT_EQ(*g.value(n.outputs[2]).shape[0].eval(sym), d - 2 * chunk);
  }
  ASSERT_TRUE(g.value(m.outputs[0]).shape_value.has_value());
  ASSERT_TRUE(g.value(m.outputs[1]).shape_value.has_value());
  EXPECT_EQ(*ir::eval_shape(*g.value(m.outputs[0]).shape_value, std::vector<int64_t>{5}),
            std::vector<int64_t>{5});
  EXPECT_EQ(*ir::eval_shape(*g.value(m.outputs[1]).shape_value, std::vector<int64_t>{5}),
            std::vector<int64_t>{3});
  // Extent 1 into 3 pieces of 1: the last is clamped to 0 and the kernel reports the mismatch.
  EXPECT_EQ(*g.value(n.outputs[2]).shape[0].eval(std::vector<int64_t>{1}), 0);
  auto values =
      interpret(g, {{x, HostTensor(DataType::kFloat32, {1, 3})}}, std::vector<int64_t>{1});
  ASSERT_FALSE(values.is_ok());
  EXPECT_NE(values.status().to_string().find("split pieces sum to 2"), std::string::npos)
      << values.status().to_string();
}

TEST(Split, Errors) {
  std::mt19937 rng(1);
  const HostTensor x = pattern_tensor(DataType::kFloat32, {4, 6}, rng);
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  expect_error(split_case(x, 1, {2, 3}, 1), "split sizes sum to 5 but axis 1 has extent 6");
  expect_error(split_case(x, 1, {7, -1}, 1), "is negative");
  expect_error(split_case(x, 2, {2, 4}, 1), "axis 2 is out of range");
  expect_error(split_case(x, 1, {2, 2, 2, 2}, 0), "not divisible into 4 equal pieces");
  expect_error(split_case(x, 1, {2, 2, 2, 2, 0}, 4), "cannot split extent 6 into 5 pieces of 2");
  OpCase c = split_case(x, 1, {3, 3}, 1);
  c.num_outputs = 3;
  expect_error(c, "split has 2 sizes but the node has 3 outputs");
  c = split_case(x, 1, {3, 3}, 1);
  c.attrs.set("num_outputs", int64_t{2});
  expect_error(c, "mutually exclusive");
  c = split_case(x, 1, {3, 3}, 4);
  c.num_outputs = 3;
  expect_error(c, "num_outputs is 2 but the node has 3 outputs");
  c = split_case(x, 1, {3, 3}, 1);
  c.constant[1] = false;
  expect_error(c, "data-dependent split sizes are unsupported");
  expect_error(split_case(make_tensor(DataType::kFloat32, {}, {1}), 0, {1}, 0), "scalar");
}

}  // namespace
}  // namespace kiln::testing::split_test
