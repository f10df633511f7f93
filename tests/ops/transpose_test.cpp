// Transpose: both tactics (reference, blocked) on random shapes and permutations of every rank,
// every dtype, each blocked path (identity, row copies, tiles, size-1 and zero-size dims), with
// and without a thread pool, against a naive index mapping written here; errors.
#include "data_movement_util.h"

#include <algorithm>
#include <numeric>

namespace kiln::testing::transpose_test {
namespace {

HostTensor naive_transpose(const HostTensor& x, const std::vector<int64_t>& perm) {
  const Dims& in = x.shape();
  std::vector<int64_t> od;
  for (int64_t p : perm) od.push_back(in[static_cast<int>(p)]);
  const Dims out = dims_of(od);
  HostTensor y(x.dtype(), out);
  for (int64_t o = 0; o < y.numel(); ++o) {
    auto oi = unravel(o, out);
    std::vector<int64_t> ii(in.rank());
    for (size_t j = 0; j < perm.size(); ++j) ii[perm[j]] = oi[j];
    copy_element(x, ravel(ii, in), y, o);
  }
  return y;
}

OpCase transpose_case(HostTensor x, std::optional<std::vector<int64_t>> perm) {
  OpCase c;
  c.op = "Transpose";
  c.inputs.push_back(std::move(x));
  if (perm) c.attrs.set("perm", *perm);
  return c;
}

const std::vector<std::string> kBoth = {"Transpose/cpu-ref/reference", "Transpose/cpu-opt/blocked"};

void check_case(const HostTensor& x, const std::vector<int64_t>& perm, ThreadPool* pool) {
  OpCase c = transpose_case(x, perm);
  HostTensor want = naive_transpose(x, perm);
  auto runs = run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  ASSERT_EQ(tactic_ids(*runs), kBoth);
  std::string what = x.shape().to_string() + " " + std::string(dtype_name(x.dtype())) + " perm";
  for (int64_t p : perm) what += " " + std::to_string(p);
  for (const auto& r : *runs) EXPECT_TRUE(same(r.outputs[0], want)) << r.tactic << " " << what;
  auto threaded = run_tactic(c, "blocked", pool);
  ASSERT_TRUE(threaded.is_ok()) << threaded.status().to_string();
  EXPECT_TRUE(same(*threaded, want)) << "blocked+pool " << what;
}

TEST(Transpose, RandomShapesAndPermsEveryDtype) {
  std::mt19937 rng(31);
  ThreadPool pool(4);
  for (DataType dt : all_dtypes()) {
    for (int iter = 0; iter < 25; ++iter) {
      const int rank = static_cast<int>(rng() % 7);
      Dims d = random_dims(rng, rank, 1, rank <= 3 ? 9 : 4);
      std::vector<int64_t> perm(rank);
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      check_case(pattern_tensor(dt, d, rng), perm, &pool);
    }
  }
}

TEST(Transpose, BlockedPaths) {
  std::mt19937 rng(5);
  ThreadPool pool(4);
  struct Case {
    Dims shape;
    std::vector<int64_t> perm;
  };
  const Case cases[] = {
      {{67, 45}, {1, 0}},               // 2-D tiles with ragged edges
      {{300, 257}, {1, 0}},             // many tiles (threaded)
      {{3, 50, 70}, {0, 2, 1}},         // batched tiles
      {{2, 17, 19, 33}, {0, 2, 3, 1}},  // NCHW -> NHWC (merged H*W)
      {{2, 33, 17, 19}, {0, 3, 1, 2}},  // NHWC -> NCHW
      {{4, 5, 6, 7}, {2, 0, 1, 3}},     // last dim kept: row copies
      {{64, 3, 2, 128}, {1, 0, 2, 3}},  // row copies of merged dims
      {{2, 3, 4}, {0, 1, 2}},           // identity
      {{1, 5, 1, 7}, {2, 3, 0, 1}},     // only size-1 dims move around 7 <-> 5
      {{1, 1, 1}, {2, 1, 0}},           // all ones
      {{5, 1, 6}, {2, 1, 0}},           // size-1 dim in the middle
      {{0, 3, 4}, {2, 0, 1}},           // zero-size
      {{3, 0}, {1, 0}},
      {{}, {}},  // scalar
      {{9}, {0}},
      {{2, 3, 4, 5, 6, 2}, {5, 3, 1, 4, 0, 2}},
  };
  for (const Case& k : cases) {
    for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kInt8, DataType::kInt64,
                        DataType::kBool}) {
      check_case(pattern_tensor(dt, k.shape, rng), k.perm, &pool);
    }
  }
}

TEST(Transpose, DefaultPermReverses) {
  std::mt19937 rng(2);
  HostTensor x = pattern_tensor(DataType::kFloat32, {2, 3, 4}, rng);
  auto runs = run_cpu_tactics(transpose_case(x, std::nullopt));
  ASSERT_TRUE(runs.is_ok());
  for (const auto& r : *runs) EXPECT_TRUE(same(r.outputs[0], naive_transpose(x, {2, 1, 0})));
}

TEST(Transpose, SymbolicShape) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 3, -1});
  ir::Attrs a;
  a.set("perm", std::vector<int64_t>{2, 0, 1});
  int y = g.node(g.add_node("Transpose", "t", {x}, 1, a)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok());
  EXPECT_EQ(*ir::eval_shape(g.value(y).shape, std::vector<int64_t>{4, 7}),
            (std::vector<int64_t>{7, 4, 3}));
}

TEST(Transpose, Errors) {
  std::mt19937 rng(1);
  HostTensor x = pattern_tensor(DataType::kFloat32, {2, 3, 4}, rng);
  for (const auto& perm : {std::vector<int64_t>{0, 1}, std::vector<int64_t>{0, 1, 1},
                           std::vector<int64_t>{0, 1, 3}, std::vector<int64_t>{-1, 0, 1}}) {
    auto g = make_graph(transpose_case(x, perm));
    ASSERT_FALSE(g.is_ok());
    EXPECT_NE(g.status().to_string().find("perm ["), std::string::npos) << g.status().to_string();
  }
  // A kernel handed mismatched buffers refuses instead of overrunning.
  auto g = make_graph(transpose_case(x, std::vector<int64_t>{1, 0, 2}));
  ASSERT_TRUE(g.is_ok());
  HostTensor out(DataType::kFloat32, {2, 3, 4});
  std::vector<TensorView> ins = {x.view()}, outs = {out.view()};
  EXPECT_FALSE(ops::run_reference(*g, g->node(0), ins, outs).is_ok());
}

}  // namespace
}  // namespace kiln::testing::transpose_test
