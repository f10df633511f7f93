// Unsqueeze: axes from the attribute or a constant input, negative axes (against the output
// rank), every dtype, scalars and zero-size dims, shape value pass-through, and errors.
#include "data_movement_util.h"

namespace kiln::testing::unsqueeze_test {
namespace {

OpCase unsqueeze_case(HostTensor x, std::vector<int64_t> axes, bool as_input) {
  OpCase c;
  c.op = "Unsqueeze";
  c.inputs.push_back(std::move(x));
  if (as_input) {
    c.inputs.push_back(ints(DataType::kInt32, axes));
    c.constant = {false, true};
  } else {
    c.attrs.set("axes", std::move(axes));
  }
  return c;
}

void expect_error(const OpCase& c, const std::string& needle) {
  auto g = make_graph(c);
  ASSERT_FALSE(g.is_ok()) << needle;
  EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
}

// Expected output shape by inserting 1s at the normalized axes, written independently.
Dims expected_shape(const Dims& in, std::vector<int64_t> axes) {
  const int64_t out_rank = in.rank() + static_cast<int64_t>(axes.size());
  for (auto& a : axes) a = a < 0 ? a + out_rank : a;
  std::vector<int64_t> out;
  int next = 0;
  for (int64_t d = 0; d < out_rank; ++d) {
    bool ins = std::find(axes.begin(), axes.end(), d) != axes.end();
    out.push_back(ins ? 1 : in[next++]);
  }
  return Dims(std::span<const int64_t>(out));
}

TEST(Unsqueeze, AxesEveryDtype) {
  const std::pair<Dims, std::vector<int64_t>> cases[] = {
      {{3, 4}, {0}}, {{3, 4}, {-1}}, {{3, 4}, {1, 3}}, {{3, 4}, {-4, 2}},
      {{}, {0}},     {{}, {0, -1}},  {{0, 2}, {1}},    {{5}, {0, 1, 2, 3}},
  };
  std::mt19937 rng(8);
  for (const auto& [in, axes] : cases) {
    for (bool as_input : {false, true}) {
      for (DataType dt : all_dtypes()) {
        OpCase c = unsqueeze_case(pattern_tensor(dt, in, rng), axes, as_input);
        auto runs = run_cpu_tactics(c);
        ASSERT_TRUE(runs.is_ok()) << in.to_string() << ": " << runs.status().to_string();
        ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"Unsqueeze/cpu-ref/reference"});
        HostTensor want(dt, expected_shape(in, axes));
        for (int64_t i = 0; i < want.numel(); ++i) copy_element(c.inputs[0], i, want, i);
        EXPECT_TRUE(same((*runs)[0].outputs[0], want)) << in.to_string() << dtype_name(dt);
      }
    }
  }
}

TEST(Unsqueeze, DynamicAndShapeValue) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 3});
  int s = g.node(g.add_node("Shape", "s", {x}, 1)).outputs[0];
  int i0 = g.add_constant("i0", int64_scalar(0));
  int n = g.node(g.add_node("Gather", "n", {s, i0}, 1)).outputs[0];  // scalar N
  ir::Attrs a;
  a.set("axes", std::vector<int64_t>{0});
  int u = g.node(g.add_node("Unsqueeze", "u", {n}, 1, a)).outputs[0];
  a.set("axes", std::vector<int64_t>{-1, 1});
  int ux = g.node(g.add_node("Unsqueeze", "ux", {x}, 1, a)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok());
  ASSERT_EQ(g.value(u).shape.size(), 1u);
  EXPECT_EQ(g.value(u).shape[0].value(), 1);
  ASSERT_TRUE(g.value(u).shape_value.has_value());
  EXPECT_EQ(*(*g.value(u).shape_value)[0].eval(std::vector<int64_t>{6}), 6);
  EXPECT_EQ(*ir::eval_shape(g.value(ux).shape, std::vector<int64_t>{6}),
            (std::vector<int64_t>{6, 1, 3, 1}));
}

TEST(Unsqueeze, Errors) {
  std::mt19937 rng(1);
  auto x = pattern_tensor(DataType::kFloat32, {2, 3}, rng);
  expect_error(unsqueeze_case(x, {3}, false), "axis 3 is out of range for output rank 3");
  expect_error(unsqueeze_case(x, {-4}, true), "axis -4 is out of range");
  expect_error(unsqueeze_case(x, {1, -3}, false), "repeated");  // -3 + 4 = 1
  expect_error(unsqueeze_case(x, {0, 1, 2, 3, 4, 5, 6}, false), "exceeds 8");
  OpCase c;
  c.op = "Unsqueeze";
  c.inputs.push_back(x);
  expect_error(c, "needs axes");
  OpCase d = unsqueeze_case(x, {0}, true);
  d.constant = {false, false};
  expect_error(d, "must be a constant");
}

}  // namespace
}  // namespace kiln::testing::unsqueeze_test
