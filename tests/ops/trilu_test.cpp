// Trilu: the ONNX example matrix (upper / lower, k = 0, 1, -1), random batched cases (every
// dtype, k far outside the matrix, int32 / int64 k, k absent) against a naive index test,
// zero-size, k from a shape program, and errors.
#include "data_movement_util.h"

namespace kiln::testing::trilu_test {
namespace {

// k_mode 0: absent (k = 0); 1: int64 constant; 2: int32 constant.
OpCase trilu_case(const HostTensor& x, int64_t upper, int64_t k, int k_mode) {
  OpCase c;
  c.op = "Trilu";
  c.attrs.set("upper", upper);
  c.inputs = {x};
  if (k_mode > 0) {
    HostTensor kt(k_mode == 1 ? DataType::kInt64 : DataType::kInt32, {});
    if (k_mode == 1) {
      kt.as<int64_t>()[0] = k;
    } else {
      kt.as<int32_t>()[0] = static_cast<int32_t>(k);
    }
    c.inputs.push_back(kt);
    c.constant = {false, true};
  }
  return c;
}

HostTensor naive_trilu(const HostTensor& x, bool upper, int64_t k) {
  const Dims& d = x.shape();
  HostTensor y(x.dtype(), d);
  HostTensor zero(x.dtype(), {});
  for (int64_t o = 0; o < x.numel(); ++o) {
    const auto idx = unravel(o, d);
    const int64_t i = idx[d.rank() - 2], j = idx[d.rank() - 1];
    const bool keep = upper ? j - i >= k : j - i <= k;
    if (keep) {
      copy_element(x, o, y, o);
    } else {
      copy_element(zero, 0, y, o);
    }
  }
  return y;
}

void check(const HostTensor& x, bool upper, int64_t k, int k_mode, const std::string& what) {
  auto runs = run_cpu_tactics(trilu_case(x, upper ? 1 : 0, k, k_mode));
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"Trilu/cpu-ref/reference"});
  EXPECT_TRUE(same((*runs)[0].outputs[0], naive_trilu(x, upper, k_mode ? k : 0))) << what;
}

TEST(Trilu, OnnxExample) {
  const HostTensor x = make_tensor(DataType::kInt64, {4, 5},
                                   {4, 7, 3, 7, 9, 1, 2, 8, 6, 9, 9, 4, 0, 8, 7, 4, 3, 4, 2, 4});
  auto run = [&](int64_t upper, int64_t k, int mode) {
    auto runs = run_cpu_tactics(trilu_case(x, upper, k, mode));
    EXPECT_TRUE(runs.is_ok()) << runs.status().to_string();
    return runs.is_ok() ? (*runs)[0].outputs[0] : HostTensor();
  };
  EXPECT_TRUE(same(run(1, 0, 0),
                   make_tensor(DataType::kInt64, {4, 5},
                               {4, 7, 3, 7, 9, 0, 2, 8, 6, 9, 0, 0, 0, 8, 7, 0, 0, 0, 2, 4})));
  EXPECT_TRUE(same(run(1, 1, 1),
                   make_tensor(DataType::kInt64, {4, 5},
                               {0, 7, 3, 7, 9, 0, 0, 8, 6, 9, 0, 0, 0, 8, 7, 0, 0, 0, 0, 4})));
  EXPECT_TRUE(same(run(1, -1, 1),
                   make_tensor(DataType::kInt64, {4, 5},
                               {4, 7, 3, 7, 9, 1, 2, 8, 6, 9, 0, 4, 0, 8, 7, 0, 0, 4, 2, 4})));
  EXPECT_TRUE(same(run(0, 0, 0),
                   make_tensor(DataType::kInt64, {4, 5},
                               {4, 0, 0, 0, 0, 1, 2, 0, 0, 0, 9, 4, 0, 0, 0, 4, 3, 4, 2, 0})));
  EXPECT_TRUE(same(run(0, -1, 2),
                   make_tensor(DataType::kInt64, {4, 5},
                               {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 9, 4, 0, 0, 0, 4, 3, 4, 0, 0})));
}

TEST(Trilu, RandomEveryDtype) {
  std::mt19937 rng(31);
  const int64_t ks[] = {0,
                        1,
                        -1,
                        2,
                        -3,
                        7,
                        -9,
                        int64_t{1} << 40,
                        -(int64_t{1} << 40),
                        std::numeric_limits<int64_t>::max(),
                        std::numeric_limits<int64_t>::min()};
  for (int iter = 0; iter < 150; ++iter) {
    const int rank = 2 + static_cast<int>(rng() % 3);
    const Dims d = random_dims(rng, rank, iter % 15 == 0 ? 0 : 1, 6);
    const DataType dt = all_dtypes()[rng() % all_dtypes().size()];
    int k_mode = static_cast<int>(rng() % 3);
    int64_t k = ks[rng() % 11];
    if (k_mode == 2) k = std::clamp<int64_t>(k, -1000, 1000);
    check(pattern_tensor(dt, d, rng), rng() % 2, k, k_mode,
          "iter " + std::to_string(iter) + " " + d.to_string() + " k " + std::to_string(k));
  }
}

TEST(Trilu, KFromShapeProgram) {
  // k = Shape(z)[0] (dynamic): triu(x, k).
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{4, 4});
  int z = g.add_input("z", DataType::kFloat32, Dims{-1});
  int s = g.node(g.add_node("Shape", "s", {z}, 1)).outputs[0];
  int i0 = g.add_constant("i0", make_tensor(DataType::kInt64, {}, {0}));
  int k = g.node(g.add_node("Gather", "k", {s, i0}, 1)).outputs[0];
  int y = g.node(g.add_node("Trilu", "t", {x, k}, 1)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
  std::mt19937 rng(4);
  const HostTensor xv = pattern_tensor(DataType::kFloat32, {4, 4}, rng);
  for (int64_t kv : {0, 2, 5}) {
    auto values = interpret(g, {{x, xv}, {z, HostTensor(DataType::kFloat32, {kv})}},
                            std::vector<int64_t>{kv});
    ASSERT_TRUE(values.is_ok()) << values.status().to_string();
    EXPECT_TRUE(same((*values)[y], naive_trilu(xv, true, kv))) << kv;
  }
}

TEST(Trilu, Errors) {
  const HostTensor x(DataType::kFloat32, {3, 3});
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  expect_error(trilu_case(HostTensor(DataType::kFloat32, {3}), 1, 0, 0), "rank >= 2");
  expect_error(trilu_case(x, 2, 0, 0), "'upper' must be 0 or 1");
  OpCase c = trilu_case(x, 1, 0, 1);
  c.constant[1] = false;
  expect_error(c, "must be a constant or a shape value");
  c = trilu_case(x, 1, 0, 1);
  c.inputs[1] = make_tensor(DataType::kFloat32, {}, {1});
  expect_error(c, "k must be int64 or int32");
  c = trilu_case(x, 1, 0, 1);
  c.inputs[1] = ints(DataType::kInt64, {1, 2});
  expect_error(c, "k must be a scalar");
}

}  // namespace
}  // namespace kiln::testing::trilu_test
