// Concat: both tactics on random shapes, every dtype, 1-4 inputs, negative axes, zero-size
// inputs, large chunks through the thread pool, shape value concatenation, and errors.
#include "data_movement_util.h"

namespace kiln::testing::concat_test {
namespace {

HostTensor naive_concat(const std::vector<HostTensor>& xs, int64_t axis) {
  std::vector<int64_t> od = xs[0].shape().to_vector();
  od[axis] = 0;
  for (const auto& x : xs) od[axis] += x.shape()[static_cast<int>(axis)];
  const Dims out = dims_of(od);
  HostTensor y(xs[0].dtype(), out);
  for (int64_t o = 0; o < y.numel(); ++o) {
    auto idx = unravel(o, out);
    size_t k = 0;
    while (idx[axis] >= xs[k].shape()[static_cast<int>(axis)])
      idx[axis] -= xs[k++].shape()[static_cast<int>(axis)];
    copy_element(xs[k], ravel(idx, xs[k].shape()), y, o);
  }
  return y;
}

OpCase concat_case(std::vector<HostTensor> xs, int64_t axis) {
  OpCase c;
  c.op = "Concat";
  c.inputs = std::move(xs);
  c.attrs.set("axis", axis);
  return c;
}

const std::vector<std::string> kBoth = {"Concat/cpu-ref/reference", "Concat/cpu-opt/threaded"};

TEST(Concat, RandomEveryDtype) {
  std::mt19937 rng(41);
  ThreadPool pool(4);
  for (DataType dt : all_dtypes()) {
    for (int iter = 0; iter < 20; ++iter) {
      const int rank = 1 + static_cast<int>(rng() % 4);
      const int64_t axis = static_cast<int64_t>(rng() % rank) - (rng() % 2 ? rank : 0);
      const int64_t a = axis < 0 ? axis + rank : axis;
      Dims base = random_dims(rng, rank, 1, 5);
      std::vector<HostTensor> xs;
      const int n = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < n; ++i) {
        Dims d = base;
        d[static_cast<int>(a)] = static_cast<int64_t>(rng() % 4);  // may be 0
        xs.push_back(pattern_tensor(dt, d, rng));
      }
      OpCase c = concat_case(xs, axis);
      HostTensor want = naive_concat(xs, a);
      auto runs = run_cpu_tactics(c);
      ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
      ASSERT_EQ(tactic_ids(*runs), kBoth);
      for (const auto& r : *runs) {
        EXPECT_TRUE(same(r.outputs[0], want))
            << r.tactic << " axis " << axis << " " << dtype_name(dt);
      }
      auto threaded = run_tactic(c, "threaded", &pool);
      ASSERT_TRUE(threaded.is_ok()) << threaded.status().to_string();
      EXPECT_TRUE(same(*threaded, want));
    }
  }
}

TEST(Concat, LargeChunksAndManyRowsThreaded) {
  std::mt19937 rng(3);
  ThreadPool pool(4);
  // outer = 1, chunks of ~600 KB: split into blocks. Then many small rows.
  for (auto [shapes, axis] : {std::pair<std::vector<Dims>, int64_t>{{{150000}, {70001}}, 0},
                              {{{2, 100000}, {2, 3}}, 1},
                              {{{1000, 3}, {1000, 1}, {1000, 5}}, 1},
                              {{{1, 4, 5}, {0, 4, 5}, {3, 4, 5}}, 0}}) {
    std::vector<HostTensor> xs;
    for (const Dims& d : shapes) xs.push_back(pattern_tensor(DataType::kFloat32, d, rng));
    OpCase c = concat_case(xs, axis);
    HostTensor want = naive_concat(xs, axis);
    auto threaded = run_tactic(c, "threaded", &pool);
    ASSERT_TRUE(threaded.is_ok()) << threaded.status().to_string();
    EXPECT_TRUE(same(*threaded, want));
    auto ref = run_tactic(c, "reference", nullptr);
    ASSERT_TRUE(ref.is_ok());
    EXPECT_TRUE(same(*ref, want));
  }
}

TEST(Concat, SymbolicShapeAndShapeValue) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, -1, 4});
  int z = g.add_input("z", DataType::kFloat32, Dims{-1, 2, 4});
  int y = g.node(g.add_node("Concat", "c", {x, z}, 1,
                            [] {
                              ir::Attrs a;
                              a.set("axis", int64_t{-2});
                              return a;
                            }()))
              .outputs[0];
  int s = g.node(g.add_node("Shape", "s", {x}, 1)).outputs[0];
  int k = g.add_constant("k", ints(DataType::kInt64, {7, -1}));
  int sv = g.node(g.add_node("Concat", "sv", {k, s, k}, 1,
                             [] {
                               ir::Attrs a;
                               a.set("axis", int64_t{0});
                               return a;
                             }()))
               .outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
  // Symbols: x.0 = s0, x.1 = s1, z.0 = s2.
  auto got = ir::eval_shape(g.value(y).shape, std::vector<int64_t>{3, 5, 3});
  EXPECT_EQ(*got, (std::vector<int64_t>{3, 7, 4}));
  ASSERT_TRUE(g.value(sv).shape_value.has_value());
  EXPECT_EQ(*ir::eval_shape(*g.value(sv).shape_value, std::vector<int64_t>{3, 5, 3}),
            (std::vector<int64_t>{7, -1, 3, 5, 4, 7, -1}));
  EXPECT_EQ(g.value(sv).shape[0].value(), 7);
  // A non-shape-value input (a graph input) means no shape value.
  ir::Graph g2;
  int q = g2.add_input("q", DataType::kInt64, Dims{2});
  int k2 = g2.add_constant("k", ints(DataType::kInt64, {1}));
  ir::Attrs a;
  a.set("axis", int64_t{0});
  int o2 = g2.node(g2.add_node("Concat", "c", {q, k2}, 1, a)).outputs[0];
  ASSERT_TRUE(g2.infer_shapes().is_ok());
  EXPECT_FALSE(g2.value(o2).shape_value.has_value());
}

TEST(Concat, Errors) {
  std::mt19937 rng(1);
  auto t = [&](Dims d, DataType dt = DataType::kFloat32) { return pattern_tensor(dt, d, rng); };
  auto expect_error = [](const OpCase& c, std::vector<std::string> needles) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok());
    for (const auto& n : needles) {
      EXPECT_NE(g.status().to_string().find(n), std::string::npos) << g.status().to_string();
    }
  };
  expect_error(concat_case({t({2, 3}), t({4, 4})}, 0),
               {"'in1'", "'in0'", "[4,4]", "[2,3]", "dim 1"});
  expect_error(concat_case({t({2, 3}), t({2, 3}, DataType::kInt8)}, 0),
               {"'in1'", "int8", "float32"});
  expect_error(concat_case({t({2, 3}), t({2, 3, 1})}, 0), {"rank 3", "rank 2"});
  expect_error(concat_case({t({2, 3})}, 2), {"axis 2 is out of range"});
  expect_error(concat_case({t({2, 3})}, -3), {"axis -3 is out of range"});
  expect_error(concat_case({t({})}, 0), {"scalar"});
  OpCase c = concat_case({t({2})}, 0);
  c.attrs = {};
  expect_error(c, {"'axis'"});
  c.inputs.clear();
  c.attrs.set("axis", int64_t{0});
  expect_error(c, {"at least 1 input"});
}

}  // namespace
}  // namespace kiln::testing::concat_test
