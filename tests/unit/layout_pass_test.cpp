// The layout pass (src/passes/layout.cpp) with a fake cost model: which nodes become NHWC, where
// the Transposes go, that the rewritten graph computes the same outputs as the original (both
// evaluated with the CPU reference kernels, which implement channels_last), that a graph without
// convolutions and the CPU backend's builds are unchanged, and that reduced precision plus
// layouts leave one Cast and one Transpose at the input of a ResNet-like network.
#include <kiln/kiln.h>

#include "builder/build.h"
#include "common/op_harness.h"
#include "common/reference_eval.h"
#include "common/small_resnet.h"
#include "ir/shape_eval.h"
#include "network/network_state.h"
#include "ops/common/layout.h"
#include "passes/pass.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <set>

namespace kiln::layout_pass_test {
namespace {

using testing::all_close;
using testing::evaluate_reference;
using testing::random_tensor;

// Costs: Conv / Pooling per layout, Transpose in proportion to its bytes (at batch 1), or a
// custom function. Records what was asked.
class FakeCosts final : public passes::LayoutCostModel {
 public:
  double conv_first = 10, conv_last = 1, pool_first = 2, pool_last = 1, bn_first = 2, bn_last = 1;
  double transpose_per_byte = 1e-4;
  std::function<bool(const ir::Node&)> no_nhwc;  // nodes without an NHWC tactic
  std::vector<std::string> asked;

  Result<double> node_time(const ir::Graph& g, int node) override {
    const ir::Node& n = g.node(node);
    const bool last = ops::channels_last(n.attrs);
    asked.push_back(n.op + (last ? "/nhwc" : "/nchw"));
    if (last && no_nhwc && no_nhwc(n)) return unsupported("no NHWC tactic");
    if (n.op == "Conv") return last ? conv_last : conv_first;
    if (n.op == "Pooling") return last ? pool_last : pool_first;
    if (n.op == "BatchNorm") return last ? bn_last : bn_first;
    if (n.op == "Transpose") {
      std::vector<int64_t> symbols(g.symbols().size(), 1);
      auto dims = ir::eval_shape(g.value(n.inputs[0]).shape, symbols);
      if (!dims.is_ok()) return dims.status();
      int64_t numel = 1;
      for (int64_t d : *dims) numel *= d;
      return transpose_per_byte * static_cast<double>(numel) *
             static_cast<double>(dtype_size(g.value(n.inputs[0]).dtype));
    }
    return internal_error("unexpected cost query for " + n.op);
  }
};

// A small graph builder over ir::Graph (float32 unless said otherwise).
struct Net {
  ir::Graph g;
  std::mt19937 rng{7};

