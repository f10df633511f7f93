// MatMul: every CPU tactic against a naive double-precision matmul written here (numpy semantics:
// 1-D promotion, broadcast batch dims, transposes, fused bias + activation).
#include "common/op_harness.h"
#include "common/pool_runner.h"

#include <cmath>
#include <cstdlib>

namespace kiln::testing::matmul_test {
namespace {

const std::vector<std::string> kAllTactics = {"MatMul/cpu-ref/reference", "MatMul/cpu-blas/blas",
                                              "MatMul/cpu-opt/blocked"};
const std::vector<std::string> kRefOnly = {"MatMul/cpu-ref/reference"};

double act_value(const std::string& kind, double x, double a, double b) {
  if (kind.empty()) return x;
  if (kind == "relu") return x > 0 ? x : 0;
  if (kind == "leaky_relu") return x >= 0 ? x : a * x;
  if (kind == "sigmoid") return 1 / (1 + std::exp(-x));
  if (kind == "tanh") return std::tanh(x);
  if (kind == "elu") return x >= 0 ? x : a * (std::exp(x) - 1);
  if (kind == "selu") return x > 0 ? b * x : b * a * (std::exp(x) - 1);
  if (kind == "softplus") return std::log(1 + std::exp(x));
  if (kind == "clip") return std::min(std::max(x, a), b);
  if (kind == "gelu_erf") return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  if (kind == "gelu_tanh")
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  if (kind == "silu") return x / (1 + std::exp(-x));
  if (kind == "hard_sigmoid") return std::max(0.0, std::min(1.0, a * x + b));
  if (kind == "hard_swish") return x * std::max(0.0, std::min(1.0, x / 6 + 0.5));
  ADD_FAILURE() << "unknown activation " << kind;
  return 0;
}

struct Act {
  std::string kind;
  double alpha = 0, beta = 0;
};

// Naive numpy matmul in double (int64 for integer dtypes).
HostTensor naive_matmul(const HostTensor& a, const HostTensor& b, const HostTensor* bias, bool ta,
                        bool tb, const Act& act = {}) {
  std::vector<int64_t> as = a.shape().to_vector(), bs = b.shape().to_vector();
  bool a1 = as.size() == 1, b1 = bs.size() == 1;
  if (a1) as = {1, as[0]}, ta = false;
  if (b1) bs = {bs[0], 1}, tb = false;
  size_t ra = as.size(), rb = bs.size();
  int64_t M = ta ? as[ra - 1] : as[ra - 2];
  int64_t K = ta ? as[ra - 2] : as[ra - 1];
  int64_t N = tb ? bs[rb - 2] : bs[rb - 1];
  std::vector<int64_t> ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  size_t rbatch = std::max(ab.size(), bb.size());
  while (ab.size() < rbatch) ab.insert(ab.begin(), 1);
  while (bb.size() < rbatch) bb.insert(bb.begin(), 1);
  std::vector<int64_t> ob(rbatch);
  int64_t nbatch = 1;
  for (size_t i = 0; i < rbatch; ++i) {
    ob[i] = ab[i] == 1 ? bb[i] : ab[i];
    nbatch *= ob[i];
  }
  std::vector<int64_t> out = ob;
  if (!a1) out.push_back(M);
  if (!b1) out.push_back(N);
  HostTensor y(a.dtype(), Dims(std::span<const int64_t>(out)));
  bool integer = is_integer(a.dtype());
  for (int64_t q = 0; q < nbatch; ++q) {
    // Flat batch index of A and B for output batch q.
    int64_t rem = q, ai = 0, bi = 0, amul = 1, bmul = 1;
    for (size_t d = rbatch; d-- > 0;) {
      int64_t idx = rem % ob[d];
      rem /= ob[d];
      ai += (ab[d] == 1 ? 0 : idx) * amul;
      bi += (bb[d] == 1 ? 0 : idx) * bmul;
      amul *= ab[d];
      bmul *= bb[d];
    }
    for (int64_t i = 0; i < M; ++i) {
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0;
        int64_t iacc = 0;
        for (int64_t p = 0; p < K; ++p) {
          int64_t aidx = ai * M * K + (ta ? p * M + i : i * K + p);
          int64_t bidx = bi * K * N + (tb ? j * K + p : p * N + j);
          acc += a.get_double(aidx) * b.get_double(bidx);
          iacc += a.get_int(aidx) * b.get_int(bidx);
        }
        if (bias) {
          int64_t bj = bias->numel() == 1 ? 0 : j;
          acc += bias->get_double(bj);
          iacc += bias->get_int(bj);
        }
        int64_t o = (q * M + i) * N + j;
        if (integer) {
          store_from_double(y.data(), y.dtype(), o, static_cast<double>(iacc));
        } else {
          store_from_double(y.data(), y.dtype(), o, act_value(act.kind, acc, act.alpha, act.beta));
        }
      }
    }
  }
  return y;
}

double tolerance(DataType dt) {
  switch (dt) {
    case DataType::kFloat16:
      return 2e-3;
    case DataType::kBFloat16:
      return 1e-2;
    case DataType::kFloat32:
      return 1e-4;
    default:
      return 0;
  }
}

struct Case {
  Dims a, b;
  bool ta = false, tb = false;
};

OpCase make_case(const Case& s, DataType dt, std::mt19937& rng, bool with_bias = false,
                 const Act& act = {}) {
  OpCase c;
  c.op = "MatMul";
  if (s.ta) c.attrs.set("transpose_a", int64_t{1});
  if (s.tb) c.attrs.set("transpose_b", int64_t{1});
  if (!act.kind.empty()) {
    c.attrs.set("activation", act.kind);
    c.attrs.set("activation_alpha", act.alpha);
    c.attrs.set("activation_beta", act.beta);
  }
  double lo = is_integer(dt) ? -5 : -1, hi = -lo;
  c.inputs.push_back(random_tensor(dt, s.a, rng, lo, hi));
  c.inputs.push_back(random_tensor(dt, s.b, rng, lo, hi));
  if (with_bias) {
    // Bias length: N of the (promoted, transposed) B.
    int r = s.b.rank();
    int64_t n = r == 1 ? 1 : (s.tb ? s.b[r - 2] : s.b[r - 1]);
    c.inputs.push_back(random_tensor(dt, {n}, rng, lo, hi));
  }
  return c;
}

void check_case(const OpCase& c, bool ta, bool tb, const Act& act,
                const std::vector<std::string>& tactics, ThreadPool* pool = nullptr,
                double tol_override = 0) {
  const HostTensor* bias = c.inputs.size() > 2 ? &c.inputs[2] : nullptr;
  HostTensor want = naive_matmul(c.inputs[0], c.inputs[1], bias, ta, tb, act);
  auto runs = pool ? run_cpu_tactics_threaded(c, pool) : run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  EXPECT_EQ(tactic_names(*runs), tactics);
  double tol = tol_override > 0 ? tol_override : tolerance(want.dtype());
  for (const auto& r : *runs) {
    EXPECT_TRUE(all_close(r.outputs[0], want, tol, tol))
        << r.tactic << " A" << c.inputs[0].shape().to_string() << " B"
        << c.inputs[1].shape().to_string() << " ta=" << ta << " tb=" << tb << " act=" << act.kind
        << " " << dtype_name(want.dtype());
  }
}

// Stores B as [.., N, K] (or A as [.., K, M]) when transposed.
Dims swap_last(Dims d, bool swap) {
  if (swap && d.rank() >= 2) std::swap(d[d.rank() - 1], d[d.rank() - 2]);
  return d;
}

TEST(MatMul, Random2DEveryTransposeEveryTactic) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int64_t> dim(1, 40);
  for (int iter = 0; iter < 6; ++iter) {
    int64_t m = dim(rng), k = dim(rng), n = dim(rng);
    for (int t = 0; t < 4; ++t) {
      bool ta = t & 1, tb = t & 2;
      Case s{swap_last({m, k}, ta), swap_last({k, n}, tb), ta, tb};
      OpCase c = make_case(s, DataType::kFloat32, rng);
      check_case(c, ta, tb, {}, kAllTactics);
    }
  }
}

