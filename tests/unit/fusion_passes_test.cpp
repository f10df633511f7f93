// The fusion passes of the transformer path, each on its own: GELU, layer norm (+ residual),
// softmax (scale / mask / NaN guard), attention (head split / merge read through) and
// elementwise chains. Each pattern is matched in the forms the exporters produce, is not matched
// when an intermediate has another user or is a network output, and the graph computes the same
// outputs before and after (both evaluated with the CPU reference kernels).
#include "backends/cpu/thread_pool.h"
#include "common/op_harness.h"
#include "common/reference_eval.h"
#include "ops/activation/activation.h"
#include "passes/pass.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

namespace kiln::fusion_passes_test {
namespace {

using testing::all_close;
using testing::evaluate_reference;
using testing::random_tensor;

// Builds an ir::Graph node by node (shape inference after each node).
class GraphBuilder {
 public:
  int input(const std::string& name, DataType dt, const Dims& dims,
            std::vector<std::string> dim_names = {}) {
    return g.add_input(name, dt, dims, dim_names);
  }
  int constant(HostTensor t) { return g.add_constant("c" + std::to_string(next_++), std::move(t)); }
  int scalar(double v, DataType dt = DataType::kFloat32, Dims shape = Dims{}) {
    HostTensor t(dt, shape);
    store_from_double(t.data(), dt, 0, v);
    return constant(std::move(t));
  }
  int ints(std::vector<int64_t> v) {
    HostTensor t(DataType::kInt64, Dims{static_cast<int64_t>(v.size())});
    for (size_t i = 0; i < v.size(); ++i) t.as<int64_t>()[i] = v[i];
    return constant(std::move(t));
  }
  int op(const std::string& type, std::vector<int> inputs, ir::Attrs a = {}) {
    int n =
        g.add_node(type, type + "_" + std::to_string(next_++), std::move(inputs), 1, std::move(a));
    Status s = g.infer_node(n);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    return g.node(n).outputs[0];
  }
  int ew(const std::string& name, int a, int b) {
    ir::Attrs at;
    at.set("op", name);
    return op("ElementWise", {a, b}, at);
  }
  int unary(const std::string& name, int x) {
    ir::Attrs at;
    at.set("op", name);
    return op("Unary", {x}, at);
  }
  int act(const std::string& type, int x) {
    ir::Attrs at;
    at.set("type", type);
    return op("Activation", {x}, at);
  }
  int mean(int x, std::vector<int64_t> axes) {
    ir::Attrs at;
    at.set("op", std::string("mean"));
    at.set("axes", axes);
    at.set("keepdims", int64_t{1});
    return op("Reduce", {x}, at);
  }
  int transpose(int x, std::vector<int64_t> perm) {
    ir::Attrs at;
    at.set("perm", perm);
    return op("Transpose", {x}, at);
  }
  int reshape(int x, int shape) { return op("Reshape", {x, shape}); }
  int matmul(int a, int b) { return op("MatMul", {a, b}); }
  int softmax(int x) {
    ir::Attrs at;
    at.set("axis", int64_t{-1});
    return op("Softmax", {x}, at);
  }
  int where(int c, int a, int b) { return op("Select", {c, a, b}); }
  int isnan(int x) {
    ir::Attrs at;
    at.set("op", std::string("isnan"));
    return op("FloatClass", {x}, at);
  }
  int cast(int x, DataType to) {
    ir::Attrs at;
    at.set("to", std::string(dtype_name(to)));
    return op("Cast", {x}, at);
  }
  void output(int v) { g.mark_output(v); }

  ir::Graph g;

