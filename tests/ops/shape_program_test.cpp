// Shape programs: the Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains that PyTorch
// exports produce, built by hand on a dynamic input. Shape inference must give the Reshape a
// symbolic shape that evaluates right for every input size, and every shape tensor's shape value
// must agree with what the reference kernels compute when the tensors are materialized.
#include "data_movement_util.h"

namespace kiln::testing::shape_program_test {
namespace {

int out_of(const ir::Graph& g, int node) {
  return g.node(node).outputs[0];
}

ir::Attrs attrs_int(const char* name, int64_t v) {
  ir::Attrs a;
  a.set(name, v);
  return a;
}
ir::Attrs attrs_ints(const char* name, std::vector<int64_t> v) {
  ir::Attrs a;
  a.set(name, std::move(v));
  return a;
}

// Checks, for concrete symbol values, that the graph's shape values equal the materialized
// shape tensors and that every value's symbolic shape matches the kernels' outputs.
void check_materialized(const ir::Graph& g, int x, const std::vector<int64_t>& symbols) {
  std::mt19937 rng(3);
  auto dims = ir::eval_shape(g.value(x).shape, symbols);
  ASSERT_TRUE(dims.is_ok());
  HostTensor input = pattern_tensor(g.value(x).dtype, Dims(std::span<const int64_t>(*dims)), rng);
  auto values = interpret(g, {{x, input}}, symbols);
  ASSERT_TRUE(values.is_ok()) << values.status().to_string();
  for (int v = 0; v < g.num_values(); ++v) {
    const ir::Value& val = g.value(v);
    if (!val.shape_value) continue;
    const HostTensor& t = (*values)[v];
    ASSERT_EQ(t.numel(), static_cast<int64_t>(val.shape_value->size())) << val.name;
    for (int64_t i = 0; i < t.numel(); ++i) {
      auto want = (*val.shape_value)[i].eval(symbols);
      ASSERT_TRUE(want.is_ok());
      EXPECT_EQ(t.get_int(i), *want) << val.name << "[" << i << "]";
    }
  }
}

// x[-1,3,-1] -> Shape -> Gather(0) -> Unsqueeze(0) -> Concat([-1]) -> Reshape(x): [N, 3*W].
TEST(ShapeProgram, GatherUnsqueezeConcatReshape) {
  for (bool axes_as_input : {false, true}) {
    ir::Graph g;
    int x = g.add_input("x", DataType::kFloat32, Dims{-1, 3, -1});
    int shape = out_of(g, g.add_node("Shape", "shape", {x}, 1));
    int i0 = g.add_constant("i0", int64_scalar(0));
    int dim0 = out_of(g, g.add_node("Gather", "gather", {shape, i0}, 1, attrs_int("axis", 0)));
    int unsq;
    if (axes_as_input) {
      int axes = g.add_constant("axes", ints(DataType::kInt64, {0}));
      unsq = out_of(g, g.add_node("Unsqueeze", "unsq", {dim0, axes}, 1));
    } else {
      unsq = out_of(g, g.add_node("Unsqueeze", "unsq", {dim0}, 1, attrs_ints("axes", {0})));
    }
    int m1 = g.add_constant("m1", ints(DataType::kInt64, {-1}));
    int cat = out_of(g, g.add_node("Concat", "cat", {unsq, m1}, 1, attrs_int("axis", 0)));
    int y = out_of(g, g.add_node("Reshape", "reshape", {x, cat}, 1));
    g.mark_output(y);
    ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();

    // Every intermediate is a host-evaluated shape tensor.
    EXPECT_TRUE(g.value(shape).shape_value.has_value());
    EXPECT_TRUE(g.value(dim0).shape_value.has_value());
    EXPECT_EQ(g.value(dim0).shape.size(), 0u);
    EXPECT_TRUE(g.value(unsq).shape_value.has_value());
    ASSERT_TRUE(g.value(cat).shape_value.has_value());
    EXPECT_EQ(g.value(cat).shape_value->size(), 2u);
    EXPECT_FALSE(g.value(y).shape_value.has_value());  // float data, not a shape tensor

    const ir::SymShape& ys = g.value(y).shape;
    ASSERT_EQ(ys.size(), 2u);
    for (auto [n, w] : {std::pair<int64_t, int64_t>{1, 1}, {2, 5}, {7, 3}, {16, 128}}) {
      auto got = ir::eval_shape(ys, std::vector<int64_t>{n, w});
      ASSERT_TRUE(got.is_ok()) << got.status().to_string();
      EXPECT_EQ(*got, (std::vector<int64_t>{n, 3 * w})) << "N=" << n << " W=" << w;
      check_materialized(g, x, {n, w});
    }
    // The common factor cancels: no division left, so N = 0 evaluates too.
    auto zero = ir::eval_shape(ys, std::vector<int64_t>{0, 4});
    ASSERT_TRUE(zero.is_ok()) << zero.status().to_string();
    EXPECT_EQ(*zero, (std::vector<int64_t>{0, 12}));
  }
}

// x[-1,-1,8] (batch, seq, hidden) -> [batch, seq, 2, 4] via Shape -> Slice(0:2) -> Concat([2,4]);
// then back with Shape -> Gather([0,1]) -> Concat([-1]) and a Transpose/Expand on the way.
TEST(ShapeProgram, SliceConcatReshapeRoundTrip) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat16, Dims{-1, -1, 8});
  int shape = out_of(g, g.add_node("Shape", "shape", {x}, 1));
  ir::Attrs sl;
  sl.set("starts", std::vector<int64_t>{0});
  sl.set("ends", std::vector<int64_t>{2});
  int bs = out_of(g, g.add_node("Slice", "bs", {shape}, 1, sl));
  int heads = g.add_constant("heads", ints(DataType::kInt64, {2, 4}));
  int target = out_of(g, g.add_node("Concat", "target", {bs, heads}, 1, attrs_int("axis", 0)));
  int split = out_of(g, g.add_node("Reshape", "split", {x, target}, 1));
  int tr = out_of(g, g.add_node("Transpose", "tr", {split}, 1, attrs_ints("perm", {0, 2, 1, 3})));
  int shape2 = out_of(g, g.add_node("Shape", "shape2", {split}, 1));
  int idx = g.add_constant("idx", ints(DataType::kInt64, {0, -3}));  // negative index wraps
  int picked = out_of(g, g.add_node("Gather", "picked", {shape2, idx}, 1));
  int m1 = g.add_constant("m1", ints(DataType::kInt64, {-1}));
  int target2 = out_of(g, g.add_node("Concat", "target2", {picked, m1}, 1, attrs_int("axis", 0)));
  int merged = out_of(g, g.add_node("Reshape", "merged", {split, target2}, 1));
  g.mark_output(tr);
  g.mark_output(merged);
  ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
  ASSERT_TRUE(g.value(target).shape_value.has_value());
  ASSERT_TRUE(g.value(target2).shape_value.has_value());
  for (auto [b, s] : {std::pair<int64_t, int64_t>{1, 1}, {3, 5}, {2, 17}}) {
    std::vector<int64_t> sym = {b, s};
    EXPECT_EQ(*ir::eval_shape(g.value(split).shape, sym), (std::vector<int64_t>{b, s, 2, 4}));
    EXPECT_EQ(*ir::eval_shape(g.value(tr).shape, sym), (std::vector<int64_t>{b, 2, s, 4}));
    EXPECT_EQ(*ir::eval_shape(g.value(merged).shape, sym), (std::vector<int64_t>{b, s, 8}));
    check_materialized(g, x, sym);
  }
}