TEST(MatMul, LargeCrossesEveryBlockBoundary) {
  // M > 96, K > 256, N > 512: several A, K and B blocks plus ragged edges in the blocked kernel.
  std::mt19937 rng(3);
  ThreadPool pool(4);
  for (int t = 0; t < 4; ++t) {
    bool ta = t & 1, tb = t & 2;
    Case s{swap_last({101, 300}, ta), swap_last({300, 530}, tb), ta, tb};
    OpCase c = make_case(s, DataType::kFloat32, rng, true, {"relu"});
    check_case(c, ta, tb, {"relu"}, kAllTactics, &pool, 2e-4);
  }
}

TEST(MatMul, PortableMicroKernel) {
  // KILN_CPU_ISA=generic makes the blocked tactic use its portable micro-kernel.
  ASSERT_EQ(setenv("KILN_CPU_ISA", "generic", 1), 0);
  std::mt19937 rng(12);
  for (int t = 0; t < 4; ++t) {
    bool ta = t & 1, tb = t & 2;
    Case s{swap_last({2, 37, 270}, ta), swap_last({270, 45}, tb), ta, tb};
    OpCase c = make_case(s, DataType::kFloat32, rng, true, {"gelu_erf"});
    check_case(c, ta, tb, {"gelu_erf"}, kAllTactics, nullptr, 2e-4);
    c.constant = {false, true, true};
    check_case(c, ta, tb, {"gelu_erf"}, kAllTactics, nullptr, 2e-4);
  }
  unsetenv("KILN_CPU_ISA");
}