  int input(const std::string& name, Dims dims, DataType dt = DataType::kFloat32) {
    return g.add_input(name, dt, dims);
  }
  int constant(const std::string& name, Dims dims, DataType dt = DataType::kFloat32) {
    return g.add_constant(name, random_tensor(dt, dims, rng, -0.5, 0.5));
  }
  int node(const std::string& op, const std::string& name, std::vector<int> ins, ir::Attrs a = {}) {
    const int id = g.add_node(op, name, std::move(ins), 1, std::move(a));
    Status s = g.infer_node(id);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    return g.node(id).outputs[0];
  }
  int conv(const std::string& name, int x, int64_t cin, int64_t cout, int64_t k, int64_t stride,
           const std::string& act = "", int z = -1, bool bias = true) {
    ir::Attrs a;
    a.set("strides", std::vector<int64_t>{stride, stride});
    const int64_t p = k / 2;
    a.set("pads", std::vector<int64_t>{p, p, p, p});
    if (!act.empty()) a.set("activation", act);
    std::vector<int> ins = {x, constant(name + ".w", {cout, cin, k, k})};
    if (bias || z >= 0) ins.push_back(bias ? constant(name + ".b", {cout}) : -1);
    if (z >= 0) ins.push_back(z);
    return node("Conv", name, ins, a);
  }
  int pool(const std::string& name, int x, const std::string& type, bool global) {
    ir::Attrs a;
    a.set("type", type);
    if (global) {
      a.set("global", int64_t{1});
    } else {
      a.set("kernel", std::vector<int64_t>{3, 3});
      a.set("strides", std::vector<int64_t>{2, 2});
      a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    }
    return node("Pooling", name, {x}, a);
  }
  int eltwise(const std::string& name, const std::string& op, int a, int b) {
    ir::Attrs at;
    at.set("op", op);
    return node("ElementWise", name, {a, b}, at);
  }
  int act(const std::string& name, int x, const std::string& type = "relu") {
    ir::Attrs a;
    a.set("type", type);
    return node("Activation", name, {x}, a);
  }
  // Flatten as the ONNX importer writes it with a dynamic batch: Shape -> Concat -> Reshape.
  int flatten(const std::string& name, int x, int64_t cols) {
    ir::Attrs sa;
    sa.set("start", int64_t{0});
    sa.set("end", int64_t{1});
    const int rows = node("Shape", name + ".rows", {x}, sa);
    HostTensor c(DataType::kInt64, {1});
    c.as<int64_t>()[0] = cols;
    const int colv = g.add_constant(name + ".cols", c);
    ir::Attrs ca;
    ca.set("axis", int64_t{0});
    const int target = node("Concat", name + ".shape", {rows, colv}, ca);
    ir::Attrs ra;
    ra.set("allowzero", int64_t{1});
    return node("Reshape", name, {x, target}, ra);
  }
  int matmul(const std::string& name, int a, int64_t k, int64_t n) {
    return node("MatMul", name, {a, constant(name + ".w", {k, n}), constant(name + ".b", {n})});
  }
};

// conv-pool-residual blocks-global pool-flatten-fc, as in ResNet (unfused: separate bias-free
// adds and ReLUs are fused by the passes where a test runs them).
Net resnet_like(bool fused_form) {
  Net n;
  int x = n.input("x", {-1, 3, 16, 16});
  int c1 = n.conv("conv1", x, 3, 8, 3, 2, "relu");
  int p = n.pool("maxpool", c1, "max", false);
  int a = n.conv("b1.conv1", p, 8, 8, 3, 1, "relu");
  int b;
  if (fused_form) {
    b = n.conv("b1.conv2", a, 8, 8, 3, 1, "relu", p);
  } else {
    b = n.act("b1.relu", n.eltwise("b1.add", "sum", n.conv("b1.conv2", a, 8, 8, 3, 1), p));
  }
  int d1 = n.conv("b2.conv1", b, 8, 16, 3, 2, "relu");
  int ds = n.conv("b2.down", b, 8, 16, 1, 2);
  int d2;
  if (fused_form) {
    d2 = n.conv("b2.conv2", d1, 16, 16, 3, 1, "relu", ds);
  } else {
    d2 = n.act("b2.relu", n.eltwise("b2.add", "sum", n.conv("b2.conv2", d1, 16, 16, 3, 1), ds));
  }
  int gap = n.pool("gap", d2, "average", true);
  int flat = n.flatten("flatten", gap, 16);
  int fc = n.matmul("fc", flat, 16, 10);
  n.g.mark_output(fc);
  EXPECT_TRUE(n.g.validate().is_ok());
  return n;
}

int count_ops(const ir::Graph& g, const std::string& op) {
  int c = 0;
  for (int i = 0; i < g.num_nodes(); ++i) c += !g.node(i).removed && g.node(i).op == op;
  return c;
}

const ir::Node* find_node(const ir::Graph& g, const std::string& name) {
  for (int i = 0; i < g.num_nodes(); ++i) {
    if (!g.node(i).removed && g.node(i).name == name) return &g.node(i);
  }
  return nullptr;
}

bool is_last(const ir::Graph& g, const std::string& name) {
  const ir::Node* n = find_node(g, name);
  return n != nullptr && ops::channels_last(n->attrs);
}

// Runs the pass on a copy; the rewritten graph must validate and match the original's outputs.
ir::Graph assign_and_compare(const ir::Graph& original, passes::LayoutCostModel& costs,
                             const std::vector<HostTensor>& inputs,
                             passes::LayoutStats* stats = nullptr, double tol = 1e-5) {
  ir::Graph g = original;
  auto r = passes::assign_layouts(g, costs, {});
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  if (r.is_ok() && stats) *stats = *r;
  Status v = g.validate();
  EXPECT_TRUE(v.is_ok()) << v.to_string();
  auto want = evaluate_reference(original, inputs);
  auto got = evaluate_reference(g, inputs);
  EXPECT_TRUE(want.is_ok()) << want.status().to_string();
  EXPECT_TRUE(got.is_ok()) << got.status().to_string();
  if (want.is_ok() && got.is_ok()) {
    EXPECT_EQ(got->size(), want->size());
    for (size_t i = 0; i < want->size() && i < got->size(); ++i) {
      EXPECT_TRUE(all_close((*got)[i], (*want)[i], tol, tol)) << "output " << i;
    }
  }
  return g;
}

TEST(LayoutPass, ResNetLikeRunsNhwcWithOneTransposeAtTheInput) {
  Net n = resnet_like(true);
  FakeCosts costs;
  std::mt19937 rng(1);
  passes::LayoutStats stats;
  ir::Graph g = assign_and_compare(
      n.g, costs, {random_tensor(DataType::kFloat32, {2, 3, 16, 16}, rng)}, &stats);
  for (const char* name :
       {"conv1", "maxpool", "b1.conv1", "b1.conv2", "b2.conv1", "b2.down", "b2.conv2", "gap"}) {
    EXPECT_TRUE(is_last(g, name)) << name;
  }
  EXPECT_EQ(stats.nhwc_nodes, 8);
  EXPECT_EQ(stats.reformats, 1);
  ASSERT_EQ(count_ops(g, "Transpose"), 1);
  for (int i = 0; i < g.num_nodes(); ++i) {
    const ir::Node& t = g.node(i);
    if (t.op != "Transpose") continue;
    EXPECT_EQ(t.inputs[0], g.inputs()[0]) << "the Transpose reads the network input";
    EXPECT_EQ(t.attrs.get_ints("perm"), (std::vector<int64_t>{0, 2, 3, 1}));
  }
  // The flatten reads the NHWC pooled tensor [N, 1, 1, C] directly; its Shape goes through a
  // Gather that puts the dims back in NCHW order.
  const ir::Node* flat = find_node(g, "flatten");
  ASSERT_NE(flat, nullptr);
  EXPECT_EQ(g.value(flat->inputs[0]).producer, find_node(g, "gap")->id);
  EXPECT_EQ(count_ops(g, "Gather"), 1);
  EXPECT_EQ(ir::shape_to_string(g.value(g.outputs()[0]).shape, g.symbol_names()),
            ir::shape_to_string(n.g.value(n.g.outputs()[0]).shape, n.g.symbol_names()));
  // Every compute node was priced in both layouts.
  EXPECT_EQ(std::count(costs.asked.begin(), costs.asked.end(), "Conv/nhwc"), 6);
  EXPECT_EQ(std::count(costs.asked.begin(), costs.asked.end(), "Conv/nchw"), 6);
}

TEST(LayoutPass, GraphWithoutConvolutionsIsUnchanged) {
  Net n;
  int x = n.input("x", {2, 4, 5, 5});
  int y = n.act("relu", n.eltwise("add", "sum", x, n.constant("c", {1, 4, 1, 1})));
  n.g.mark_output(y);
  FakeCosts costs;
  costs.transpose_per_byte = 0;  // even free reformats change nothing
  ir::Graph g = n.g;
  auto r = passes::assign_layouts(g, costs, {});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->nhwc_nodes, 0);
  EXPECT_EQ(r->reformats, 0);
  EXPECT_TRUE(costs.asked.empty());
  ASSERT_EQ(g.num_nodes(), n.g.num_nodes());
  ASSERT_EQ(g.num_values(), n.g.num_values());
  for (int i = 0; i < g.num_nodes(); ++i) {
    EXPECT_EQ(g.node(i).op, n.g.node(i).op);
    EXPECT_EQ(g.node(i).inputs, n.g.node(i).inputs);
    EXPECT_EQ(g.node(i).outputs, n.g.node(i).outputs);
    EXPECT_TRUE(g.node(i).attrs == n.g.node(i).attrs);
  }
}

TEST(LayoutPass, ReformatsDearerThanTheGainKeepNchw) {
  Net n;
  int x = n.input("x", {1, 8, 32, 32});
  n.g.mark_output(n.conv("conv", x, 8, 8, 3, 1, "relu"));
  FakeCosts costs;
  costs.conv_first = 2;
  costs.conv_last = 1;
  costs.transpose_per_byte = 1;  // 32 KiB tensors: far dearer than the 1 gained
  std::mt19937 rng(2);
  passes::LayoutStats stats;
  ir::Graph g = assign_and_compare(
      n.g, costs, {random_tensor(DataType::kFloat32, {1, 8, 32, 32}, rng)}, &stats);
  EXPECT_FALSE(is_last(g, "conv"));
  EXPECT_EQ(count_ops(g, "Transpose"), 0);
  EXPECT_EQ(stats.nhwc_nodes, 0);
  // Cheap reformats: the same conv goes NHWC, with a Transpose on each side.
  costs.transpose_per_byte = 1e-6;
  ir::Graph g2 =
      assign_and_compare(n.g, costs, {random_tensor(DataType::kFloat32, {1, 8, 32, 32}, rng)});
  EXPECT_TRUE(is_last(g2, "conv"));
  EXPECT_EQ(count_ops(g2, "Transpose"), 2);
}

TEST(LayoutPass, FixedLayerInTheMiddleGetsReformatsAroundIt) {
  Net n;
  int x = n.input("x", {2, 4, 6, 6});
  int a = n.conv("conv_a", x, 4, 8, 3, 1, "relu");
  ir::Attrs sa;
  sa.set("axis", int64_t{1});
  int s = n.node("Softmax", "softmax", {a}, sa);  // not layout-aware: channels-first
  int b = n.conv("conv_b", s, 8, 8, 3, 1);
  n.g.mark_output(b);
  FakeCosts costs;
  std::mt19937 rng(3);
  ir::Graph g =
      assign_and_compare(n.g, costs, {random_tensor(DataType::kFloat32, {2, 4, 6, 6}, rng)});
  EXPECT_TRUE(is_last(g, "conv_a"));
  EXPECT_TRUE(is_last(g, "conv_b"));
  EXPECT_FALSE(is_last(g, "softmax"));
  // x -> NHWC, conv_a -> NCHW for the softmax, softmax -> NHWC, conv_b -> NCHW for the output.
  EXPECT_EQ(count_ops(g, "Transpose"), 4);
  const ir::Node* sm = find_node(g, "softmax");
  ASSERT_NE(sm, nullptr);
  EXPECT_EQ(g.node(g.value(sm->inputs[0]).producer).op, "Transpose");
}

TEST(LayoutPass, OneReformatPerTensorWhateverItsConsumers) {
  Net n;
  int x = n.input("x", {1, 4, 6, 6});
  int a = n.conv("conv", x, 4, 8, 3, 1, "relu");
  ir::Attrs sa;
  sa.set("axis", int64_t{1});
  n.g.mark_output(n.node("Softmax", "softmax1", {a}, sa));
  n.g.mark_output(n.node("Softmax", "softmax2", {a}, sa));
  n.g.mark_output(a);
  // Reformats: x 576 bytes -> 1.5, conv's output 1152 bytes -> 3. NHWC saves 9, so it pays when
  // the output's reformat counts once (4.5), not once per reader (10.5).
  FakeCosts costs;
  costs.transpose_per_byte = 0.0026;
  std::mt19937 rng(4);
  ir::Graph g =
      assign_and_compare(n.g, costs, {random_tensor(DataType::kFloat32, {1, 4, 6, 6}, rng)});
  ASSERT_TRUE(is_last(g, "conv"));
  EXPECT_EQ(count_ops(g, "Transpose"), 2);  // one in, one out for three channels-first readers
}

TEST(LayoutPass, ElementwiseConstantsArePermutedAndConcatAxisMoves) {
  Net n;
  int x = n.input("x", {2, 3, 8, 8});
  int a = n.conv("conv_a", x, 3, 4, 3, 1);
  int b = n.conv("conv_b", x, 3, 4, 1, 1);
  int s = n.eltwise("scale", "prod", a, n.constant("per_channel", {4, 1, 1}));
  int t = n.eltwise("shift", "sum", s, n.constant("row", {8}));  // broadcast along W
  int u = n.eltwise("bias", "sum", t, n.constant("full", {1, 4, 8, 8}));
  ir::Attrs ca;
  ca.set("axis", int64_t{1});
  int cat = n.node("Concat", "concat", {u, b}, ca);
  int r = n.act("relu", cat);
  n.g.mark_output(n.conv("conv_c", r, 8, 5, 3, 1));
  FakeCosts costs;
  std::mt19937 rng(5);
  ir::Graph g =
      assign_and_compare(n.g, costs, {random_tensor(DataType::kFloat32, {2, 3, 8, 8}, rng)});
  for (const char* name : {"conv_a", "conv_b", "conv_c"}) EXPECT_TRUE(is_last(g, name)) << name;
  const ir::Node* cat_node = find_node(g, "concat");
  ASSERT_NE(cat_node, nullptr);
  EXPECT_EQ(cat_node->attrs.get_int("axis"), 3);
  const ir::Node* scale = find_node(g, "scale");
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(g.value(scale->inputs[1]).constant->shape().to_string(),
            Dims({1, 1, 1, 4}).to_string());
  EXPECT_EQ(count_ops(g, "Transpose"), 2);  // input and output only
}

TEST(LayoutPass, ConvWithoutAnNhwcTacticStaysNchw) {
  Net n = resnet_like(true);
  FakeCosts costs;
  costs.no_nhwc = [](const ir::Node& node) { return node.name == "b2.down"; };
  std::mt19937 rng(6);
  ir::Graph g =
      assign_and_compare(n.g, costs, {random_tensor(DataType::kFloat32, {2, 3, 16, 16}, rng)});
  EXPECT_FALSE(is_last(g, "b2.down"));
  EXPECT_TRUE(is_last(g, "b2.conv2"));
  EXPECT_TRUE(is_last(g, "conv1"));
  // The 1x1 conv's input back to NCHW, its output to NHWC for the residual.
  EXPECT_EQ(count_ops(g, "Transpose"), 3);
}

// Pre-activation blocks (BN -> ReLU -> conv): the batch norm cannot fold into a conv and runs
// NHWC itself.
TEST(LayoutPass, UnfoldedBatchNormRunsNhwc) {
  Net n;
  int x = n.input("x", {2, 4, 6, 6});
  int a = n.conv("conv_a", x, 4, 8, 3, 1);
  int r = n.act("relu", a);
  int bn = n.node(
      "BatchNorm", "bn",
      {r, n.constant("bn.scale", {8}), n.constant("bn.bias", {8}), n.constant("bn.mean", {8}),
       n.g.add_constant("bn.var", random_tensor(DataType::kFloat32, {8}, n.rng, 0.5, 1.5))});
  n.g.mark_output(n.conv("conv_b", n.act("relu2", bn), 8, 8, 3, 1));
  FakeCosts costs;
  std::mt19937 rng(9);
  ir::Graph g =
      assign_and_compare(n.g, costs, {random_tensor(DataType::kFloat32, {2, 4, 6, 6}, rng)});
  for (const char* name : {"conv_a", "bn", "conv_b"}) EXPECT_TRUE(is_last(g, name)) << name;
  EXPECT_EQ(count_ops(g, "Transpose"), 2);
}

// The network API's flatten: Reshape with a "shape" attribute [0, -1] (0 copies the batch).
TEST(LayoutPass, FlattenByAttributeReadsTheNhwcTensor) {
  Net n;
  int x = n.input("x", {-1, 3, 8, 8});
  int gap = n.pool("gap", n.conv("conv", x, 3, 6, 3, 1, "relu"), "average", true);
  ir::Attrs ra;
  ra.set("shape", std::vector<int64_t>{0, -1});
  ra.set("allowzero", int64_t{0});
  n.g.mark_output(n.node("Reshape", "flatten", {gap}, ra));
  FakeCosts costs;
  std::mt19937 rng(10);
  ir::Graph g =
      assign_and_compare(n.g, costs, {random_tensor(DataType::kFloat32, {3, 3, 8, 8}, rng)});
  EXPECT_TRUE(is_last(g, "gap"));
  EXPECT_EQ(count_ops(g, "Transpose"), 1);
  // A target that copies dim 1 (the channels in NCHW, a unit dim in NHWC) must not read NHWC.
  Net m;
  int y = m.input("x", {-1, 3, 8, 8});
  int gap2 = m.pool("gap", m.conv("conv", y, 3, 6, 3, 1, "relu"), "average", true);
  ir::Attrs za;
  za.set("shape", std::vector<int64_t>{0, 0, -1});
  za.set("allowzero", int64_t{0});
  m.g.mark_output(m.node("Reshape", "keep_c", {gap2}, za));
  ir::Graph g2 =
      assign_and_compare(m.g, costs, {random_tensor(DataType::kFloat32, {3, 3, 8, 8}, rng)});
  EXPECT_EQ(count_ops(g2, "Transpose"), 2);
}

TEST(LayoutPass, ReduceOverSpatialDimsLeavesWithoutAReformat) {
  Net n;
  int x = n.input("x", {-1, 3, 8, 8});
  int a = n.conv("conv", x, 3, 6, 3, 1, "relu");
  ir::Attrs ra;
  ra.set("op", std::string("mean"));
  ra.set("axes", std::vector<int64_t>{2, 3});
  ra.set("keepdims", int64_t{0});
  n.g.mark_output(n.node("Reduce", "mean", {a}, ra));
  FakeCosts costs;
  std::mt19937 rng(7);
  ir::Graph g =
      assign_and_compare(n.g, costs, {random_tensor(DataType::kFloat32, {3, 3, 8, 8}, rng)});
  EXPECT_TRUE(is_last(g, "conv"));
  EXPECT_EQ(count_ops(g, "Transpose"), 1);
  EXPECT_EQ(find_node(g, "mean")->attrs.get_ints("axes"), (std::vector<int64_t>{1, 2}));
}

TEST(LayoutPass, Fp16ResNetHasOneCastAndOneTransposeAtTheInputAndOneCastAtTheOutput) {
  Net n = resnet_like(false);
  ir::Graph g = n.g;
  passes::PassOptions o;
  o.reduced_precision = DataType::kFloat16;
  ASSERT_TRUE(passes::run_passes(g, o).is_ok());
  // conv + add + relu fused: no ElementWise or Activation left.
  EXPECT_EQ(count_ops(g, "ElementWise"), 0);
  EXPECT_EQ(count_ops(g, "Activation"), 0);
  FakeCosts costs;
  std::mt19937 rng(8);
  ir::Graph after = assign_and_compare(
      g, costs, {random_tensor(DataType::kFloat32, {2, 3, 16, 16}, rng)}, nullptr);
  EXPECT_EQ(count_ops(after, "Cast"), 2);
  ASSERT_EQ(count_ops(after, "Transpose"), 1);
  for (int i = 0; i < after.num_nodes(); ++i) {
    const ir::Node& t = after.node(i);
    if (t.op == "Transpose") {
      // Reformatting the float16 tensor is cheaper than the float32 input: after the Cast.
      EXPECT_EQ(after.value(t.inputs[0]).dtype, DataType::kFloat16);
      EXPECT_EQ(after.node(after.value(t.inputs[0]).producer).op, "Cast");
    }
    if (t.op == "Conv") {
      EXPECT_TRUE(ops::channels_last(t.attrs)) << t.name;
    }
  }
}

// The network the GPU end-to-end test builds (tests/gpu/resnet_layout_cuda_test.cpp): the graph
// the CUDA builder makes of it (passes, then layouts with every conv and pool cheaper in NHWC)
// has the structure that test expects.
TEST(LayoutPass, SmallResNetFromTheNetworkApi) {
  Builder b;
  testing::WeightStore ws;
  auto net = testing::small_resnet(b, ws);
  ASSERT_TRUE(net->status().is_ok()) << net->status().to_string();
  for (bool fp16 : {false, true}) {
    ir::Graph g = net->state().graph;
    passes::PassOptions o;
    if (fp16) o.reduced_precision = DataType::kFloat16;
    ASSERT_TRUE(passes::run_passes(g, o).is_ok());
    EXPECT_EQ(count_ops(g, "Conv"), testing::kSmallResNetConvs);
    EXPECT_EQ(count_ops(g, "BatchNorm"), 0);
    EXPECT_EQ(count_ops(g, "Activation"), 0);
    EXPECT_EQ(count_ops(g, "ElementWise"), 0);
    FakeCosts costs;
    std::mt19937 rng(11);
    ir::Graph after =
        assign_and_compare(g, costs, {random_tensor(DataType::kFloat32, {2, 3, 32, 32}, rng)});
    EXPECT_EQ(count_ops(after, "Cast"), fp16 ? 2 : 0);
    EXPECT_EQ(count_ops(after, "Transpose"), 1);
    for (int i = 0; i < after.num_nodes(); ++i) {
      const ir::Node& n = after.node(i);
      if (n.op == "Conv" || n.op == "Pooling") {
        EXPECT_TRUE(ops::channels_last(n.attrs)) << n.name;
      }
    }
  }
}

TEST(LayoutPass, CpuBuildsKeepNchwWhateverThePolicy) {
  Net n = resnet_like(true);
  for (LayoutPolicy policy : {LayoutPolicy::kAuto, LayoutPolicy::kNhwc}) {
    BuildConfig config;
    config.backend = Backend::kCpu;
    config.layouts = policy;
    config.optimization_level = 0;
    OptimizationProfile p;
    p.set_shape("x", {1, 3, 16, 16}, {2, 3, 16, 16}, {4, 3, 16, 16});
    config.add_profile(p);
    auto desc = builder::build_engine_desc(n.g, config, default_logger(), {});
    ASSERT_TRUE(desc.is_ok()) << desc.status().to_string();
    EXPECT_EQ(count_ops(desc->graph, "Transpose"), 0);
    for (int i = 0; i < desc->graph.num_nodes(); ++i) {
      EXPECT_FALSE(ops::channels_last(desc->graph.node(i).attrs)) << desc->graph.node(i).name;
    }
  }
}

}  // namespace
}  // namespace kiln::layout_pass_test
