// Graph passes: each pattern is fused/folded as expected, and the optimized graph computes the
// same outputs as the original (both evaluated with reference kernels).
#include <kiln/kiln.h>

#include "common/op_harness.h"
#include "common/reference_eval.h"
#include "network/network_state.h"
#include "passes/pass.h"
#include "demo_model.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace kiln::passes_test {
namespace {

using testing::all_close;
using testing::evaluate_reference;
using testing::random_tensor;

std::vector<float> randoms(size_t n, std::mt19937& rng, float lo = -1, float hi = 1) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

int count_ops(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (int i = 0; i < g.num_nodes(); ++i) n += !g.node(i).removed && g.node(i).op == op;
  return n;
}

// Runs the passes on a copy of the network's graph and checks outputs against the original.
ir::Graph optimize_and_compare(const Network& net, const std::vector<HostTensor>& inputs) {
  ir::Graph original = net.state().graph;
  EXPECT_TRUE(net.status().is_ok()) << net.status().to_string();
  ir::Graph g = original;
  passes::PassOptions options;
  Status s = passes::run_passes(g, options);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_TRUE(g.validate().is_ok());
  auto want = evaluate_reference(original, inputs);
  auto got = evaluate_reference(g, inputs);
  EXPECT_TRUE(want.is_ok()) << want.status().to_string();
  EXPECT_TRUE(got.is_ok()) << got.status().to_string();
  if (want.is_ok() && got.is_ok()) {
    for (size_t i = 0; i < want->size(); ++i) {
      EXPECT_TRUE(all_close((*got)[i], (*want)[i], 1e-4, 1e-4)) << "output " << i;
    }
  }
  return g;
}

TEST(Passes, ConvBatchNormReluFoldsIntoOneConv) {
  std::mt19937 rng(1);
  Builder b;
  auto net = b.create_network();
  Tensor* x = net->add_input("x", DataType::kFloat32, {-1, 3, 8, 8});
  auto w = randoms(4 * 3 * 9, rng), bias = randoms(4, rng);
  Layer* conv = net->add_convolution(x, {.out_channels = 4, .kernel = {3, 3}, .padding = {1, 1}},
                                     Weights(w), Weights(bias));
  auto sc = randoms(4, rng, 0.5, 1.5), sh = randoms(4, rng), mean = randoms(4, rng),
       var = randoms(4, rng, 0.1, 2);
  Layer* bn = net->add_batch_norm(conv->output(0), Weights(sc), Weights(sh), Weights(mean),
                                  Weights(var), 1e-3f);
  Layer* relu = net->add_activation(bn->output(0), ActivationType::kRelu);
  net->mark_output(relu->output(0));
  ir::Graph g = optimize_and_compare(*net, {random_tensor(DataType::kFloat32, {2, 3, 8, 8}, rng)});
  EXPECT_EQ(g.num_nodes(), 1);
  EXPECT_EQ(count_ops(g, "Conv"), 1);
  EXPECT_EQ(g.node(0).attrs.get_string("activation"), "relu");
  EXPECT_EQ(g.node(0).fused.size(), 2u);
}

TEST(Passes, ConvResidualAddAndBiasAdd) {
  std::mt19937 rng(2);
  Builder b;
  auto net = b.create_network();
  Tensor* x = net->add_input("x", DataType::kFloat32, {1, 4, 6, 6});
  auto w = randoms(4 * 4 * 9, rng);
  Layer* conv = net->add_convolution(x, {.out_channels = 4, .kernel = {3, 3}, .padding = {1, 1}},
                                     Weights(w));
  auto cb = randoms(4, rng);
  Layer* cbias = net->add_constant({1, 4, 1, 1}, Weights(cb));
  Layer* add_bias = net->add_elementwise(conv->output(0), cbias->output(0), ElementWiseOp::kSum);
  Layer* residual = net->add_elementwise(add_bias->output(0), x, ElementWiseOp::kSum);
  Layer* act = net->add_activation(residual->output(0), ActivationType::kLeakyRelu, 0.2f);
  net->mark_output(act->output(0));
  ir::Graph g = optimize_and_compare(*net, {random_tensor(DataType::kFloat32, {1, 4, 6, 6}, rng)});
  ASSERT_EQ(g.num_nodes(), 1);
  const auto& n = g.node(0);
  EXPECT_EQ(n.op, "Conv");
  ASSERT_EQ(n.inputs.size(), 4u);
  EXPECT_TRUE(g.is_constant(n.inputs[2]));
  EXPECT_EQ(n.inputs[3], g.inputs()[0]);
  EXPECT_EQ(n.attrs.get_string("activation"), "leaky_relu");
}

TEST(Passes, MatMulBiasGelu) {
  std::mt19937 rng(3);
  Builder b;
  auto net = b.create_network();
  Tensor* x = net->add_input("x", DataType::kFloat32, {-1, 16});
  auto w = randoms(16 * 8, rng), bias = randoms(8, rng);
  Layer* wc = net->add_constant({16, 8}, Weights(w));
  Layer* bc = net->add_constant({1, 8}, Weights(bias));
  Layer* mm = net->add_matrix_multiply(x, MatrixOp::kNone, wc->output(0), MatrixOp::kNone);
  Layer* add = net->add_elementwise(mm->output(0), bc->output(0), ElementWiseOp::kSum);
  Layer* gelu = net->add_activation(add->output(0), ActivationType::kGeluErf);
  net->mark_output(gelu->output(0));
  ir::Graph g = optimize_and_compare(*net, {random_tensor(DataType::kFloat32, {5, 16}, rng)});
  ASSERT_EQ(g.num_nodes(), 1);
  EXPECT_EQ(g.node(0).op, "MatMul");
  EXPECT_EQ(g.node(0).attrs.get_string("activation"), "gelu_erf");
  EXPECT_TRUE(g.is_constant(g.node(0).inputs[2]));
}

TEST(Passes, NoFusionWhenIntermediateIsUsedTwiceOrIsOutput) {
  std::mt19937 rng(4);
  Builder b;
  auto net = b.create_network();
  Tensor* x = net->add_input("x", DataType::kFloat32, {2, 8});
  auto w = randoms(64, rng);
  Layer* wc = net->add_constant({8, 8}, Weights(w));
  Layer* mm = net->add_matrix_multiply(x, MatrixOp::kNone, wc->output(0), MatrixOp::kNone);
  Layer* relu = net->add_activation(mm->output(0), ActivationType::kRelu);
  net->mark_output(relu->output(0));
  net->mark_output(mm->output(0));  // the matmul result is an output too: no fusion
  ir::Graph g = optimize_and_compare(*net, {random_tensor(DataType::kFloat32, {2, 8}, rng)});
  EXPECT_EQ(count_ops(g, "MatMul"), 1);
  EXPECT_EQ(count_ops(g, "Activation"), 1);
  for (int i = 0; i < g.num_nodes(); ++i) EXPECT_FALSE(g.node(i).attrs.has("activation"));
}

TEST(Passes, ConstantFoldingAndDeadCode) {
  std::mt19937 rng(5);
  Builder b;
  auto net = b.create_network();
  Tensor* x = net->add_input("x", DataType::kFloat32, {3, 4});
  auto c1 = randoms(12, rng), c2 = randoms(12, rng);
  Layer* a = net->add_constant({3, 4}, Weights(c1));
  Layer* bb = net->add_constant({3, 4}, Weights(c2));
  Layer* cadd = net->add_elementwise(a->output(0), bb->output(0), ElementWiseOp::kProd);
  Layer* cexp = net->add_unary(cadd->output(0), UnaryOp::kExp);       // constant subgraph
  Layer* out = net->add_elementwise(x, cexp->output(0), ElementWiseOp::kSum);
  net->add_unary(x, UnaryOp::kSin);                                    // dead: not an output
  net->mark_output(out->output(0));
  ir::Graph g = optimize_and_compare(*net, {random_tensor(DataType::kFloat32, {3, 4}, rng)});
  EXPECT_EQ(g.num_nodes(), 1);
  EXPECT_EQ(g.node(0).op, "ElementWise");
  EXPECT_TRUE(g.is_constant(g.node(0).inputs[1]));
  EXPECT_EQ(count_ops(g, "Unary"), 0);
}

TEST(Passes, ShapeTensorOfStaticInputFoldsToConstant) {
  Builder b;
  auto net = b.create_network();
  Tensor* x = net->add_input("x", DataType::kFloat32, {2, 3, 4});
  Layer* shape = net->add_shape(x);
  Layer* r = net->add_reshape(x, shape->output(0));
  net->mark_output(r->output(0));
  std::mt19937 rng(6);
  ir::Graph g = optimize_and_compare(*net, {random_tensor(DataType::kFloat32, {2, 3, 4}, rng)});
  EXPECT_EQ(count_ops(g, "Shape"), 0);
  EXPECT_EQ(count_ops(g, "Reshape"), 1);
}

}  // namespace
}  // namespace kiln::passes_test