TEST(MatMul, BatchedAndBroadcastBatch) {
  std::mt19937 rng(5);
  ThreadPool pool(3);
  const Case cases[] = {
      {{2, 3, 5, 7}, {2, 3, 7, 4}},     // same batch
      {{2, 1, 5, 7}, {3, 7, 4}},        // broadcast both ways -> [2,3,5,4]
      {{5, 7}, {4, 7, 6}},              // 2-D A, batched B
      {{4, 5, 7}, {7, 6}},              // batched A, shared B (single GEMM in blas)
      {{4, 5, 7}, {1, 7, 6}},           // B batch of 1
      {{1, 5, 7}, {4, 7, 6}},           // A batch of 1
      {{2, 3, 7, 5}, {3, 7, 4}, true},  // transposed A
      {{2, 1, 5, 7}, {1, 3, 4, 7}, false, true},
      {{3, 2, 9, 8}, {2, 6, 9}, true, true},
  };
  for (const Case& s : cases) {
    OpCase c = make_case(s, DataType::kFloat32, rng, true);
    check_case(c, s.ta, s.tb, {}, kAllTactics);
    check_case(c, s.ta, s.tb, {}, kAllTactics, &pool);
  }
}

TEST(MatMul, OneDimensionalOperands) {
  std::mt19937 rng(9);
  const Case cases[] = {
      {{7}, {7}},                 // dot product -> scalar
      {{7}, {7, 5}},              // vector x matrix -> [5]
      {{5, 7}, {7}},              // matrix x vector -> [5]
      {{7}, {3, 7, 5}},           // -> [3,5]
      {{2, 5, 7}, {7}},           // -> [2,5]
      {{7}, {5, 7}, true, true},  // transpose_a ignored for 1-D A
      {{7, 5}, {7}, true, true},  // transpose_b ignored for 1-D B
  };
  const Dims want_shapes[] = {Dims{}, Dims{5}, Dims{5}, Dims{3, 5}, Dims{2, 5}, Dims{5}, Dims{5}};
  for (size_t i = 0; i < std::size(cases); ++i) {
    OpCase c = make_case(cases[i], DataType::kFloat32, rng, true, {"tanh"});
    auto g = make_graph(c);
    ASSERT_TRUE(g.is_ok()) << g.status().to_string();
    auto dims = ir::eval_shape(g->value(g->node(0).outputs[0]).shape, {});
    ASSERT_TRUE(dims.is_ok());
    EXPECT_EQ(Dims(std::span<const int64_t>(*dims)), want_shapes[i]) << i;
    check_case(c, cases[i].ta, cases[i].tb, {"tanh"}, kAllTactics);
  }
}

TEST(MatMul, BiasWithEveryActivation) {
  const Act acts[] = {{"relu"},      {"leaky_relu", 0.1},
                      {"sigmoid"},   {"tanh"},
                      {"elu", 0.7},  {"selu", 1.67326, 1.0507},
                      {"softplus"},  {"clip", -0.5, 0.8},
                      {"gelu_erf"},  {"gelu_tanh"},
                      {"silu"},      {"hard_sigmoid", 0.2, 0.5},
                      {"hard_swish"}};
  std::mt19937 rng(21);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    for (const Act& act : acts) {
      Case s{{3, 6, 9}, {9, 13}, false, false};
      OpCase c = make_case(s, dt, rng, true, act);
      check_case(c, false, false, act, dt == DataType::kFloat32 ? kAllTactics : kRefOnly);
    }
  }
}

TEST(MatMul, ActivationDefaultsWhenAlphaBetaAbsent) {
  std::mt19937 rng(2);
  for (const Act& act : {Act{"leaky_relu", 0.01}, Act{"clip", -INFINITY, INFINITY},
                         Act{"hard_sigmoid", 0.2, 0.5}, Act{"elu", 1.0}}) {
    OpCase c = make_case({{4, 5}, {5, 6}}, DataType::kFloat32, rng, true);
    c.attrs.set("activation", act.kind);
    check_case(c, false, false, act, kAllTactics);
  }
}

