// Squeeze: axes from the attribute or a constant input, negative axes, no axes (static 1s),
// every dtype, zero-size dims, shape value pass-through, and errors.
#include "data_movement_util.h"

namespace kiln::testing::squeeze_test {
namespace {

OpCase squeeze_case(HostTensor x, std::optional<std::vector<int64_t>> axes, bool as_input) {
  OpCase c;
  c.op = "Squeeze";
  c.inputs.push_back(std::move(x));
  if (axes && as_input) {
    c.inputs.push_back(ints(DataType::kInt64, *axes));
    c.constant = {false, true};
  } else if (axes) {
    c.attrs.set("axes", *axes);
  }
  return c;
}

void expect_error(const OpCase& c, const std::string& needle) {
  auto g = make_graph(c);
  ASSERT_FALSE(g.is_ok()) << needle;
  EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
}

TEST(Squeeze, AxesEveryDtype) {
  struct Case {
    Dims in;
    std::optional<std::vector<int64_t>> axes;
    Dims want;
  };
  const Case cases[] = {
      {{1, 3, 1, 2}, std::vector<int64_t>{0}, {3, 1, 2}},
      {{1, 3, 1, 2}, std::vector<int64_t>{-2, 0}, {3, 2}},
      {{1, 3, 1, 2}, std::nullopt, {3, 2}},
      {{1, 1}, std::nullopt, {}},
      {{1}, std::vector<int64_t>{-1}, {}},
      {{0, 1, 4}, std::vector<int64_t>{1}, {0, 4}},
      {{0, 1, 4}, std::nullopt, {0, 4}},
      {{2, 3}, std::nullopt, {2, 3}},
      {{2, 3}, std::vector<int64_t>{}, {2, 3}},  // empty axes: nothing to squeeze
  };
  std::mt19937 rng(4);
  for (const Case& k : cases) {
    for (bool as_input : {false, true}) {
      for (DataType dt : all_dtypes()) {
        OpCase c = squeeze_case(pattern_tensor(dt, k.in, rng), k.axes, as_input);
        auto runs = run_cpu_tactics(c);
        ASSERT_TRUE(runs.is_ok()) << k.in.to_string() << ": " << runs.status().to_string();
        ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"Squeeze/cpu-ref/reference"});
        HostTensor want(dt, k.want);
        for (int64_t i = 0; i < want.numel(); ++i) copy_element(c.inputs[0], i, want, i);
        EXPECT_TRUE(same((*runs)[0].outputs[0], want)) << k.in.to_string() << dtype_name(dt);
      }
    }
  }
}

TEST(Squeeze, DynamicDims) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 1, -1});
  ir::Attrs a;
  a.set("axes", std::vector<int64_t>{1});
  int y = g.node(g.add_node("Squeeze", "sq", {x}, 1, a)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok());
  EXPECT_EQ(*ir::eval_shape(g.value(y).shape, std::vector<int64_t>{4, 5}),
            (std::vector<int64_t>{4, 5}));
  // Without axes a dynamic dim cannot be decided.
  ir::Graph g2;
  int x2 = g2.add_input("x", DataType::kFloat32, Dims{-1, 1});
  g2.add_node("Squeeze", "sq", {x2}, 1);
  Status st = g2.infer_shapes();
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.to_string().find("dynamic"), std::string::npos) << st.to_string();
  EXPECT_NE(st.to_string().find("dim 0"), std::string::npos) << st.to_string();
}

TEST(Squeeze, ShapeValue) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 7});
  int s = g.node(g.add_node("Shape", "s", {x}, 1,
                            [] {
                              ir::Attrs a;
                              a.set("end", int64_t{1});
                              return a;
                            }()))
              .outputs[0];  // [N], shape [1]
  int y = g.node(g.add_node("Squeeze", "sq", {s}, 1)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok());
  EXPECT_EQ(g.value(y).shape.size(), 0u);
  ASSERT_TRUE(g.value(y).shape_value.has_value());
  EXPECT_EQ(*(*g.value(y).shape_value)[0].eval(std::vector<int64_t>{12}), 12);
}

TEST(Squeeze, Errors) {
  std::mt19937 rng(1);
  auto x = pattern_tensor(DataType::kFloat32, {1, 3}, rng);
  expect_error(squeeze_case(x, std::vector<int64_t>{1}, false), "extent is 3, not 1");
  expect_error(squeeze_case(x, std::vector<int64_t>{2}, false), "axis 2 is out of range");
  expect_error(squeeze_case(x, std::vector<int64_t>{-3}, true), "axis -3 is out of range");
  expect_error(squeeze_case(x, std::vector<int64_t>{0, -2}, false), "repeated");
  OpCase c = squeeze_case(x, std::vector<int64_t>{0}, true);
  c.constant = {false, false};
  expect_error(c, "must be a constant");
  c.inputs[1] = make_tensor(DataType::kFloat32, {1}, {0});
  c.constant = {false, true};
  expect_error(c, "axes input must be int64");
  expect_error(squeeze_case(HostTensor(DataType::kFloat32, {}), std::vector<int64_t>{0}, false),
               "out of range");
}

}  // namespace
}  // namespace kiln::testing::squeeze_test
