// Tile: the ONNX example, random cases (every dtype, ranks 1-5, zero repeats and zero-size dims,
// int32 / int64 repeats) against naive modular indexing, both tactics, symbolic extents from a
// shape program, shape values, and errors.
#include "data_movement_util.h"

namespace kiln::testing::tile_test {
namespace {

OpCase tile_case(const HostTensor& x, const std::vector<int64_t>& repeats,
                 DataType dt = DataType::kInt64) {
  OpCase c;
  c.op = "Tile";
  c.inputs = {x, ints(dt, repeats)};
  c.constant = {false, true};
  return c;
}

HostTensor naive_tile(const HostTensor& x, const std::vector<int64_t>& repeats) {
  const Dims& d = x.shape();
  std::vector<int64_t> od;
  for (int k = 0; k < d.rank(); ++k) od.push_back(d[k] * repeats[k]);
  HostTensor y(x.dtype(), dims_of(od));
  for (int64_t o = 0; o < y.numel(); ++o) {
    auto idx = unravel(o, y.shape());
    for (int k = 0; k < d.rank(); ++k) idx[k] %= d[k];
    copy_element(x, ravel(idx, d), y, o);
  }
  return y;
}

void check(const HostTensor& x, const std::vector<int64_t>& repeats, const std::string& what) {
  const HostTensor want = naive_tile(x, repeats);
  for (DataType dt : {DataType::kInt64, DataType::kInt32}) {
    auto runs = run_cpu_tactics(tile_case(x, repeats, dt));
    ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
    ASSERT_EQ(tactic_ids(*runs),
              (std::vector<std::string>{"Tile/cpu-ref/reference", "Tile/cpu-opt/memcpy"}));
    for (const auto& run : *runs)
      EXPECT_TRUE(same(run.outputs[0], want)) << what << " " << run.tactic;
  }
}

TEST(Tile, OnnxExample) {
  const HostTensor x = make_tensor(DataType::kFloat32, {2, 2}, {0, 1, 2, 3});
  const HostTensor want =
      make_tensor(DataType::kFloat32, {4, 4}, {0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3});
  EXPECT_TRUE(same(naive_tile(x, {2, 2}), want));
  check(x, {2, 2}, "tile_precomputed");
}

TEST(Tile, RandomEveryDtype) {
  std::mt19937 rng(23);
  for (int iter = 0; iter < 150; ++iter) {
    const int rank = 1 + static_cast<int>(rng() % 5);
    const Dims d = random_dims(rng, rank, iter % 10 == 0 ? 0 : 1, 4);
    std::vector<int64_t> repeats;
    for (int k = 0; k < rank; ++k) repeats.push_back(iter % 13 == 0 && k == 0 ? 0 : 1 + rng() % 3);
    const DataType dt = all_dtypes()[rng() % all_dtypes().size()];
    check(pattern_tensor(dt, d, rng), repeats,
          "iter " + std::to_string(iter) + " " + d.to_string());
  }
}

TEST(Tile, SymbolicAndShapeValues) {
  // repeats = Shape(r) (dynamic), and Tile of a shape tensor with a static repeat count.
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{2, -1});
  int r = g.add_input("r", DataType::kFloat32, Dims{-1, 3});
  int rs = g.node(g.add_node("Shape", "rs", {r}, 1)).outputs[0];
  int y = g.node(g.add_node("Tile", "t", {x, rs}, 1)).outputs[0];
  int xs = g.node(g.add_node("Shape", "xs", {x}, 1)).outputs[0];
  int two = g.add_constant("two", ints(DataType::kInt64, {2}));
  int ys = g.node(g.add_node("Tile", "u", {xs, two}, 1)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
  const std::vector<int64_t> sym = {5, 4};  // x.1, r.0
  EXPECT_EQ(*ir::eval_shape(g.value(y).shape, sym), (std::vector<int64_t>{8, 15}));
  ASSERT_TRUE(g.value(ys).shape_value.has_value());
  EXPECT_EQ(*ir::eval_shape(*g.value(ys).shape_value, sym), (std::vector<int64_t>{2, 5, 2, 5}));
  std::mt19937 rng(3);
  const HostTensor xv = pattern_tensor(DataType::kFloat32, {2, 5}, rng);
  auto values = interpret(g, {{x, xv}, {r, HostTensor(DataType::kFloat32, {4, 3})}}, sym);
  ASSERT_TRUE(values.is_ok()) << values.status().to_string();
  EXPECT_TRUE(same((*values)[y], naive_tile(xv, {4, 3})));
}

TEST(Tile, Errors) {
  std::mt19937 rng(1);
  const HostTensor x = pattern_tensor(DataType::kFloat32, {2, 3}, rng);
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  expect_error(tile_case(x, {2}), "repeats has 1 entries but the input has rank 2");
  expect_error(tile_case(x, {2, -1}), "repeat -1 of axis 1 is negative");
  expect_error(tile_case(make_tensor(DataType::kFloat32, {}, {1}), {}), "cannot tile a scalar");
  OpCase c = tile_case(x, {2, 2});
  c.constant[1] = false;
  expect_error(c, "data-dependent repeats are unsupported");
  c = tile_case(x, {2, 2});
  c.inputs[1] = make_tensor(DataType::kFloat32, {2}, {2, 2});
  expect_error(c, "repeats input must be int64 or int32");
}

}  // namespace
}  // namespace kiln::testing::tile_test