TEST(MatMul, BiasOfOneBroadcasts) {
  std::mt19937 rng(4);
  OpCase c = make_case({{4, 5}, {5, 6}}, DataType::kFloat32, rng);
  c.inputs.push_back(make_tensor(DataType::kFloat32, {1}, {0.75}));
  check_case(c, false, false, {}, kAllTactics);
}

TEST(MatMul, ConstantBIsPackedOnce) {
  // The blocked tactic packs a constant B at creation: batched, transposed and 1-D B.
  std::mt19937 rng(8);
  ThreadPool pool(2);
  const Case cases[] = {
      {{3, 20, 30}, {30, 40}},
      {{3, 20, 30}, {3, 40, 30}, false, true},
      {{2, 1, 30, 20}, {4, 30, 17}, true, false},
      {{5, 30}, {30}},
  };
  for (const Case& s : cases) {
    OpCase c = make_case(s, DataType::kFloat32, rng, true, {"silu"});
    c.constant = {false, true, true};
    check_case(c, s.ta, s.tb, {"silu"}, kAllTactics);
    check_case(c, s.ta, s.tb, {"silu"}, kAllTactics, &pool);
  }
}

TEST(MatMul, HalfBFloat16AndIntegers) {
  std::mt19937 rng(13);
  for (DataType dt :
       {DataType::kFloat16, DataType::kBFloat16, DataType::kInt32, DataType::kInt64}) {
    for (const Case& s :
         {Case{{2, 5, 8}, {8, 3}}, Case{{8, 5}, {2, 3, 8}, true, true}, Case{{8}, {8, 4}}}) {
      OpCase c = make_case(s, dt, rng, true);
      check_case(c, s.ta, s.tb, {}, kRefOnly);
    }
  }
}

TEST(MatMul, ZeroSizeAndEmptyProduct) {
  std::mt19937 rng(17);
  // K = 0: the product is empty, so Y = act(bias) (or 0).
  {
    OpCase c = make_case({{3, 0}, {0, 4}}, DataType::kFloat32, rng, true, {"sigmoid"});
    check_case(c, false, false, {"sigmoid"}, kAllTactics);
    OpCase d = make_case({{2, 3, 0}, {0, 4}}, DataType::kFloat32, rng);
    check_case(d, false, false, {}, kAllTactics);
    OpCase e = make_case({{0, 3}, {4, 0}}, DataType::kFloat32, rng, false);
    e.attrs.set("transpose_a", int64_t{1});
    e.attrs.set("transpose_b", int64_t{1});
    check_case(e, true, true, {}, kAllTactics);
  }
  // Zero-size M, N and batch.
  for (const Case& s : {Case{{0, 5}, {5, 4}}, Case{{3, 5}, {5, 0}}, Case{{0, 2, 5}, {5, 4}},
                        Case{{2, 0, 3, 5}, {1, 5, 4}}}) {
    OpCase c = make_case(s, DataType::kFloat32, rng, true);
    check_case(c, false, false, {}, kAllTactics);
  }
}

TEST(MatMul, SymbolicShapes) {
  ir::Graph g;
  int a = g.add_input("a", DataType::kFloat32, Dims{-1, 1, -1, 8});
  int b = g.add_input("b", DataType::kFloat32, Dims{3, 8, 16});
  int n = g.add_node("MatMul", "mm", {a, b}, 1);
  ASSERT_TRUE(g.infer_node(n).is_ok());
  const ir::SymShape& s = g.value(g.node(n).outputs[0]).shape;
  EXPECT_EQ(ir::shape_to_string(s), "[s0,3,s1,16]");
  // K symbolic on one side: accepted at build time, checked by the kernels at run time.
  int c = g.add_input("c", DataType::kFloat32, Dims{4, -1});
  int n2 = g.add_node("MatMul", "mm2", {c, b}, 1);
  ASSERT_TRUE(g.infer_node(n2).is_ok());
  EXPECT_EQ(ir::shape_to_string(g.value(g.node(n2).outputs[0]).shape), "[3,4,16]");
}

