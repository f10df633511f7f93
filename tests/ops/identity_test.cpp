// Identity: exact copies of every dtype, scalars and zero-size tensors, shape value pass-through.
#include "data_movement_util.h"

namespace kiln::testing::identity_test {
namespace {

TEST(Identity, EveryDtype) {
  std::mt19937 rng(5);
  for (DataType dt : all_dtypes()) {
    for (Dims d : {Dims{}, Dims{0}, Dims{3, 0, 2}, Dims{7}, Dims{2, 3, 4}}) {
      OpCase c;
      c.op = "Identity";
      c.inputs.push_back(pattern_tensor(dt, d, rng));
      auto runs = run_cpu_tactics(c);
      ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
      ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"Identity/cpu-ref/reference"});
      EXPECT_TRUE(same((*runs)[0].outputs[0], c.inputs[0])) << dtype_name(dt) << d.to_string();
    }
  }
}

TEST(Identity, PassesShapeValue) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 4});
  int s = g.node(g.add_node("Shape", "s", {x}, 1)).outputs[0];
  int y = g.node(g.add_node("Identity", "id", {s}, 1)).outputs[0];
  int k = g.add_constant("k", ints(DataType::kInt32, {4, 5}));
  int z = g.node(g.add_node("Identity", "idk", {k}, 1)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok());
  ASSERT_TRUE(g.value(y).shape_value.has_value());
  EXPECT_EQ(*ir::eval_shape(*g.value(y).shape_value, std::vector<int64_t>{6}),
            (std::vector<int64_t>{6, 4}));
  ASSERT_TRUE(g.value(z).shape_value.has_value());  // small int constants count as shape values
  EXPECT_EQ(g.value(z).dtype, DataType::kInt32);
  EXPECT_EQ((*g.value(z).shape_value)[1].value(), 5);
}

TEST(Identity, Errors) {
  std::mt19937 rng(1);
  OpCase c;
  c.op = "Identity";
  c.inputs = {pattern_tensor(DataType::kFloat32, {2}, rng),
              pattern_tensor(DataType::kFloat32, {2}, rng)};
  EXPECT_FALSE(make_graph(c).is_ok());
  // The copy kernel refuses buffers of different sizes instead of overrunning.
  c.inputs.pop_back();
  auto g = make_graph(c);
  ASSERT_TRUE(g.is_ok());
  HostTensor out(DataType::kFloat32, {3});
  std::vector<TensorView> ins = {c.inputs[0].view()}, outs = {out.view()};
  Status st = ops::run_reference(*g, g->node(0), ins, outs);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.to_string().find("differ in size"), std::string::npos) << st.to_string();
}

}  // namespace
}  // namespace kiln::testing::identity_test
