// Expand: bidirectional numpy broadcast of every dtype against a naive index mapping, random
// shape pairs, zero-size dims, symbolic shapes, shape values, and errors.
#include "data_movement_util.h"

namespace kiln::testing::expand_test {
namespace {

HostTensor naive_expand(const HostTensor& x, const std::vector<int64_t>& target) {
  const Dims& in = x.shape();
  const int r = std::max<int>(in.rank(), static_cast<int>(target.size()));
  std::vector<int64_t> od(r);
  for (int k = 0; k < r; ++k) {
    int64_t a = k - (r - in.rank()) >= 0 ? in[k - (r - in.rank())] : 1;
    int64_t b = k - (r - static_cast<int>(target.size())) >= 0
                    ? target[k - (r - static_cast<int>(target.size()))]
                    : 1;
    od[k] = a == 1 ? b : a;
  }
  const Dims out = dims_of(od);
  HostTensor y(x.dtype(), out);
  for (int64_t o = 0; o < y.numel(); ++o) {
    auto oi = unravel(o, out);
    std::vector<int64_t> ii(in.rank());
    for (int k = 0; k < in.rank(); ++k) {
      ii[k] = in[k] == 1 ? 0 : oi[k + (r - in.rank())];
    }
    copy_element(x, ravel(ii, in), y, o);
  }
  return y;
}

OpCase expand_case(HostTensor x, const std::vector<int64_t>& target,
                   DataType sdt = DataType::kInt64) {
  OpCase c;
  c.op = "Expand";
  c.inputs = {std::move(x), ints(sdt, target)};
  c.constant = {false, true};
  return c;
}

TEST(Expand, CasesEveryDtype) {
  const std::pair<Dims, std::vector<int64_t>> cases[] = {
      {{3, 1}, {2, 1, 6}},
      {{3, 1}, {3, 4}},
      {{1}, {5}},
      {{}, {2, 3}},
      {{2, 3}, {1, 1}},
      {{2, 3}, {}},
      {{4, 1, 5}, {4, 7, 1}},
      {{1, 3}, {0, 3}},
      {{0, 1}, {0, 4}},
      {{2, 1, 1, 3}, {2, 1, 2, 4, 3}},
  };
  std::mt19937 rng(71);
  for (const auto& [in, target] : cases) {
    for (DataType dt : all_dtypes()) {
      HostTensor x = pattern_tensor(dt, in, rng);
      auto runs =
          run_cpu_tactics(expand_case(x, target, rng() % 2 ? DataType::kInt32 : DataType::kInt64));
      ASSERT_TRUE(runs.is_ok()) << in.to_string() << ": " << runs.status().to_string();
      ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"Expand/cpu-ref/reference"});
      EXPECT_TRUE(same((*runs)[0].outputs[0], naive_expand(x, target)))
          << in.to_string() << " " << dtype_name(dt);
    }
  }
}

TEST(Expand, RandomPairs) {
  std::mt19937 rng(73);
  for (int iter = 0; iter < 60; ++iter) {
    const int r = static_cast<int>(rng() % 5);
    Dims full = random_dims(rng, r, 0, 4);
    std::vector<int64_t> xin, target;
    const int xr = static_cast<int>(rng() % (r + 1)), tr = static_cast<int>(rng() % (r + 1));
    for (int k = r - xr; k < r; ++k) xin.push_back(rng() % 2 ? full[k] : 1);
    for (int k = r - tr; k < r; ++k) target.push_back(rng() % 2 ? full[k] : 1);
    DataType dt = all_dtypes()[rng() % all_dtypes().size()];
    HostTensor x = pattern_tensor(dt, dims_of(xin), rng);
    auto runs = run_cpu_tactics(expand_case(x, target));
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    EXPECT_TRUE(same((*runs)[0].outputs[0], naive_expand(x, target)));
  }
}

TEST(Expand, SymbolicAndShapeValue) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 1});
  int w = g.add_input("w", DataType::kFloat32, Dims{-1});
  int s = g.node(g.add_node("Shape", "s", {w}, 1)).outputs[0];  // [W]
  int one = g.add_constant("one", ints(DataType::kInt64, {1}));
  ir::Attrs a;
  a.set("axis", int64_t{0});
  int target = g.node(g.add_node("Concat", "t", {one, s}, 1, a)).outputs[0];  // [1, W]
  int y = g.node(g.add_node("Expand", "e", {x, target}, 1)).outputs[0];
  // A scalar shape value broadcast to [3].
  int i0 = g.add_constant("i0", int64_scalar(0));
  int n = g.node(g.add_node("Gather", "n", {s, i0}, 1)).outputs[0];
  int three = g.add_constant("three", ints(DataType::kInt64, {3}));
  int rep = g.node(g.add_node("Expand", "rep", {n, three}, 1)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
  EXPECT_EQ(*ir::eval_shape(g.value(y).shape, std::vector<int64_t>{5, 7}),
            (std::vector<int64_t>{5, 7}));
  ASSERT_TRUE(g.value(rep).shape_value.has_value());
  EXPECT_EQ(*ir::eval_shape(*g.value(rep).shape_value, std::vector<int64_t>{5, 7}),
            (std::vector<int64_t>{7, 7, 7}));
}

TEST(Expand, Errors) {
  std::mt19937 rng(1);
  HostTensor x = pattern_tensor(DataType::kFloat32, {2, 3}, rng);
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  expect_error(expand_case(x, {2, 4}), "cannot be broadcast");
  expect_error(expand_case(x, {-1, 3}), "negative extent");
  OpCase c = expand_case(x, {2, 3});
  c.constant = {false, false};
  expect_error(c, "data-dependent expand shapes are unsupported");
  c.inputs[1] = make_tensor(DataType::kFloat32, {2}, {2, 3});
  c.constant = {false, true};
  expect_error(c, "shape input must be int64");
  c.inputs.pop_back();
  expect_error(c, "expects 2 inputs");
}

}  // namespace
}  // namespace kiln::testing::expand_test