TEST(MatMul, KernelsRejectMismatchedRuntimeShapes) {
  // A dynamic K that turns out different at run time is an error, not an out-of-bounds read.
  std::mt19937 rng(1);
  OpCase c = make_case({{4, 5}, {5, 6}}, DataType::kFloat32, rng);
  auto g = make_graph(c);
  ASSERT_TRUE(g.is_ok());
  HostTensor a = random_tensor(DataType::kFloat32, {4, 7}, rng);
  HostTensor y(DataType::kFloat32, {4, 6});
  TensorView ins[] = {a.view(), c.inputs[1].view()};
  TensorView outs[] = {y.view()};
  ops::KernelInfo info;
  info.graph = &*g;
  info.node = &g->node(0);
  info.opt.inputs = {Dims{4, 7}, Dims{5, 6}};
  info.opt.outputs = {Dims{4, 6}};
  info.min = info.max = info.opt;
  int count = 0;
  for (const ops::TacticDef& t : ops::find_op("MatMul")->cpu_tactics) {
    auto kernel = t.create(info);
    ASSERT_TRUE(kernel.is_ok());
    std::vector<uint8_t> ws((*kernel)->workspace_size(info.opt) + 1);
    ops::ExecArgs args;
    args.inputs = ins;
    args.outputs = outs;
    args.workspace = ws.data();
    args.workspace_size = ws.size();
    Status st = (*kernel)->execute(args);
    EXPECT_FALSE(st.is_ok()) << t.name;
    EXPECT_NE(st.to_string().find("inner dimensions"), std::string::npos) << st.to_string();
    ++count;
  }
  EXPECT_EQ(count, 3);
}

::testing::AssertionResult fails_with(const OpCase& c, const std::string& needle) {
  auto g = make_graph(c);
  if (g.is_ok())
    return ::testing::AssertionFailure() << "expected an error with '" << needle << "'";
  std::string msg = g.status().to_string();
  if (msg.find(needle) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "error '" << msg << "' does not name '" << needle << "'";
  }
  return ::testing::AssertionSuccess();
}

TEST(MatMul, Errors) {
  std::mt19937 rng(6);
  auto mk = [&](Dims a, Dims b, DataType da = DataType::kFloat32,
                DataType db = DataType::kFloat32) {
    OpCase c;
    c.op = "MatMul";
    c.inputs = {random_tensor(da, a, rng), random_tensor(db, b, rng)};
    return c;
  };
  EXPECT_TRUE(fails_with(mk({2, 3}, {4, 5}), "[2,3]"));
  EXPECT_TRUE(fails_with(mk({2, 3}, {4, 5}), "[4,5]"));
  {
    OpCase c = mk({3, 2}, {4, 5});  // transposed A has K=3
    c.attrs.set("transpose_a", int64_t{1});
    EXPECT_TRUE(fails_with(c, "K=3"));
  }
  EXPECT_TRUE(fails_with(mk({2, 3}, {3, 5}, DataType::kFloat32, DataType::kFloat16), "float16"));
  EXPECT_TRUE(fails_with(mk({2, 2, 3}, {3, 3, 5}), "batch"));
  EXPECT_TRUE(fails_with(mk({}, {3, 5}), "rank"));
  EXPECT_TRUE(fails_with(mk({2, 3}, {3, 5}, DataType::kBool, DataType::kBool), "bool"));
  EXPECT_TRUE(fails_with(mk({2, 3}, {3, 5}, DataType::kInt8, DataType::kInt8), "int8"));
  {
    OpCase c = mk({2, 3}, {3, 5});
    c.attrs.set("activation", std::string("swishy"));
    EXPECT_TRUE(fails_with(c, "swishy"));
  }
  {
    OpCase c = mk({2, 3}, {3, 5}, DataType::kInt32, DataType::kInt32);
    c.attrs.set("activation", std::string("relu"));
    EXPECT_TRUE(fails_with(c, "floating-point"));
  }
  {
    OpCase c = mk({2, 3}, {3, 5});
    c.attrs.set("transpose_b", int64_t{2});
    EXPECT_TRUE(fails_with(c, "transpose_b"));
  }
  {
    OpCase c = mk({2, 3}, {3, 5});
    c.inputs.push_back(random_tensor(DataType::kFloat32, {4}, rng));
    EXPECT_TRUE(fails_with(c, "Bias"));
    c.inputs[2] = random_tensor(DataType::kFloat32, {1, 5}, rng);
    EXPECT_TRUE(fails_with(c, "Bias"));
    c.inputs[2] = random_tensor(DataType::kFloat16, {5}, rng);
    EXPECT_TRUE(fails_with(c, "Bias"));
  }
  {
    OpCase c = mk({2, 3}, {3, 5});
    c.inputs.resize(1);
    EXPECT_TRUE(fails_with(c, "inputs"));
  }
}

}  // namespace
}  // namespace kiln::testing::matmul_test
