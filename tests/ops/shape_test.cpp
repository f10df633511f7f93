// Shape: concrete dims written by the reference kernel, ONNX-15 start/end slicing, every dtype,
// and the symbolic shape value on dynamic inputs.
#include "data_movement_util.h"

namespace kiln::testing::shape_test {
namespace {

std::vector<int64_t> to_vector(const HostTensor& t) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.get_int(i));
  return v;
}

TEST(Shape, EveryDtypeRandomShapes) {
  std::mt19937 rng(11);
  for (DataType dt : all_dtypes()) {
    for (int rank = 0; rank <= 5; ++rank) {
      Dims d = random_dims(rng, rank, 0, 4);
      OpCase c;
      c.op = "Shape";
      c.inputs.push_back(pattern_tensor(dt, d, rng));
      auto runs = run_cpu_tactics(c);
      ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
      ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"Shape/cpu-ref/reference"});
      const HostTensor& out = (*runs)[0].outputs[0];
      EXPECT_EQ(out.dtype(), DataType::kInt64);
      EXPECT_EQ(out.shape(), Dims{rank});
      EXPECT_EQ(to_vector(out), d.to_vector()) << d.to_string();
    }
  }
}

TEST(Shape, StartEndSlicing) {
  struct Case {
    std::optional<int64_t> start, end;
    std::vector<int64_t> want;
  };
  // Input dims [2,3,4,5].
  const Case cases[] = {
      {std::nullopt, std::nullopt, {2, 3, 4, 5}},
      {1, std::nullopt, {3, 4, 5}},
      {std::nullopt, -1, {2, 3, 4}},
      {-2, -1, {4}},
      {-10, 2, {2, 3}},     // clamped to 0
      {1, 100, {3, 4, 5}},  // clamped to rank
      {3, 1, {}},           // empty
      {4, std::nullopt, {}},
      {0, 0, {}},
  };
  std::mt19937 rng(1);
  for (const Case& k : cases) {
    OpCase c;
    c.op = "Shape";
    if (k.start) c.attrs.set("start", *k.start);
    if (k.end) c.attrs.set("end", *k.end);
    c.inputs.push_back(pattern_tensor(DataType::kFloat32, {2, 3, 4, 5}, rng));
    auto runs = run_cpu_tactics(c);
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    EXPECT_EQ(to_vector((*runs)[0].outputs[0]), k.want)
        << "start " << k.start.value_or(999) << " end " << k.end.value_or(999);
  }
}

TEST(Shape, SymbolicShapeValue) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 3, -1});
  ir::Attrs a;
  a.set("start", int64_t{1});
  int n = g.add_node("Shape", "s", {x}, 1, a);
  int full = g.add_node("Shape", "full", {x}, 1);
  ASSERT_TRUE(g.infer_shapes().is_ok());
  const ir::Value& v = g.value(g.node(n).outputs[0]);
  EXPECT_EQ(v.dtype, DataType::kInt64);
  ASSERT_EQ(v.shape.size(), 1u);
  EXPECT_EQ(v.shape[0].value(), 2);  // the shape of Shape is static even for dynamic inputs
  ASSERT_TRUE(v.shape_value.has_value());
  auto got = ir::eval_shape(*v.shape_value, std::vector<int64_t>{5, 9});
  EXPECT_EQ(*got, (std::vector<int64_t>{3, 9}));
  const ir::Value& f = g.value(g.node(full).outputs[0]);
  EXPECT_EQ(*ir::eval_shape(*f.shape_value, std::vector<int64_t>{5, 9}),
            (std::vector<int64_t>{5, 3, 9}));
}

TEST(Shape, Errors) {
  std::mt19937 rng(1);
  OpCase c;
  c.op = "Shape";
  c.inputs = {pattern_tensor(DataType::kFloat32, {2}, rng),
              pattern_tensor(DataType::kFloat32, {2}, rng)};
  auto g = make_graph(c);
  ASSERT_FALSE(g.is_ok());
  EXPECT_NE(g.status().to_string().find("expects 1 input"), std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::shape_test