namespace kiln::passes_test {
namespace {

TEST(Precision, Fp16AndBf16KeepIoFloat32AndMatchFloat32Results) {
  for (BuilderFlag flag : {BuilderFlag::kFp16, BuilderFlag::kBf16}) {
    Builder builder;
    auto net = builder.create_network();
    demo::build_mnist(*net);
    BuildConfig config;
    config.add_profile(demo::mnist_profile(1, 2, 4));
    config.optimization_level = 0;
    auto fp32 = builder.build_serialized_network(*net, config);
    config.set_flag(flag);
    auto reduced = builder.build_serialized_network(*net, config);
    ASSERT_TRUE(fp32.is_ok() && reduced.is_ok()) << reduced.status().to_string();
    Runtime runtime;
    auto e32 = runtime.deserialize(*fp32);
    auto e16 = runtime.deserialize(*reduced);
    ASSERT_TRUE(e32.is_ok() && e16.is_ok());
    EXPECT_EQ((*e16)->tensor_dtype("x"), DataType::kFloat32);
    EXPECT_EQ((*e16)->tensor_dtype("prob"), DataType::kFloat32);
    // Weights are stored in the reduced type: the engine is about half the size.
    EXPECT_LT((*e16)->weights_size(), (*e32)->weights_size() * 6 / 10);
    auto images = demo::demo_images(3, 5);
    std::vector<float> p32(3), p16(3);
    std::vector<int64_t> l32(3), l16(3);
    for (auto [e, p, l] : {std::tuple{e32->get(), &p32, &l32}, std::tuple{e16->get(), &p16, &l16}}) {
      auto ctx = e->create_context();
      ASSERT_TRUE(ctx.is_ok());
      ASSERT_TRUE((*ctx)->set_input_shape("x", {3, 1, 28, 28}).is_ok());
      ASSERT_TRUE((*ctx)->set_tensor_address("x", images.data()).is_ok());
      ASSERT_TRUE((*ctx)->set_tensor_address("prob", p->data()).is_ok());
      ASSERT_TRUE((*ctx)->set_tensor_address("label", l->data()).is_ok());
      Status s = (*ctx)->execute();
      ASSERT_TRUE(s.is_ok()) << s.to_string();
    }
    // float16 keeps ~3 decimal digits, bfloat16 ~2: compare probabilities accordingly.
    double tol = flag == BuilderFlag::kFp16 ? 5e-3 : 3e-2;
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(p16[i], p32[i], tol) << "image " << i;
    auto j = nlohmann::json::parse((*e16)->inspect_json());
    bool reduced_conv = false;
    for (const auto& layer : j["layers"]) {
      if (layer["op"] == "Conv") {
        reduced_conv |= layer["outputs"][0]["dtype"] ==
                        (flag == BuilderFlag::kFp16 ? "float16" : "bfloat16");
      }
    }
    EXPECT_TRUE(reduced_conv);
  }
}

}  // namespace
}  // namespace kiln::passes_test