 private:
  int next_ = 0;
};

int count_ops(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (int i = 0; i < g.num_nodes(); ++i) n += !g.node(i).removed && g.node(i).op == op;
  return n;
}

const ir::Node* find_op(const ir::Graph& g, const std::string& op) {
  for (int i = 0; i < g.num_nodes(); ++i) {
    if (!g.node(i).removed && g.node(i).op == op) return &g.node(i);
  }
  return nullptr;
}

using PassFn = std::function<Result<int>(ir::Graph&, const passes::PassOptions&)>;

// Runs one pass on a copy, cleans up, and checks the outputs against the original on `inputs`.
// Returns the optimized graph and the pass's count.
std::pair<ir::Graph, int> apply(const ir::Graph& original, const PassFn& pass,
                                const std::vector<HostTensor>& inputs, double tol = 1e-5) {
  ir::Graph g = original;
  passes::PassOptions options;
  auto n = pass(g, options);
  EXPECT_TRUE(n.is_ok()) << n.status().to_string();
  passes::remove_dead_code(g);
  g.compact();
  Status s = g.infer_shapes();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_TRUE(g.validate().is_ok());
  auto want = evaluate_reference(original, inputs);
  auto got = evaluate_reference(g, inputs);
  EXPECT_TRUE(want.is_ok()) << want.status().to_string();
  EXPECT_TRUE(got.is_ok()) << got.status().to_string();
  if (want.is_ok() && got.is_ok()) {
    EXPECT_EQ(want->size(), got->size());
    for (size_t i = 0; i < want->size() && i < got->size(); ++i) {
      EXPECT_TRUE(all_close((*got)[i], (*want)[i], tol, tol)) << "output " << i;
    }
  }
  return {std::move(g), n.is_ok() ? *n : -1};
}

// ---------------------------------------------------------------------------------------------
// GELU

// x * 0.5 * (1 + erf(x / sqrt(2))) in one of the forms exporters emit.
int erf_gelu(GraphBuilder& b, int x, int variant) {
  const int pre = variant % 2 == 0 ? b.ew("div", x, b.scalar(1.4142135381698608))
                                   : b.ew("prod", b.scalar(0.7071067690849304), x);
  const int e = b.unary("erf", pre);
  const int a = b.ew("sum", e, b.scalar(1.0));
  switch (variant / 2) {
    case 0:  // (x * a) * 0.5          (TorchScript exporter)
      return b.ew("prod", b.ew("prod", x, a), b.scalar(0.5));
    case 1:  // x * (0.5 * a)          (torch.export)
      return b.ew("prod", x, b.ew("prod", b.scalar(0.5), a));
    default:  // (x * 0.5) * a
      return b.ew("prod", b.ew("prod", x, b.scalar(0.5)), a);
  }
}

TEST(GeluFusion, ErfFormEveryOperandOrder) {
  std::mt19937 rng(1);
  for (int variant = 0; variant < 6; ++variant) {
    GraphBuilder b;
    int x = b.input("x", DataType::kFloat32, {-1, 16}, {"N", ""});
    b.output(erf_gelu(b, x, variant));
    auto [g, n] =
        apply(b.g, passes::fuse_gelu, {random_tensor(DataType::kFloat32, {3, 16}, rng, -4, 4)});
    EXPECT_EQ(n, 1) << "variant " << variant;
    ASSERT_EQ(g.num_nodes(), 1) << "variant " << variant;
    EXPECT_EQ(g.node(0).op, "Activation");
    EXPECT_EQ(g.node(0).attrs.get_string("type"), "gelu_erf");
    EXPECT_EQ(g.node(0).inputs[0], g.inputs()[0]);
  }
}

TEST(GeluFusion, TanhFormWithPowAndProducts) {
  std::mt19937 rng(2);
  for (int cube = 0; cube < 3; ++cube) {
    GraphBuilder b;
    int x = b.input("x", DataType::kFloat32, {4, 8});
    int x3 = cube == 0   ? b.ew("pow", x, b.scalar(3.0))
             : cube == 1 ? b.ew("prod", b.ew("prod", x, x), x)
                         : b.ew("prod", x, b.ew("prod", x, x));
    int inner = b.ew("sum", x, b.ew("prod", b.scalar(0.044715), x3));
    int t = b.act("tanh", b.ew("prod", inner, b.scalar(0.7978845608028654)));
    int a = b.ew("sum", b.scalar(1.0), t);
    b.output(b.ew("prod", b.ew("prod", b.scalar(0.5), x), a));
    auto [g, n] =
        apply(b.g, passes::fuse_gelu, {random_tensor(DataType::kFloat32, {4, 8}, rng, -4, 4)});
    EXPECT_EQ(n, 1) << "cube form " << cube;
    ASSERT_EQ(g.num_nodes(), 1);
    EXPECT_EQ(g.node(0).attrs.get_string("type"), "gelu_tanh");
  }
}

TEST(GeluFusion, FoldsIntoMatMulThroughThePipeline) {
  std::mt19937 rng(3);
  GraphBuilder b;
  int x = b.input("x", DataType::kFloat32, {-1, 8}, {"N", ""});
  int mm = b.matmul(x, b.constant(random_tensor(DataType::kFloat32, {8, 12}, rng)));
  int biased = b.ew("sum", b.constant(random_tensor(DataType::kFloat32, {12}, rng)), mm);
  b.output(erf_gelu(b, biased, 0));
  auto [g, n] = apply(b.g,
                      [](ir::Graph& gr, const passes::PassOptions& o) -> Result<int> {
                        KILN_RETURN_IF_ERROR(passes::run_passes(gr, o));
                        return 0;
                      },
                      {random_tensor(DataType::kFloat32, {5, 8}, rng)});
  ASSERT_EQ(g.num_nodes(), 1);
  EXPECT_EQ(g.node(0).op, "MatMul");
  EXPECT_EQ(g.node(0).attrs.get_string("activation"), "gelu_erf");
}

TEST(GeluFusion, NotMatchedWhenAnIntermediateIsUsedOrWrongConstant) {
  std::mt19937 rng(4);
  auto x_in = random_tensor(DataType::kFloat32, {2, 6}, rng);
  {
    // erf output is also a network output.
    GraphBuilder b;
    int x = b.input("x", DataType::kFloat32, {2, 6});
    int e = b.unary("erf", b.ew("div", x, b.scalar(1.4142135381698608)));
    int a = b.ew("sum", e, b.scalar(1.0));
    b.output(b.ew("prod", b.ew("prod", x, a), b.scalar(0.5)));
    b.output(e);
    auto [g, n] = apply(b.g, passes::fuse_gelu, {x_in});
    EXPECT_EQ(n, 0);
    EXPECT_EQ(count_ops(g, "Activation"), 0);
  }
  {
    // 1 + erf(...) has a second user.
    GraphBuilder b;
    int x = b.input("x", DataType::kFloat32, {2, 6});
    int e = b.unary("erf", b.ew("div", x, b.scalar(1.4142135381698608)));
    int a = b.ew("sum", e, b.scalar(1.0));
    int y = b.ew("prod", b.ew("prod", x, a), b.scalar(0.5));
    b.output(b.ew("sum", y, a));
    auto [g, n] = apply(b.g, passes::fuse_gelu, {x_in});
    EXPECT_EQ(n, 0);
    EXPECT_EQ(count_ops(g, "Unary"), 1);
  }
  {
    // Divided by 2, not sqrt(2): not a GELU.
    GraphBuilder b;
    int x = b.input("x", DataType::kFloat32, {2, 6});
    int e = b.unary("erf", b.ew("div", x, b.scalar(2.0)));
    int a = b.ew("sum", e, b.scalar(1.0));
    b.output(b.ew("prod", b.ew("prod", x, a), b.scalar(0.5)));
    auto [g, n] = apply(b.g, passes::fuse_gelu, {x_in});
    EXPECT_EQ(n, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Layer norm

enum class LnForm { kPowDiv, kMulRsqrt, kSqrtReciprocal };

// The decomposed layer norm over the last `naxes` axes of x.
int decomposed_ln(GraphBuilder& b, int x, LnForm form, int gamma, int beta, int naxes = 1) {
  std::vector<int64_t> axes;
  const int rank = static_cast<int>(b.g.value(x).shape.size());
  for (int i = rank - naxes; i < rank; ++i) axes.push_back(i - rank);  // negative, as exporters
  int m = b.mean(x, axes);
  int d = b.ew("sub", x, m);
  int sq = form == LnForm::kPowDiv ? b.ew("pow", d, b.scalar(2.0)) : b.ew("prod", d, d);
  int v = b.mean(sq, axes);
  int s = b.ew("sum", v, b.scalar(1e-5));
  int n = -1;
  switch (form) {
    case LnForm::kPowDiv:
      n = b.ew("div", d, b.unary("sqrt", s));
      break;
    case LnForm::kMulRsqrt:
      n = b.ew("prod", b.unary("rsqrt", s), d);
      break;
    case LnForm::kSqrtReciprocal:
      n = b.ew("prod", d, b.unary("reciprocal", b.unary("sqrt", s)));
      break;
  }
  if (gamma >= 0) n = b.ew("prod", gamma, n);
  if (beta >= 0) n = b.ew("sum", n, beta);
  return n;
}

TEST(LayerNormFusion, DecomposedForms) {
  std::mt19937 rng(5);
  for (LnForm form : {LnForm::kPowDiv, LnForm::kMulRsqrt, LnForm::kSqrtReciprocal}) {
    for (int params = 0; params < 4; ++params) {
      GraphBuilder b;
      int x = b.input("x", DataType::kFloat32, {-1, -1, 16}, {"N", "S", ""});
      int gamma =
          params & 1 ? b.constant(random_tensor(DataType::kFloat32, {16}, rng, 0.5, 2)) : -1;
      // Beta with leading 1s ([1, 1, 16]) as some exports write it.
      int beta = params & 2 ? b.constant(random_tensor(DataType::kFloat32, {1, 1, 16}, rng)) : -1;
      b.output(decomposed_ln(b, x, form, gamma, beta));
      auto [g, n] = apply(b.g, passes::fuse_layer_norm,
                          {random_tensor(DataType::kFloat32, {2, 3, 16}, rng, -3, 3)});
      EXPECT_EQ(n, 1) << "form " << static_cast<int>(form) << " params " << params;
      ASSERT_EQ(g.num_nodes(), 1);
      const ir::Node& ln = g.node(0);
      EXPECT_EQ(ln.op, "LayerNorm");
      EXPECT_EQ(ln.attrs.get_int("axis"), 2);
      EXPECT_NEAR(ln.attrs.get_float("epsilon"), 1e-5, 1e-12);
      EXPECT_EQ(ln.inputs.size(), (params & 2) ? 3u : 2u);
      if (params & 2) {
        EXPECT_EQ(g.value(ln.inputs[2]).shape.size(), 1u);  // leading 1s dropped
      }
    }
  }
}

TEST(LayerNormFusion, TwoNormalizedAxes) {
  std::mt19937 rng(6);
  GraphBuilder b;
  int x = b.input("x", DataType::kFloat32, {3, 4, 5});
  int gamma = b.constant(random_tensor(DataType::kFloat32, {4, 5}, rng, 0.5, 2));
  b.output(decomposed_ln(b, x, LnForm::kPowDiv, gamma, -1, 2));
  auto [g, n] = apply(b.g, passes::fuse_layer_norm,
                      {random_tensor(DataType::kFloat32, {3, 4, 5}, rng, -3, 3)});
  EXPECT_EQ(n, 1);
  ASSERT_NE(find_op(g, "LayerNorm"), nullptr);
  EXPECT_EQ(find_op(g, "LayerNorm")->attrs.get_int("axis"), 1);
}

TEST(LayerNormFusion, NotMatched) {
  std::mt19937 rng(7);
  auto x_in = random_tensor(DataType::kFloat32, {2, 3, 8}, rng, -3, 3);
  {
    // x - mean is also an output.
    GraphBuilder b;
    int x = b.input("x", DataType::kFloat32, {2, 3, 8});
    int d = b.ew("sub", x, b.mean(x, {-1}));
    int v = b.mean(b.ew("pow", d, b.scalar(2.0)), {-1});
    b.output(b.ew("div", d, b.unary("sqrt", b.ew("sum", v, b.scalar(1e-5)))));
    b.output(d);
    auto [g, n] = apply(b.g, passes::fuse_layer_norm, {x_in});
    EXPECT_EQ(n, 0);
    EXPECT_EQ(count_ops(g, "LayerNorm"), 0);
  }
  {
    // Statistics over a middle axis: not a layer norm (axes must be the trailing ones).
    GraphBuilder b;
    int x = b.input("x", DataType::kFloat32, {2, 3, 8});
    int d = b.ew("sub", x, b.mean(x, {1}));
    int v = b.mean(b.ew("pow", d, b.scalar(2.0)), {1});
    b.output(b.ew("div", d, b.unary("sqrt", b.ew("sum", v, b.scalar(1e-5)))));
    auto [g, n] = apply(b.g, passes::fuse_layer_norm, {x_in});
    EXPECT_EQ(n, 0);
  }
  {
    // The variance uses another axis set than the mean.
    GraphBuilder b;
    int x = b.input("x", DataType::kFloat32, {2, 3, 8});
    int d = b.ew("sub", x, b.mean(x, {-1}));
    int v = b.mean(b.ew("pow", d, b.scalar(2.0)), {-2, -1});
    b.output(b.ew("div", d, b.unary("sqrt", b.ew("sum", v, b.scalar(1e-5)))));
    auto [g, n] = apply(b.g, passes::fuse_layer_norm, {x_in});
    EXPECT_EQ(n, 0);
  }
}

TEST(LayerNormFusion, ResidualAddFoldsIntoTheNorm) {
  std::mt19937 rng(8);
  GraphBuilder b;
  int x = b.input("x", DataType::kFloat32, {-1, 8}, {"N", ""});
  int r = b.input("r", DataType::kFloat32, {-1, 8}, {"N", ""});
  int scale = b.constant(random_tensor(DataType::kFloat32, {8}, rng, 0.5, 2));
  int bias = b.constant(random_tensor(DataType::kFloat32, {8}, rng));
  ir::Attrs a;
  a.set("axis", int64_t{-1});
  a.set("epsilon", 1e-5);
  b.output(b.op("LayerNorm", {b.ew("sum", x, r), scale, bias}, a));
  auto [g, n] = apply(b.g, passes::fuse_layer_norm,
                      {random_tensor(DataType::kFloat32, {3, 8}, rng),
                       random_tensor(DataType::kFloat32, {3, 8}, rng)});
  EXPECT_EQ(n, 1);
  ASSERT_EQ(g.num_nodes(), 1);
  ASSERT_EQ(g.node(0).inputs.size(), 4u);
  EXPECT_EQ(g.node(0).inputs[0], g.inputs()[0]);
  EXPECT_EQ(g.node(0).inputs[3], g.inputs()[1]);
}

TEST(LayerNormFusion, ResidualNotFoldedWhenTheSumIsUsedOrBroadcast) {
  std::mt19937 rng(9);
  ir::Attrs a;
  a.set("axis", int64_t{-1});
  auto scale_t = random_tensor(DataType::kFloat32, {8}, rng);
  {
    GraphBuilder b;
    int x = b.input("x", DataType::kFloat32, {3, 8});
    int r = b.input("r", DataType::kFloat32, {3, 8});
    int s = b.ew("sum", x, r);
    b.output(b.op("LayerNorm", {s, b.constant(scale_t)}, a));
    b.output(s);  // the pre-norm sum is needed too (pre-LN transformers)
    auto [g, n] = apply(b.g, passes::fuse_layer_norm,
                        {random_tensor(DataType::kFloat32, {3, 8}, rng),
                         random_tensor(DataType::kFloat32, {3, 8}, rng)});
    EXPECT_EQ(n, 0);
    EXPECT_EQ(count_ops(g, "ElementWise"), 1);
  }
  {
    GraphBuilder b;
    int x = b.input("x", DataType::kFloat32, {3, 8});
    int r = b.input("r", DataType::kFloat32, {8});  // broadcast: a bias, not a residual
    b.output(b.op("LayerNorm", {b.ew("sum", x, r), b.constant(scale_t)}, a));
    auto [g, n] = apply(b.g, passes::fuse_layer_norm,
                        {random_tensor(DataType::kFloat32, {3, 8}, rng),
                         random_tensor(DataType::kFloat32, {8}, rng)});
    EXPECT_EQ(n, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Softmax

TEST(SoftmaxFusion, ScaleAndAdditiveMask) {
  std::mt19937 rng(10);
  for (bool divide : {false, true}) {
    GraphBuilder b;
    int q = b.input("q", DataType::kFloat32, {-1, 2, 5, 4}, {"N", "", "", ""});
    int k = b.input("k", DataType::kFloat32, {-1, 2, 4, 5}, {"N", "", "", ""});
    int m = b.input("m", DataType::kFloat32, {-1, 1, 1, 5}, {"N", "", "", ""});
    int s = b.matmul(q, k);
    s = divide ? b.ew("div", s, b.scalar(2.0)) : b.ew("prod", b.scalar(0.5), s);
    b.output(b.softmax(b.ew("sum", s, m)));
    auto [g, n] = apply(b.g, passes::fuse_softmax,
                        {random_tensor(DataType::kFloat32, {2, 2, 5, 4}, rng),
                         random_tensor(DataType::kFloat32, {2, 2, 4, 5}, rng),
                         random_tensor(DataType::kFloat32, {2, 1, 1, 5}, rng, -5, 0)});
    EXPECT_EQ(n, 1);
    EXPECT_EQ(g.num_nodes(), 2);  // MatMul, Softmax
    const ir::Node* sm = find_op(g, "Softmax");
    ASSERT_NE(sm, nullptr);
    ASSERT_EQ(sm->inputs.size(), 2u);
    EXPECT_EQ(sm->inputs[1], g.inputs()[2]);
    EXPECT_DOUBLE_EQ(sm->attrs.get_float("scale"), 0.5);
  }
}

// The scaled-dot-product-attention export: both operands scaled, Where(mask, 0, fill), NaN guard.
int sdpa_scores(GraphBuilder& b, int q, int kt, int mask, double fill, double head_dim) {
  const double c = std::sqrt(1.0 / std::sqrt(head_dim));
  int s = b.matmul(b.ew("prod", q, b.scalar(c)), b.ew("prod", kt, b.scalar(c)));
  int add = b.ew("sum", s,
                 b.where(mask, b.scalar(0.0, DataType::kFloat32, Dims{1}),
                         b.scalar(fill, DataType::kFloat32, Dims{1})));
  int p = b.softmax(add);
  return b.where(b.isnan(p), b.scalar(0.0), p);
}

TEST(SoftmaxFusion, ScaledOperandsBoolMaskAndNanGuard) {
  std::mt19937 rng(11);
  for (double fill : {-static_cast<double>(INFINITY),
                      static_cast<double>(std::numeric_limits<float>::lowest())}) {
    GraphBuilder b;
    int q = b.input("q", DataType::kFloat32, {2, 3, 5, 4});
    int kt = b.input("kt", DataType::kFloat32, {2, 3, 4, 6});
    int mask = b.input("mask", DataType::kBool, {2, 1, 5, 6});
    b.output(sdpa_scores(b, q, kt, mask, fill, 4.0));
    HostTensor mask_in = random_tensor(DataType::kBool, {2, 1, 5, 6}, rng, -1, 1);
    for (int j = 0; j < 6; ++j) mask_in.as<uint8_t>()[6 + j] = 0;  // a fully masked row
    auto [g, n] = apply(b.g, passes::fuse_softmax,
                        {random_tensor(DataType::kFloat32, {2, 3, 5, 4}, rng),
                         random_tensor(DataType::kFloat32, {2, 3, 4, 6}, rng), mask_in});
    EXPECT_EQ(n, 1);
    EXPECT_EQ(g.num_nodes(), 2);  // MatMul(q, kt), Softmax
    const ir::Node* sm = find_op(g, "Softmax");
    ASSERT_NE(sm, nullptr);
    EXPECT_EQ(sm->inputs[1], g.inputs()[2]);  // the bool mask itself
    EXPECT_EQ(sm->attrs.get_int("nan_to_zero"), 1);
    EXPECT_NEAR(sm->attrs.get_float("scale"), 0.5, 1e-7);
    EXPECT_EQ(sm->attrs.has("mask_fill"), !std::isinf(fill));
    const ir::Node* mm = find_op(g, "MatMul");
    EXPECT_EQ(mm->inputs[0], g.inputs()[0]);
    EXPECT_EQ(mm->inputs[1], g.inputs()[1]);
  }
}

TEST(SoftmaxFusion, NotMatched) {
  std::mt19937 rng(12);
  {
    // The masked scores are an output too.
    GraphBuilder b;
    int x = b.input("x", DataType::kFloat32, {2, 5});
    int m = b.input("m", DataType::kFloat32, {5});
    int s = b.ew("sum", x, m);
    b.output(b.softmax(s));
    b.output(s);
    auto [g, n] = apply(b.g, passes::fuse_softmax,
                        {random_tensor(DataType::kFloat32, {2, 5}, rng),
                         random_tensor(DataType::kFloat32, {5}, rng)});
    EXPECT_EQ(n, 0);
  }
  {
    // Softmax over an inner axis.
    GraphBuilder b;
    int x = b.input("x", DataType::kFloat32, {2, 5});
    ir::Attrs a;
    a.set("axis", int64_t{0});
    b.output(b.op("Softmax", {b.ew("prod", x, b.scalar(3.0))}, a));
    auto [g, n] =
        apply(b.g, passes::fuse_softmax, {random_tensor(DataType::kFloat32, {2, 5}, rng)});
    EXPECT_EQ(n, 0);
  }
}

TEST(SoftmaxFusion, TheFullShapeOperandIsTheScores) {
  // x [2, 1] + m [2, 5]: x would be enlarged, so m is the scores and x the (broadcast) mask.
  std::mt19937 rng(24);
  GraphBuilder b;
  int x = b.input("x", DataType::kFloat32, {2, 1});
  int m = b.input("m", DataType::kFloat32, {2, 5});
  b.output(b.softmax(b.ew("sum", x, m)));
  auto [g, n] = apply(b.g, passes::fuse_softmax,
                      {random_tensor(DataType::kFloat32, {2, 1}, rng),
                       random_tensor(DataType::kFloat32, {2, 5}, rng)});
  EXPECT_EQ(n, 1);
  const ir::Node* sm = find_op(g, "Softmax");
  ASSERT_NE(sm, nullptr);
  ASSERT_EQ(sm->inputs.size(), 2u);
  EXPECT_EQ(sm->inputs[0], g.inputs()[1]);
  EXPECT_EQ(sm->inputs[1], g.inputs()[0]);
}

// ---------------------------------------------------------------------------------------------
// Attention

struct AttentionGraph {
  GraphBuilder b;
  std::vector<HostTensor> inputs;
};

constexpr int64_t kHeads = 4, kHeadDim = 8, kHidden = kHeads * kHeadDim;

// A BERT self-attention block: x [N, S, heads * head_dim] -> Q/K/V projections (+ bias) -> head
// split -> attention with a bool mask [N, 1, S, S] -> head merge -> output projection. k_form: 0
// TorchScript (Transpose [0,2,3,1]), 1 torch.export (merge/split detour), 2 HF eager (Transpose
// [0,2,1,3] then [0,1,3,2]). sdpa: scaled operands + Where mask + NaN guard, else Div by sqrt(D) +
// float mask [N, 1, 1, S].
AttentionGraph attention_graph(int k_form, bool sdpa, std::mt19937& rng, int64_t heads = kHeads,
                               int64_t head_dim = kHeadDim) {
  const int64_t hidden = heads * head_dim;
  AttentionGraph a;
  GraphBuilder& b = a.b;
  const std::vector<std::string> ns = {"N", "S", ""};
  int x = b.input("x", DataType::kFloat32, {-1, -1, hidden}, ns);
  int mask = sdpa ? b.input("mask", DataType::kBool, {-1, 1, -1, -1}, {"N", "", "S", "S"})
                  : b.input("mask", DataType::kFloat32, {-1, 1, 1, -1}, {"N", "", "", "S"});
  a.inputs.push_back(random_tensor(DataType::kFloat32, {2, 7, hidden}, rng));
  HostTensor m = sdpa ? random_tensor(DataType::kBool, {2, 1, 7, 7}, rng, -1, 1)
                      : random_tensor(DataType::kFloat32, {2, 1, 1, 7}, rng, -3, 0);
  if (sdpa) {
    for (int64_t i = 0; i < m.numel(); i += 7) m.as<uint8_t>()[i] = 1;  // key 0 visible
  }
  a.inputs.push_back(m);
  auto proj = [&](int in) {
    int mm = b.matmul(in, b.constant(random_tensor(DataType::kFloat32, {hidden, hidden}, rng)));
    return b.ew("sum", b.constant(random_tensor(DataType::kFloat32, {hidden}, rng)), mm);
  };
  int split = b.ints({0, 0, heads, head_dim});
  int q4 = b.reshape(proj(x), split);
  int k4 = b.reshape(proj(x), split);
  int v4 = b.reshape(proj(x), split);
  int q = b.transpose(q4, {0, 2, 1, 3});
  int v = b.transpose(v4, {0, 2, 1, 3});
  int kt = -1;
  if (k_form == 0) {
    kt = b.transpose(k4, {0, 2, 3, 1});
  } else if (k_form == 1) {
    int k = b.transpose(k4, {0, 2, 1, 3});  // [N, H, S, D]
    int shape = b.op("Shape", {k});
    auto pick = [&](std::vector<int64_t> idx) {
      ir::Attrs at;
      at.set("axis", int64_t{0});
      return b.op("Gather", {shape, b.ints(idx)}, at);
    };
    ir::Attrs cat;
    cat.set("axis", int64_t{0});
    int merged = b.reshape(k, b.op("Concat", {b.ints({-1}), pick({2, 3})}, cat));  // [N*H, S, D]
    int t = b.transpose(merged, {0, 2, 1});
    kt = b.reshape(t, b.op("Concat", {pick({0, 1}), pick({3, 2})}, cat));  // [N, H, D, S]
  } else {
    kt = b.transpose(b.transpose(k4, {0, 2, 1, 3}), {0, 1, 3, 2});
  }
  int probs;
  if (sdpa) {
    probs = sdpa_scores(b, q, kt, mask, -INFINITY, static_cast<double>(head_dim));
  } else {
    int s = b.ew("div", b.matmul(q, kt), b.scalar(std::sqrt(static_cast<double>(head_dim))));
    probs = b.softmax(b.ew("sum", s, mask));
  }
  int y = b.transpose(b.matmul(probs, v), {0, 2, 1, 3});
  int merged = b.reshape(y, b.ints({0, 0, hidden}));
  b.output(proj(merged));
  return a;
}

// Softmax fusion then attention fusion, as the pipeline runs them.
Result<int> softmax_then_attention(ir::Graph& g, const passes::PassOptions& o) {
  KILN_ASSIGN_OR_RETURN(int s, passes::fuse_softmax(g, o));
  (void)s;
  KILN_RETURN_IF_ERROR(g.infer_shapes());
  return passes::fuse_attention(g, o);
}

TEST(AttentionFusion, ExportFormsBecomeOneNodeOnThePackedProjections) {
  std::mt19937 rng(13);
  for (int k_form = 0; k_form < 3; ++k_form) {
    for (bool sdpa : {true, false}) {
      AttentionGraph a = attention_graph(k_form, sdpa, rng);
      auto [g, n] = apply(a.b.g, softmax_then_attention, a.inputs, 1e-4);
      SCOPED_TRACE("k form " + std::to_string(k_form) + (sdpa ? " sdpa" : " eager"));
      EXPECT_EQ(n, 1);
      EXPECT_EQ(count_ops(g, "Attention"), 1);
      EXPECT_EQ(count_ops(g, "Softmax"), 0);
      EXPECT_EQ(count_ops(g, "Transpose"), 0);
      EXPECT_EQ(count_ops(g, "Reshape"), 0);
      EXPECT_EQ(count_ops(g, "Select"), 0);
      EXPECT_EQ(count_ops(g, "FloatClass"), 0);
      const ir::Node* at = find_op(g, "Attention");
      ASSERT_NE(at, nullptr);
      for (const char* l : {"q_layout", "k_layout", "v_layout", "y_layout"}) {
        EXPECT_EQ(at->attrs.get_string(l), "bsd") << l;
      }
      EXPECT_EQ(at->attrs.get_int("num_heads"), kHeads);
      EXPECT_NEAR(at->attrs.get_float("scale"), 1.0 / std::sqrt(8.0), 1e-6);
      EXPECT_EQ(at->attrs.get_int("nan_to_zero", 0), sdpa ? 1 : 0);
      ASSERT_EQ(at->inputs.size(), 4u);
      EXPECT_EQ(at->inputs[3], g.inputs()[1]);  // the mask input itself
    }
  }
}

TEST(AttentionFusion, HeadsMajorTensorsWithoutPackedForms) {
  // [B*H, S, D] tensors (rank 3): the layouts stay heads-major, Kᵀ as bhds.
  std::mt19937 rng(14);
  GraphBuilder b;
  int q = b.input("q", DataType::kFloat32, {6, 5, 8});
  int kt = b.input("kt", DataType::kFloat32, {6, 8, 7});
  int v = b.input("v", DataType::kFloat32, {6, 7, 3});
  b.output(b.matmul(b.softmax(b.ew("prod", b.matmul(q, kt), b.scalar(0.3))), v));
  auto [g, n] = apply(b.g, softmax_then_attention,
                      {random_tensor(DataType::kFloat32, {6, 5, 8}, rng),
                       random_tensor(DataType::kFloat32, {6, 8, 7}, rng),
                       random_tensor(DataType::kFloat32, {6, 7, 3}, rng)});
  EXPECT_EQ(n, 1);
  ASSERT_EQ(g.num_nodes(), 1);
  EXPECT_EQ(g.node(0).op, "Attention");
  EXPECT_EQ(g.node(0).attrs.get_string("q_layout"), "bhsd");
  EXPECT_EQ(g.node(0).attrs.get_string("k_layout"), "bhds");
}

TEST(AttentionFusion, NotMatchedWhenProbabilitiesAreUsedOrMatMulHasBias) {
  std::mt19937 rng(15);
  auto inputs = std::vector<HostTensor>{random_tensor(DataType::kFloat32, {6, 5, 8}, rng),
                                        random_tensor(DataType::kFloat32, {6, 8, 7}, rng),
                                        random_tensor(DataType::kFloat32, {6, 7, 3}, rng)};
  {
    GraphBuilder b;
    int q = b.input("q", DataType::kFloat32, {6, 5, 8});
    int kt = b.input("kt", DataType::kFloat32, {6, 8, 7});
    int v = b.input("v", DataType::kFloat32, {6, 7, 3});
    int p = b.softmax(b.matmul(q, kt));
    b.output(b.matmul(p, v));
    b.output(p);  // attention weights are an output (output_attentions=True)
    auto [g, n] = apply(b.g, softmax_then_attention, inputs);
    EXPECT_EQ(n, 0);
    EXPECT_EQ(count_ops(g, "Attention"), 0);
  }
  {
    GraphBuilder b;
    int q = b.input("q", DataType::kFloat32, {6, 5, 8});
    int kt = b.input("kt", DataType::kFloat32, {6, 8, 7});
    int v = b.input("v", DataType::kFloat32, {6, 7, 3});
    int s = b.op("MatMul", {q, kt, b.constant(random_tensor(DataType::kFloat32, {7}, rng))});
    b.output(b.matmul(b.softmax(s), v));
    auto [g, n] = apply(b.g, softmax_then_attention, inputs);
    EXPECT_EQ(n, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Elementwise chains

TEST(ElementwiseFusion, ChainWithActivationUnaryAndCast) {
  std::mt19937 rng(16);
  GraphBuilder b;
  int x = b.input("x", DataType::kFloat32, {-1, 6}, {"N", ""});
  int y = b.input("y", DataType::kFloat32, {6});
  int t = b.ew("sum", b.ew("prod", x, b.scalar(2.0)), y);
  t = b.unary("exp", b.ew("min", b.act("relu", t), b.scalar(3.0)));
  b.output(b.cast(t, DataType::kFloat16));
  auto [g, n] = apply(
      b.g, passes::fuse_elementwise,
      {random_tensor(DataType::kFloat32, {4, 6}, rng), random_tensor(DataType::kFloat32, {6}, rng)},
      2e-3);
  EXPECT_EQ(n, 1);
  ASSERT_EQ(g.num_nodes(), 1);
  EXPECT_EQ(g.node(0).op, "FusedElementwise");
  EXPECT_EQ(g.node(0).inputs.size(), 2u);  // x and y; the scalars are immediates
  EXPECT_EQ(g.node(0).attrs.get_string("dtype"), "float16");
  EXPECT_EQ(g.node(0).fused.size(), 6u);
}

TEST(ElementwiseFusion, MaskArithmeticFromIntegers) {
  // The pre-SDPA BERT mask: (1 - float(mask[:, None, None, :])) * -10000, one kernel.
  std::mt19937 rng(17);
  GraphBuilder b;
  int m = b.input("m", DataType::kInt64, {-1, 1, 1, -1}, {"N", "", "", "S"});
  b.output(
      b.ew("prod", b.ew("sub", b.scalar(1.0), b.cast(m, DataType::kFloat32)), b.scalar(-10000.0)));
  auto [g, n] = apply(b.g, passes::fuse_elementwise,
                      {random_tensor(DataType::kInt64, {2, 1, 1, 5}, rng, 0, 1)}, 0);
  EXPECT_EQ(n, 1);
  ASSERT_EQ(g.num_nodes(), 1);
  EXPECT_EQ(g.node(0).op, "FusedElementwise");
  EXPECT_EQ(g.value(g.node(0).inputs[0]).dtype, DataType::kInt64);
}

TEST(ElementwiseFusion, DiamondAndWhere) {
  std::mt19937 rng(18);
  GraphBuilder b;
  int x = b.input("x", DataType::kFloat32, {3, 4});
  int c = b.input("c", DataType::kBool, {3, 1});
  int e = b.unary("exp", x);
  int s = b.ew("sum", e, b.unary("neg", x));
  b.output(b.where(c, s, b.ew("div", e, b.scalar(4.0))));
  auto [g, n] = apply(b.g, passes::fuse_elementwise,
                      {random_tensor(DataType::kFloat32, {3, 4}, rng),
                       random_tensor(DataType::kBool, {3, 1}, rng, -1, 1)});
  EXPECT_EQ(n, 1);
  ASSERT_EQ(g.num_nodes(), 1);
  EXPECT_EQ(g.node(0).fused.size(), 5u);
}

TEST(ElementwiseFusion, OutputsAndOtherUsersSplitTheChains) {
  std::mt19937 rng(19);
  GraphBuilder b;
  int x = b.input("x", DataType::kFloat32, {3, 4});
  int a = b.unary("exp", b.ew("prod", x, b.scalar(2.0)));  // an output: its chain ends here
  int s = b.op("Softmax", {a});                            // another user of a
  b.output(a);
  b.output(b.unary("sqrt", b.act("relu", s)));
  auto [g, n] =
      apply(b.g, passes::fuse_elementwise, {random_tensor(DataType::kFloat32, {3, 4}, rng)});
  EXPECT_EQ(n, 2);  // (prod, exp) and (relu, sqrt)
  EXPECT_EQ(count_ops(g, "FusedElementwise"), 2);
  EXPECT_EQ(count_ops(g, "Softmax"), 1);
  // The output value a is still produced (by the first group).
  const int producer = g.value(g.outputs()[0]).producer;
  ASSERT_GE(producer, 0);
  EXPECT_EQ(g.node(producer).op, "FusedElementwise");
}

TEST(ElementwiseFusion, SingleNodesStay) {
  std::mt19937 rng(20);
  GraphBuilder b;
  int x = b.input("x", DataType::kFloat32, {3, 4});
  b.output(b.ew("sum", x, b.scalar(1.0)));
  auto [g, n] =
      apply(b.g, passes::fuse_elementwise, {random_tensor(DataType::kFloat32, {3, 4}, rng)});
  EXPECT_EQ(n, 0);
  EXPECT_EQ(count_ops(g, "ElementWise"), 1);
}

}  // namespace
}  // namespace kiln::fusion_passes_test

// QKV projections
namespace kiln::fusion_passes_test {
namespace {

Result<int> through_qkv(ir::Graph& g, const passes::PassOptions& o) {
  KILN_ASSIGN_OR_RETURN(int b, passes::fuse_bias_activation(g, o));
  (void)b;
  KILN_RETURN_IF_ERROR(g.infer_shapes());
  KILN_ASSIGN_OR_RETURN(int a, softmax_then_attention(g, o));
  (void)a;
  passes::remove_dead_code(g);
  KILN_RETURN_IF_ERROR(g.infer_shapes());
  return passes::fuse_qkv(g, o);
}

TEST(QkvFusion, ProjectionsBecomeOneGemm) {
  std::mt19937 rng(21);
  for (int k_form = 0; k_form < 2; ++k_form) {
    AttentionGraph a = attention_graph(k_form, true, rng);
    auto [g, n] = apply(a.b.g, through_qkv, a.inputs, 1e-4);
    EXPECT_EQ(n, 1);
    EXPECT_EQ(count_ops(g, "MatMul"), 2);  // QKV and the output projection
    const ir::Node* at = find_op(g, "Attention");
    ASSERT_NE(at, nullptr);
    EXPECT_EQ(at->attrs.get_int("qkv_packed"), 1);
    EXPECT_EQ(at->inputs[0], at->inputs[1]);
    EXPECT_EQ(at->inputs[0], at->inputs[2]);
    const ir::Node& qkv = g.node(g.value(at->inputs[0]).producer);
    EXPECT_EQ(qkv.op, "MatMul");
    ASSERT_EQ(qkv.inputs.size(), 3u);
    EXPECT_EQ(g.value(qkv.inputs[1]).constant->shape(), (Dims{kHidden, 3 * kHidden}));
    EXPECT_EQ(g.value(qkv.inputs[2]).constant->shape(), (Dims{3 * kHidden}));
  }
}

// The passes that move weights on the build's thread pool (QKV packing, float16 / bfloat16
// casts) give the same constants as inline: hidden 256 splits the packing into row chunks and
// each cast into several chunks (one of them ragged).
TEST(QkvFusion, ThreadPoolGivesTheSameConstants) {
  std::mt19937 rng(23);
  AttentionGraph a = attention_graph(0, true, rng, /*heads=*/8, /*head_dim=*/32);
  ThreadPool pool(4);
  for (DataType precision : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    std::vector<ir::Graph> out;
    for (ThreadPool* threads : {static_cast<ThreadPool*>(nullptr), &pool}) {
      ir::Graph g = a.b.g;
      passes::PassOptions o;
      o.threads = threads;
      o.reduced_precision = precision;
      Status s = passes::run_passes(g, o);
      ASSERT_TRUE(s.is_ok()) << s.to_string();
      out.push_back(std::move(g));
    }
    const ir::Node* at = find_op(out[1], "Attention");
    ASSERT_NE(at, nullptr) << dtype_name(precision);
    ASSERT_EQ(at->attrs.get_int("qkv_packed"), 1) << dtype_name(precision);
    const HostTensor& packed =
        *out[1].value(out[1].node(out[1].value(at->inputs[0]).producer).inputs[1]).constant;
    EXPECT_EQ(packed.shape(), (Dims{256, 768})) << dtype_name(precision);
    EXPECT_EQ(packed.dtype(), precision);
    ASSERT_EQ(out[0].num_values(), out[1].num_values()) << dtype_name(precision);
    for (int v = 0; v < out[0].num_values(); ++v) {
      const auto& c0 = out[0].value(v).constant;
      const auto& c1 = out[1].value(v).constant;
      ASSERT_EQ(c0.has_value(), c1.has_value()) << out[0].value(v).name;
      if (!c0) continue;
      ASSERT_EQ(c0->dtype(), c1->dtype()) << out[0].value(v).name;
      ASSERT_EQ(c0->nbytes(), c1->nbytes()) << out[0].value(v).name;
      EXPECT_EQ(std::memcmp(c0->data(), c1->data(), c0->nbytes()), 0)
          << out[0].value(v).name << " " << dtype_name(precision);
    }
  }
  // The packed float32 weights are the three projections side by side, row by row.
  ir::Graph g = a.b.g;
  passes::PassOptions o;
  o.threads = &pool;
  ASSERT_TRUE(passes::run_passes(g, o).is_ok());
  const ir::Node* at = find_op(g, "Attention");
  ASSERT_NE(at, nullptr);
  const ir::Node& qkv = g.node(g.value(at->inputs[0]).producer);
  const HostTensor& packed = *g.value(qkv.inputs[1]).constant;
  std::vector<const HostTensor*> parts;
  for (int i = 0; i < a.b.g.num_nodes(); ++i) {
    const ir::Node& n = a.b.g.node(i);
    if (n.op == "MatMul" && a.b.g.is_constant(n.inputs[1]) && n.inputs[0] == a.b.g.inputs()[0]) {
      parts.push_back(&*a.b.g.value(n.inputs[1]).constant);
    }
  }
  ASSERT_EQ(parts.size(), 3u);
  for (int64_t r = 0; r < 256; ++r) {
    for (int p = 0; p < 3; ++p) {
      ASSERT_EQ(std::memcmp(packed.as<float>() + r * 768 + p * 256, parts[p]->as<float>() + r * 256,
                            256 * sizeof(float)),
                0)
          << "row " << r << " part " << p;
    }
  }
}

TEST(QkvFusion, NotMergedForCrossAttentionOrUsedProjections) {
  std::mt19937 rng(22);
  // Cross-attention: K and V project another input.
  {
    GraphBuilder b;
    int x = b.input("x", DataType::kFloat32, {2, 5, 16});
    int m = b.input("m", DataType::kFloat32, {2, 7, 16});
    auto proj = [&](int in) {
      return b.op("MatMul", {in, b.constant(random_tensor(DataType::kFloat32, {16, 16}, rng)),
                             b.constant(random_tensor(DataType::kFloat32, {16}, rng))});
    };
    ir::Attrs at;
    for (const char* l : {"q_layout", "k_layout", "v_layout", "y_layout"})
      at.set(l, std::string("bsd"));
    at.set("num_heads", int64_t{2});
    b.output(b.op("Attention", {proj(x), proj(m), proj(m)}, at));
    auto [g, n] = apply(b.g, passes::fuse_qkv,
                        {random_tensor(DataType::kFloat32, {2, 5, 16}, rng),
                         random_tensor(DataType::kFloat32, {2, 7, 16}, rng)});
    EXPECT_EQ(n, 0);
    EXPECT_EQ(count_ops(g, "MatMul"), 3);
  }
  // The K projection is also an output.
  {
    GraphBuilder b;
    int x = b.input("x", DataType::kFloat32, {2, 5, 16});
    auto proj = [&](int in) {
      return b.op("MatMul", {in, b.constant(random_tensor(DataType::kFloat32, {16, 16}, rng))});
    };
    ir::Attrs at;
    for (const char* l : {"q_layout", "k_layout", "v_layout", "y_layout"})
      at.set(l, std::string("bsd"));
    at.set("num_heads", int64_t{2});
    int k = proj(x);
    b.output(b.op("Attention", {proj(x), k, proj(x)}, at));
    b.output(k);
    auto [g, n] =
        apply(b.g, passes::fuse_qkv, {random_tensor(DataType::kFloat32, {2, 5, 16}, rng)});
    EXPECT_EQ(n, 0);
  }
}

}  // namespace
}  // namespace kiln::fusion_passes_test

namespace kiln::fusion_passes_test {
namespace {

TEST(QkvFusion, SplitOfOneGemmIsReadThrough) {
  // GPT-2's c_attn: one GEMM, Split into Q, K, V along the last axis.
  std::mt19937 rng(23);
  GraphBuilder b;
  int x = b.input("x", DataType::kFloat32, {-1, 5, 16}, {"N", "", ""});
  int qkv = b.matmul(x, b.constant(random_tensor(DataType::kFloat32, {16, 48}, rng)));
  ir::Attrs sa;
  sa.set("axis", int64_t{-1});
  const int split = b.g.add_node("Split", "split", {qkv}, 3, sa);
  ASSERT_TRUE(b.g.infer_node(split).is_ok());
  ir::Attrs at;
  for (const char* l : {"q_layout", "k_layout", "v_layout", "y_layout"})
    at.set(l, std::string("bsd"));
  at.set("num_heads", int64_t{2});
  const auto& outs = b.g.node(split).outputs;
  b.output(b.op("Attention", {outs[0], outs[1], outs[2]}, at));
  auto [g, n] = apply(b.g, passes::fuse_qkv, {random_tensor(DataType::kFloat32, {3, 5, 16}, rng)});
  EXPECT_EQ(n, 1);
  EXPECT_EQ(count_ops(g, "Split"), 0);
  const ir::Node* a = find_op(g, "Attention");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->attrs.get_int("qkv_packed"), 1);
  EXPECT_EQ(g.node(g.value(a->inputs[0]).producer).op, "MatMul");
}

}  // namespace
}  // namespace kiln::fusion_passes_test

namespace kiln::fusion_passes_test {
namespace {

TEST(PrecisionShape, ShapeReadsTheReducedTensorWithoutACastBack) {
  std::mt19937 rng(30);
  GraphBuilder b;
  int x = b.input("x", DataType::kFloat32, {-1, 8}, {"N", ""});
  int r = b.act("relu", x);
  int s = b.op("Shape", {r});
  b.output(b.reshape(b.act("sigmoid", r), s));
  ir::Graph g = b.g;
  auto n = passes::reduce_precision(g, DataType::kFloat16);
  ASSERT_TRUE(n.is_ok()) << n.status().to_string();
  // Casts: x to float16 and the output back to float32; none for the Shape.
  EXPECT_EQ(count_ops(g, "Cast"), 2);
  const ir::Node* shape = find_op(g, "Shape");
  ASSERT_NE(shape, nullptr);
  EXPECT_EQ(g.value(shape->inputs[0]).dtype, DataType::kFloat16);
  const std::vector<HostTensor> in = {random_tensor(DataType::kFloat32, {3, 8}, rng)};
  auto want = evaluate_reference(b.g, in);
  auto got = evaluate_reference(g, in);
  ASSERT_TRUE(want.is_ok() && got.is_ok());
  EXPECT_TRUE(all_close((*got)[0], (*want)[0], 1e-3, 2e-3));
}

}  // namespace
}  // namespace kiln::fusion_passes_test