// Slice bounds from the shape program: x[:, : W-1] with W symbolic, and a shape tensor expanded
// and filled by ConstantOfShape.
TEST(ShapeProgram, SymbolicSliceBoundsAndConstantOfShape) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kInt8, Dims{2, -1});
  int shape = out_of(g, g.add_node("Shape", "shape", {x}, 1, attrs_int("start", -1)));  // [W]
  int zero = g.add_constant("zero", ints(DataType::kInt64, {0}));
  int ax = g.add_constant("ax", ints(DataType::kInt64, {1}));
  int st = g.add_constant("st", ints(DataType::kInt64, {2}));
  int sl = out_of(g, g.add_node("Slice", "sl", {x, zero, shape, ax, st}, 1));  // x[:, 0:W:2]
  int fill = out_of(g, g.add_node("ConstantOfShape", "fill", {shape}, 1, [] {
    ir::Attrs a;
    a.set("value", 7.0);
    a.set("dtype", std::string("int64"));
    return a;
  }()));
  int ex_shape = g.add_constant("ex_shape", ints(DataType::kInt64, {3, 1, 1}));
  int ex = out_of(g, g.add_node("Expand", "ex", {x, ex_shape}, 1));
  g.mark_output(sl);
  g.mark_output(fill);
  g.mark_output(ex);
  ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
  EXPECT_EQ(g.value(sl).shape.size(), 2u);
  for (int64_t w : {1, 2, 5, 8}) {
    std::vector<int64_t> sym = {w};
    EXPECT_EQ(*ir::eval_shape(g.value(sl).shape, sym), (std::vector<int64_t>{2, (w + 1) / 2}));
    EXPECT_EQ(*ir::eval_shape(g.value(fill).shape, sym), (std::vector<int64_t>{w}));
    EXPECT_EQ(*ir::eval_shape(g.value(ex).shape, sym), (std::vector<int64_t>{3, 2, w}))
        << "Expand broadcasts [2,W] with [3,1,1] bidirectionally";
    check_materialized(g, x, sym);
  }
}

// A data-dependent shape (from a graph input that is not a shape tensor) is refused clearly.
TEST(ShapeProgram, DataDependentShapeIsAnError) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{4, 6});
  int s = g.add_input("s", DataType::kInt64, Dims{2});
  int y = out_of(g, g.add_node("Reshape", "reshape", {x, s}, 1));
  g.mark_output(y);
  Status st = g.infer_shapes();
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.to_string().find("data-dependent"), std::string::npos) << st.to_string();
  EXPECT_NE(st.to_string().find("reshape"), std::string::npos) << st.to_string();
}

}  // namespace
}  // namespace kiln::testing::shape_program_test
