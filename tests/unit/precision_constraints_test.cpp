// Per-layer precision constraints (Layer::set_precision / set_output_type, the obey and prefer
// builder flags): the API, the name patterns, the precision pass's casts, fusions across
// constraints, the tactic check, the plan, and results against the float32 engine.
#include <kiln/kiln.h>
#include <kiln/tactic_selector.h>

#include "common/op_harness.h"
#include "network/network_state.h"
#include "passes/pass.h"
#include "plan/engine_desc.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace kiln::precision_constraints_test {
namespace {

using nlohmann::json;

class RecordingLogger final : public Logger {
 public:
  void log(Severity s, std::string_view m) override {
    if (s <= Severity::kWarning) messages.emplace_back(m);
  }
  bool saw(std::string_view needle) const {
    for (const auto& m : messages) {
      if (m.find(needle) != std::string::npos) return true;
    }
    return false;
  }
  std::vector<std::string> messages;
};

std::vector<float> randoms(size_t n, std::mt19937& rng, float lo = -1, float hi = 1) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// x[N,4,8,8] -> conv1 -> pool1 -> conv2 -> pool2 -> conv3 -> y: no two layers fuse.
struct ConvNet {
  std::unique_ptr<Network> net;
};

ConvNet conv_net(Builder& b) {
  ConvNet c;
  c.net = b.create_network();
  Network& net = *c.net;
  std::mt19937 rng(11);
  Tensor* t = net.add_input("x", DataType::kFloat32, {-1, 4, 8, 8});
  auto conv = [&](Tensor* in, int64_t cin, int64_t cout, int64_t k, const char* name) {
    const auto w = randoms(static_cast<size_t>(cout * cin * k * k), rng, -0.5f, 0.5f);
    const auto bias = randoms(static_cast<size_t>(cout), rng);
    Layer* l =
        net.add_convolution(in, {.out_channels = cout, .kernel = {k, k}, .padding = {k / 2, k / 2}},
                            Weights(w), Weights(bias));
    l->set_name(name);
    l->output(0)->set_name(std::string(name) + ".out");
    return l->output(0);
  };
  auto pool = [&](Tensor* in, PoolingType type, const char* name) {
    Layer* l = net.add_pooling(in, {.type = type, .window = {2, 2}});
    l->set_name(name);
    l->output(0)->set_name(std::string(name) + ".out");
    return l->output(0);
  };
  t = conv(t, 4, 8, 3, "conv1");
  t = pool(t, PoolingType::kMax, "pool1");
  t = conv(t, 8, 8, 3, "conv2");
  t = pool(t, PoolingType::kAverage, "pool2");
  t = conv(t, 8, 4, 1, "conv3");
  t->set_name("y");
  net.mark_output(t);
  return c;
}

Layer* find_layer(Network& net, std::string_view name) {
  for (int i = 0; i < net.num_layers(); ++i) {
    if (net.layer(i)->name() == name) return net.layer(i);
  }
  return nullptr;
}

BuildConfig cpu_config() {
  BuildConfig config;
  OptimizationProfile p;
  p.set_shape("x", {1, 4, 8, 8}, {2, 4, 8, 8}, {2, 4, 8, 8});
  config.add_profile(p);
  config.optimization_level = 0;
  config.cpu_threads = 1;
  return config;
}

struct Built {
  std::unique_ptr<Engine> engine;
  json inspect;
};

Result<Built> build(Builder& builder, const Network& net, const BuildConfig& config) {
  KILN_ASSIGN_OR_RETURN(std::vector<uint8_t> plan, builder.build_serialized_network(net, config));
  Runtime runtime;
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, runtime.deserialize(plan));
  Built b;
  b.inspect = json::parse(engine->inspect_json());
  b.engine = std::move(engine);
  return b;
}

// The engine's output y for input x of shape [2,4,8,8].
std::vector<float> run(Engine& engine, const std::vector<float>& x, Dims out_shape) {
  std::vector<float> y(static_cast<size_t>(out_shape.volume()), NAN);
  auto ctx = engine.create_context();
  EXPECT_TRUE(ctx.is_ok());
  if (!ctx.is_ok()) return y;
  EXPECT_TRUE((*ctx)->set_input_shape("x", {2, 4, 8, 8}).is_ok());
  EXPECT_TRUE((*ctx)->set_tensor_address("x", const_cast<float*>(x.data())).is_ok());
  EXPECT_TRUE((*ctx)->set_tensor_address("y", y.data()).is_ok());
  Status s = (*ctx)->execute();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return y;
}

const json* layer_json(const json& inspect, std::string_view name) {
  for (const auto& l : inspect["layers"]) {
    if (l["name"] == name) return &l;
  }
  return nullptr;
}

int count_layers(const json& inspect, std::string_view op) {
  int n = 0;
  for (const auto& l : inspect["layers"]) n += l["op"] == op;
  return n;
}

std::string out_dtype(const json& inspect, std::string_view layer) {
  const json* l = layer_json(inspect, layer);
  return l == nullptr ? "(no layer)" : (*l)["outputs"][0]["dtype"].get<std::string>();
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    m = std::max(m, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  }
  return m;
}

// ---- API ----

TEST(PrecisionApi, SetQueryResetRoundTrip) {
  Builder builder;
  auto c = conv_net(builder);
  Layer* conv2 = find_layer(*c.net, "conv2");
  ASSERT_NE(conv2, nullptr);
  EXPECT_FALSE(conv2->precision_is_set());
  EXPECT_EQ(conv2->precision(), DataType::kFloat32);
  conv2->set_precision(DataType::kFloat16);
  EXPECT_TRUE(conv2->precision_is_set());
  EXPECT_EQ(conv2->precision(), DataType::kFloat16);
  conv2->set_precision(DataType::kBFloat16);
  EXPECT_EQ(conv2->precision(), DataType::kBFloat16);
  conv2->reset_precision();
  EXPECT_FALSE(conv2->precision_is_set());
  EXPECT_EQ(conv2->precision(), DataType::kFloat32);

  EXPECT_FALSE(conv2->output_type_is_set(0));
  EXPECT_EQ(conv2->output_type(0), DataType::kFloat32);  // the tensor's type
  conv2->set_output_type(0, DataType::kFloat16);
  EXPECT_TRUE(conv2->output_type_is_set(0));
  EXPECT_EQ(conv2->output_type(0), DataType::kFloat16);
  // The tensor's own type changes only in the build.
  EXPECT_EQ(conv2->output(0)->dtype(), DataType::kFloat32);
  conv2->reset_output_type(0);
  EXPECT_FALSE(conv2->output_type_is_set(0));
  EXPECT_TRUE(c.net->status().is_ok()) << c.net->status().to_string();
}

TEST(PrecisionApi, BadConstraintsAreErrorsNamingTheLayer) {
  Builder builder;
  {
    auto c = conv_net(builder);
    find_layer(*c.net, "conv2")->set_precision(DataType::kInt8);
    Status s = c.net->status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.to_string().find("layer 'conv2' (Convolution)"), std::string::npos)
        << s.to_string();
    EXPECT_NE(s.to_string().find("not int8"), std::string::npos) << s.to_string();
  }
  {
    auto c = conv_net(builder);
    find_layer(*c.net, "pool1")->set_output_type(1, DataType::kFloat16);
    Status s = c.net->status();
    EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
    EXPECT_NE(s.to_string().find("'pool1'"), std::string::npos) << s.to_string();
  }
  {
    auto net = builder.create_network();
    std::vector<float> w(6, 1.0f);
    Layer* k = net->add_constant({2, 3}, Weights(w));
    k->set_name("table");
    k->set_precision(DataType::kFloat16);
    Status s = net->status();
    EXPECT_NE(s.to_string().find("layer 'table' (Constant)"), std::string::npos) << s.to_string();
    EXPECT_NE(s.to_string().find("constant has no computation"), std::string::npos);
  }
  {
    auto net = builder.create_network();
    Tensor* x = net->add_input("x", DataType::kFloat32, {2, 8});
    Layer* top = net->add_topk(x, TopKOp::kMax, 2);
    top->set_name("top");
    top->set_output_type(1, DataType::kFloat16);  // the int64 indices
    Status s = net->status();
    EXPECT_NE(s.to_string().find("is a int64 tensor, not a floating-point one"), std::string::npos)
        << s.to_string();
  }
}

TEST(PrecisionApi, LayerPrecisionsByPattern) {
  Builder builder;
  auto c = conv_net(builder);
  // Later entries win: conv2 ends up float32, conv1 and conv3 float16; the pools keep none.
  auto n = c.net->set_layer_precisions("conv*:fp16, conv2:FP32");
  ASSERT_TRUE(n.is_ok()) << n.status().to_string();
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(find_layer(*c.net, "conv1")->precision(), DataType::kFloat16);
  EXPECT_EQ(find_layer(*c.net, "conv2")->precision(), DataType::kFloat32);
  EXPECT_EQ(find_layer(*c.net, "conv3")->precision(), DataType::kFloat16);
  EXPECT_FALSE(find_layer(*c.net, "pool1")->precision_is_set());
  auto t = c.net->set_layer_output_types("pool?:bfloat16");
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  EXPECT_EQ(*t, 2);
  EXPECT_EQ(find_layer(*c.net, "pool2")->output_type(0), DataType::kBFloat16);
  EXPECT_TRUE(c.net->status().is_ok());
}

TEST(PrecisionApi, LayerPrecisionSpecErrors) {
  Builder builder;
  auto c = conv_net(builder);
  struct Case {
    const char* spec;
    const char* error;
  } cases[] = {
      {"conv1", "entry 'conv1' is not PATTERN:TYPE"},
      {"conv1:int8", "unknown type 'int8' (fp32, fp16 or bf16)"},
      {"conv1:fp16,,conv2:fp32", "empty entry"},
      {"nothing*:fp32", "pattern 'nothing*' (entry 'nothing*:fp32') matches no layer"},
      {"conv1:fp16+fp32", "a layer has one precision"},
  };
  for (const Case& k : cases) {
    auto r = c.net->set_layer_precisions(k.spec);
    ASSERT_FALSE(r.is_ok()) << k.spec;
    EXPECT_NE(r.status().to_string().find(k.error), std::string::npos) << r.status().to_string();
    EXPECT_NE(r.status().to_string().find("layer precisions"), std::string::npos);
  }
  // Nothing was set by the failing specs (an error leaves the network as it was).
  auto r = c.net->set_layer_precisions("conv1:fp16,nothing:fp32");
  ASSERT_FALSE(r.is_ok());
  EXPECT_FALSE(find_layer(*c.net, "conv1")->precision_is_set());
  auto o = c.net->set_layer_output_types("conv1:fp16+fp16");
  ASSERT_FALSE(o.is_ok());
  EXPECT_NE(o.status().to_string().find("gives 2 output types for layer 'conv1', which has 1"),
            std::string::npos)
      << o.status().to_string();
  EXPECT_TRUE(c.net->status().is_ok());
}

// ---- the precision pass ----

// Cast nodes of a graph after the passes.
int graph_casts(const ir::Graph& g) {
  int n = 0;
  for (int i = 0; i < g.num_nodes(); ++i) n += !g.node(i).removed && g.node(i).op == "Cast";
  return n;
}

TEST(PrecisionPass, ConstrainedLayersGetOneCastPerBoundary) {
  Builder builder;
  auto net = builder.create_network();
  // x -> a -> {b, c} -> b + c = d -> e -> y; b and c (float32) both read a: one cast for both.
  Tensor* x = net->add_input("x", DataType::kFloat32, {2, 16});
  Layer* a = net->add_activation(x, ActivationType::kSigmoid);
  Layer* b = net->add_activation(a->output(0), ActivationType::kTanh);
  Layer* c = net->add_unary(a->output(0), UnaryOp::kExp);
  Layer* d = net->add_elementwise(b->output(0), c->output(0), ElementWiseOp::kSum);
  Layer* e = net->add_softmax(d->output(0), 1);
  net->mark_output(e->output(0));
  for (Layer* l : {b, c, d}) l->set_precision(DataType::kFloat32);
  ir::Graph g = net->state().graph;
  passes::PassOptions options;
  options.reduced_precision = DataType::kFloat16;
  options.enable_fusion = false;  // count the pass's casts on the layers as written
  Status s = passes::run_passes(g, options);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  // x -> float16 (a), a -> float32 (b, c), d -> float16 (e), e -> float32 (the output).
  EXPECT_EQ(graph_casts(g), 4);
  for (int i = 0; i < g.num_nodes(); ++i) {
    const ir::Node& n = g.node(i);
    if (n.op == "Cast") continue;
    const DataType want = n.precision ? DataType::kFloat32 : DataType::kFloat16;
    EXPECT_EQ(g.value(n.outputs[0]).dtype, want) << n.name;
    EXPECT_EQ(g.value(n.inputs[0]).dtype, want) << n.name;
  }
  // Without constraints: only the network's boundaries.
  ir::Graph plain = net->state().graph;
  for (int i = 0; i < plain.num_nodes(); ++i) plain.node(i).precision.reset();
  ASSERT_TRUE(passes::run_passes(plain, options).is_ok());
  EXPECT_EQ(graph_casts(plain), 2);
}

TEST(PrecisionPass, OutputTypeMakesTheTensorThatType) {
  Builder builder;
  auto net = builder.create_network();
  Tensor* x = net->add_input("x", DataType::kFloat32, {2, 16});
  Layer* a = net->add_activation(x, ActivationType::kSigmoid);
  a->output(0)->set_name("a");
  Layer* b = net->add_activation(a->output(0), ActivationType::kTanh);
  b->output(0)->set_name("b");
  net->mark_output(b->output(0));
  // a computes in float32 (no reduced precision) but hands float16 on; b's output (a network
  // output) becomes a float16 I/O tensor.
  a->set_output_type(0, DataType::kFloat16);
  b->set_output_type(0, DataType::kFloat16);
  ir::Graph g = net->state().graph;
  passes::PassOptions options;
  Status s = passes::run_passes(g, options);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(g.value(g.find_value("a")).dtype, DataType::kFloat16);
  EXPECT_EQ(g.value(g.find_value("b")).dtype, DataType::kFloat16);
  // a: float32 -> Cast -> "a" (float16); b reads "a" as float32: a second Cast; b's own
  // output: Cast to float16. Three casts, and "a" is the float16 tensor b's cast reads.
  EXPECT_EQ(graph_casts(g), 3);
  const ir::Node& cast_b = g.node(g.value(g.find_value("b")).producer);
  ASSERT_EQ(cast_b.op, "Cast");
  const ir::Node& act_b = g.node(g.value(cast_b.inputs[0]).producer);
  ASSERT_EQ(act_b.op, "Activation");
  const ir::Node& cast_in = g.node(g.value(act_b.inputs[0]).producer);
  EXPECT_EQ(cast_in.op, "Cast");
  EXPECT_EQ(cast_in.inputs[0], g.find_value("a"));
}

// Fusions: a constrained layer fuses only with layers that run in the same precision.
TEST(PrecisionPass, FusionOnlyWithinOnePrecision) {
  Builder builder;
  auto fused_with = [&](bool constrain_relu) {
    auto net = builder.create_network();
    Tensor* x = net->add_input("x", DataType::kFloat32, {1, 2, 4, 4});
    std::vector<float> w(4 * 2 * 9, 0.1f), bias(4, 0.2f);
    Layer* conv =
        net->add_convolution(x, {.out_channels = 4, .kernel = {3, 3}}, Weights(w), Weights(bias));
    conv->set_name("conv");
    Layer* relu = net->add_activation(conv->output(0), ActivationType::kRelu);
    relu->set_name("relu");
    net->mark_output(relu->output(0));
    conv->set_precision(DataType::kFloat32);
    if (constrain_relu) relu->set_precision(DataType::kFloat32);
    ir::Graph g = net->state().graph;
    passes::PassOptions options;
    options.reduced_precision = DataType::kFloat16;
    Status s = passes::run_passes(g, options);
    EXPECT_TRUE(s.is_ok()) << s.to_string();
    std::vector<std::string> layers;
    for (int i = 0; i < g.num_nodes(); ++i) {
      const ir::Node& n = g.node(i);
      if (n.op == "Cast" || n.op == "Identity") {
        EXPECT_NE(n.op, "Identity") << "a precision barrier was left behind";
        continue;
      }
      std::string d = n.name + ":" + std::string(dtype_name(g.value(n.outputs[0]).dtype));
      for (const auto& f : n.fused) d += "+" + f;
      if (n.precision) d += " [" + std::string(dtype_name(*n.precision)) + "]";
      layers.push_back(d);
    }
    return layers;
  };
  // conv float32, relu float16 (the network's default): two layers.
  EXPECT_EQ(fused_with(false),
            (std::vector<std::string>{"conv:float32 [float32]", "relu:float16"}));
  // Both float32: one fused layer that keeps the constraint.
  EXPECT_EQ(fused_with(true), (std::vector<std::string>{"conv:float32+relu [float32]"}));
}

TEST(PrecisionPass, ConstraintOnAnOpKilnDoesNotConvert) {
  Builder builder;
  auto net = builder.create_network();
  Tensor* x = net->add_input("x", DataType::kFloat32, {2, 8});
  Layer* top = net->add_topk(x, TopKOp::kMax, 2);
  top->set_name("top");
  net->mark_output(top->output(0));
  net->mark_output(top->output(1));
  top->set_precision(DataType::kFloat16);
  for (bool obey : {true, false}) {
    ir::Graph g = net->state().graph;
    passes::PassOptions options;
    RecordingLogger log;
    options.logger = &log;
    options.obey_precision_constraints = obey;
    Status s = passes::run_passes(g, options);
    const std::string want =
        "layer 'top' (TopK): precision constraint float16 cannot be met: kiln runs TopK only in "
        "the types of its inputs";
    if (obey) {
      EXPECT_EQ(s.to_string(), want);
    } else {
      ASSERT_TRUE(s.is_ok()) << s.to_string();
      EXPECT_TRUE(log.saw(want + "; the layer runs unconstrained (prefer)"));
      EXPECT_EQ(graph_casts(g), 0);
    }
  }
  // A float32 constraint is met as it is.
  top->set_precision(DataType::kFloat32);
  ir::Graph g = net->state().graph;
  passes::PassOptions options;
  options.obey_precision_constraints = true;
  options.reduced_precision = DataType::kFloat16;
  Status s = passes::run_passes(g, options);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
}

// ---- builds ----

TEST(PrecisionBuild, Fp32LayerInsideFp16NetworkGetsCastsAround) {
  Builder builder;
  auto c = conv_net(builder);
  BuildConfig config = cpu_config();
  config.set_flag(BuilderFlag::kFp16);
  config.set_flag(BuilderFlag::kObeyPrecisionConstraints);
  auto plain = build(builder, *c.net, config);
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_EQ(count_layers(plain->inspect, "Cast"), 2);  // x in, y out
  EXPECT_EQ(out_dtype(plain->inspect, "conv2"), "float16");

  find_layer(*c.net, "conv2")->set_precision(DataType::kFloat32);
  auto mixed = build(builder, *c.net, config);
  ASSERT_TRUE(mixed.is_ok()) << mixed.status().to_string();
  const json& j = mixed->inspect;
  EXPECT_EQ(count_layers(j, "Cast"), 4);  // and one on each side of conv2
  EXPECT_EQ(out_dtype(j, "conv1"), "float16");
  EXPECT_EQ(out_dtype(j, "pool1"), "float16");
  EXPECT_EQ(out_dtype(j, "conv2"), "float32");
  EXPECT_EQ((*layer_json(j, "conv2"))["inputs"][0]["dtype"], "float32");
  EXPECT_EQ((*layer_json(j, "conv2"))["inputs"][1]["dtype"], "float32");  // its weights
  EXPECT_EQ(out_dtype(j, "pool2"), "float16");
  EXPECT_EQ(out_dtype(j, "conv3"), "float16");
  EXPECT_EQ((*layer_json(j, "conv2"))["precision_constraint"], "float32");
  EXPECT_FALSE(layer_json(j, "conv1")->contains("precision_constraint"));
  EXPECT_EQ(j["precision_constraints"], "obey");
  EXPECT_EQ(mixed->engine->tensor_dtype("y"), DataType::kFloat32);

  // Results: within float16 accuracy of the float32 engine.
  auto fp32 = build(builder, *c.net, cpu_config());  // no flags: constraints ignored
  ASSERT_TRUE(fp32.is_ok()) << fp32.status().to_string();
  EXPECT_EQ(count_layers(fp32->inspect, "Cast"), 0);
  std::mt19937 rng(5);
  const auto x = randoms(2 * 4 * 8 * 8, rng);
  const auto want = run(*fp32->engine, x, {2, 4, 2, 2});
  const auto got = run(*mixed->engine, x, {2, 4, 2, 2});
  EXPECT_LE(max_diff(got, want), 1e-2 * max_abs(want)) << "max |y| " << max_abs(want);
}

TEST(PrecisionBuild, EveryLayerFp32InFp16NetworkEqualsTheFp32Engine) {
  Builder builder;
  auto c = conv_net(builder);
  auto fp32 = build(builder, *c.net, cpu_config());
  ASSERT_TRUE(fp32.is_ok()) << fp32.status().to_string();
  auto n = c.net->set_layer_precisions("*:fp32");
  ASSERT_TRUE(n.is_ok()) << n.status().to_string();
  EXPECT_EQ(*n, 5);
  BuildConfig config = cpu_config();
  config.set_flag(BuilderFlag::kFp16);
  config.set_flag(BuilderFlag::kObeyPrecisionConstraints);
  auto all32 = build(builder, *c.net, config);
  ASSERT_TRUE(all32.is_ok()) << all32.status().to_string();
  EXPECT_EQ(count_layers(all32->inspect, "Cast"), 0);
  std::mt19937 rng(6);
  const auto x = randoms(2 * 4 * 8 * 8, rng);
  // Same layers, types and (level 0) tactics: the same numbers.
  EXPECT_EQ(run(*all32->engine, x, {2, 4, 2, 2}), run(*fp32->engine, x, {2, 4, 2, 2}));
}

// x -> MatMul(w1) -> MatMul(w2) -> y, w entries large: the middle tensor overflows float16.
struct MatMulNet {
  std::unique_ptr<Network> net;
  std::vector<float> w1, w2;
};

MatMulNet matmul_net(Builder& b) {
  MatMulNet m;
  m.net = b.create_network();
  m.w1.assign(32 * 32, 3000.0f);
  m.w2.assign(32 * 8, 1e-3f);
  Tensor* x = m.net->add_input("x", DataType::kFloat32, {4, 32});
  Layer* c1 = m.net->add_constant({32, 32}, Weights(m.w1));
  Layer* c2 = m.net->add_constant({32, 8}, Weights(m.w2));
  Layer* mm1 = m.net->add_matrix_multiply(x, MatrixOp::kNone, c1->output(0), MatrixOp::kNone);
  mm1->set_name("mm1");
  Layer* mm2 =
      m.net->add_matrix_multiply(mm1->output(0), MatrixOp::kNone, c2->output(0), MatrixOp::kNone);
  mm2->set_name("mm2");
  mm2->output(0)->set_name("y");
  m.net->mark_output(mm2->output(0));
  return m;
}

std::vector<float> run_matmul(Engine& e, const std::vector<float>& x) {
  std::vector<float> y(4 * 8, NAN);
  auto ctx = e.create_context();
  EXPECT_TRUE(ctx.is_ok());
  if (!ctx.is_ok()) return y;
  EXPECT_TRUE((*ctx)->set_tensor_address("x", const_cast<float*>(x.data())).is_ok());
  EXPECT_TRUE((*ctx)->set_tensor_address("y", y.data()).is_ok());
  Status s = (*ctx)->execute();
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return y;
}

TEST(PrecisionBuild, Fp32ConstraintKeepsAnOverflowingLayerFinite) {
  Builder builder;
  auto m = matmul_net(builder);
  BuildConfig config;
  config.optimization_level = 0;
  auto fp32 = build(builder, *m.net, config);
  ASSERT_TRUE(fp32.is_ok()) << fp32.status().to_string();
  std::mt19937 rng(8);
  const auto x = randoms(4 * 32, rng, 1.5f, 2.5f);  // mm1 >= 32 * 1.5 * 3000 > 65504
  const auto want = run_matmul(*fp32->engine, x);
  config.set_flag(BuilderFlag::kFp16);
  auto fp16 = build(builder, *m.net, config);
  ASSERT_TRUE(fp16.is_ok()) << fp16.status().to_string();
  const auto overflow = run_matmul(*fp16->engine, x);
  EXPECT_TRUE(std::any_of(overflow.begin(), overflow.end(), [](float v) {
    return !std::isfinite(v);
  })) << "the test needs a network that overflows in float16";
  ASSERT_TRUE(m.net->set_layer_precisions("mm*:fp32").is_ok());
  config.set_flag(BuilderFlag::kObeyPrecisionConstraints);
  auto mixed = build(builder, *m.net, config);
  ASSERT_TRUE(mixed.is_ok()) << mixed.status().to_string();
  // Both layers float32, as in the float32 engine (same tactics at level 0): the same numbers.
  const auto got = run_matmul(*mixed->engine, x);
  EXPECT_TRUE(std::all_of(got.begin(), got.end(), [](float v) { return std::isfinite(v); }));
  EXPECT_EQ(got, want);
}

TEST(PrecisionBuild, ObeyWithAndWithoutATactic) {
  Builder builder;
  auto m = matmul_net(builder);
  find_layer(*m.net, "mm2")->set_precision(DataType::kFloat16);
  BuildConfig config;
  config.optimization_level = 0;
  config.set_flag(BuilderFlag::kObeyPrecisionConstraints);
  // Every source: the reference kernel runs MatMul in float16.
  auto ok = build(builder, *m.net, config);
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(out_dtype(ok->inspect, "mm2"), "float16");
  EXPECT_EQ(out_dtype(ok->inspect, "mm1"), "float32");
  // BLAS and kiln's blocked kernels are float32 only.
  config.tactic_sources = TacticSource::kCpuBlas | TacticSource::kCpuOptimized;
  auto fail = builder.build_serialized_network(*m.net, config);
  ASSERT_FALSE(fail.is_ok());
  const std::string e = fail.status().to_string();
  EXPECT_EQ(fail.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(e.find("layer 'mm2' (MatMul): precision constraint float16 cannot be met: no enabled "
                   "cpu tactic runs MatMul in float16"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("enabled tactic sources: cpu-blas, cpu-opt"), std::string::npos) << e;
}

TEST(PrecisionBuild, PreferFallsBackWithAWarning) {
  RecordingLogger log;
  Builder builder(log);
  auto m = matmul_net(builder);
  find_layer(*m.net, "mm2")->set_precision(DataType::kFloat16);
  BuildConfig config;
  config.optimization_level = 0;
  config.set_flag(BuilderFlag::kPreferPrecisionConstraints);
  config.tactic_sources = TacticSource::kCpuBlas | TacticSource::kCpuOptimized;
  auto built = build(builder, *m.net, config);
  ASSERT_TRUE(built.is_ok()) << built.status().to_string();
  EXPECT_TRUE(log.saw("layer 'mm2' (MatMul): precision constraint float16 cannot be met"));
  EXPECT_TRUE(log.saw("the layer runs unconstrained (prefer)"));
  EXPECT_EQ(out_dtype(built->inspect, "mm2"), "float32");
  EXPECT_FALSE(layer_json(built->inspect, "mm2")->contains("precision_constraint"));
  EXPECT_EQ(built->inspect["precision_constraints"], "prefer");
  std::mt19937 rng(9);
  const auto x = randoms(4 * 32, rng);
  BuildConfig plain;
  plain.optimization_level = 0;
  plain.tactic_sources = config.tactic_sources;
  find_layer(*m.net, "mm2")->reset_precision();
  auto fp32 = build(builder, *m.net, plain);
  ASSERT_TRUE(fp32.is_ok());
  EXPECT_EQ(run_matmul(*built->engine, x), run_matmul(*fp32->engine, x));
}

TEST(PrecisionBuild, FlagsNoneIgnoresAndBothIsAnError) {
  RecordingLogger log;
  Builder builder(log);
  auto c = conv_net(builder);
  find_layer(*c.net, "conv2")->set_precision(DataType::kFloat16);
  find_layer(*c.net, "conv1")->set_output_type(0, DataType::kFloat16);
  auto ignored = build(builder, *c.net, cpu_config());
  ASSERT_TRUE(ignored.is_ok()) << ignored.status().to_string();
  EXPECT_TRUE(log.saw("1 layer precision(s) and 1 output type(s) are set but ignored"));
  EXPECT_EQ(out_dtype(ignored->inspect, "conv2"), "float32");
  EXPECT_EQ(ignored->inspect["precision_constraints"], "none");
  BuildConfig both = cpu_config();
  both.set_flag(BuilderFlag::kObeyPrecisionConstraints);
  both.set_flag(BuilderFlag::kPreferPrecisionConstraints);
  auto r = builder.build_serialized_network(*c.net, both);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().to_string().find("are both set"), std::string::npos);
}

// The tactic selector (the autotuner's candidates) sees the constrained layer in its precision.
class DtypeRecorder final : public TacticSelector {
 public:
  Result<std::vector<int>> select(const LayerContext& layer,
                                  std::span<const TacticCandidate> candidates) override {
    (void)candidates;
    seen[layer.name] = layer.inputs.empty() ? DataType::kBool : layer.inputs[0].dtype;
    return std::vector<int>{};
  }
  void report(const LayerContext&, const TacticCandidate&) override {}
  std::map<std::string, DataType> seen;
};

TEST(PrecisionBuild, TunerOffersTheConstrainedLayerItsPrecisionOnly) {
  Builder builder;
  auto c = conv_net(builder);
  find_layer(*c.net, "conv2")->set_precision(DataType::kFloat32);
  find_layer(*c.net, "conv3")->set_precision(DataType::kBFloat16);
  BuildConfig config = cpu_config();
  config.set_flag(BuilderFlag::kFp16);
  config.set_flag(BuilderFlag::kObeyPrecisionConstraints);
  auto recorder = std::make_shared<DtypeRecorder>();
  config.tactic_selector = recorder;
  auto built = build(builder, *c.net, config);
  ASSERT_TRUE(built.is_ok()) << built.status().to_string();
  EXPECT_EQ(recorder->seen.at("conv1"), DataType::kFloat16);
  EXPECT_EQ(recorder->seen.at("conv2"), DataType::kFloat32);
  EXPECT_EQ(recorder->seen.at("conv3"), DataType::kBFloat16);
  EXPECT_EQ(out_dtype(built->inspect, "conv3"), "bfloat16");
}

TEST(PrecisionBuild, ConstraintsSurviveSerialization) {
  Builder builder;
  auto c = conv_net(builder);
  find_layer(*c.net, "conv2")->set_precision(DataType::kFloat32);
  find_layer(*c.net, "pool1")->set_output_type(0, DataType::kBFloat16);
  find_layer(*c.net, "conv3")->set_output_type(0, DataType::kFloat16);  // the network output
  BuildConfig config = cpu_config();
  config.set_flag(BuilderFlag::kFp16);
  config.set_flag(BuilderFlag::kPreferPrecisionConstraints);
  auto built = build(builder, *c.net, config);  // plan bytes -> Runtime::deserialize -> inspect
  ASSERT_TRUE(built.is_ok()) << built.status().to_string();
  const json& j = built->inspect;
  EXPECT_EQ(j["precision_constraints"], "prefer");
  EXPECT_EQ((*layer_json(j, "conv2"))["precision_constraint"], "float32");
  const json& pool1_out = (*layer_json(j, "pool1"))["outputs"][0];
  // pool1 computes in float16 and hands bfloat16 on: its output is the float16 twin, cast to the
  // bfloat16 tensor "pool1.out" that carries the constraint.
  EXPECT_EQ(pool1_out["dtype"], "float16");
  bool typed = false;
  for (const auto& l : j["layers"]) {
    for (const auto& o : l["outputs"]) {
      if (o["name"] == "pool1.out") {
        typed = true;
        EXPECT_EQ(o["dtype"], "bfloat16");
        EXPECT_EQ(o["output_type_constraint"], "bfloat16");
      }
    }
  }
  EXPECT_TRUE(typed);
  EXPECT_EQ(built->engine->tensor_dtype("y"), DataType::kFloat16);
  // The engine runs: y is float16.
  std::mt19937 rng(12);
  const auto x = randoms(2 * 4 * 8 * 8, rng);
  std::vector<uint16_t> y(2 * 4 * 2 * 2, 0xffff);
  auto ctx = built->engine->create_context();
  ASSERT_TRUE(ctx.is_ok());
  ASSERT_TRUE((*ctx)->set_input_shape("x", {2, 4, 8, 8}).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address("x", const_cast<float*>(x.data())).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address("y", y.data()).is_ok());
  Status s = (*ctx)->execute();
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_TRUE(std::none_of(y.begin(), y.end(), [](uint16_t h) { return h == 0xffff; }));
}

// The plan reader checks the constraint fields like every other enum.
TEST(PrecisionPlan, ReaderRoundTripsAndRefusesBadConstraints) {
  Builder builder;
  auto c = conv_net(builder);
  find_layer(*c.net, "conv2")->set_precision(DataType::kFloat16);
  find_layer(*c.net, "pool1")->set_output_type(0, DataType::kBFloat16);
  BuildConfig config = cpu_config();
  config.set_flag(BuilderFlag::kObeyPrecisionConstraints);
  auto bytes = builder.build_serialized_network(*c.net, config);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  auto desc = plan::read_plan(*bytes);
  ASSERT_TRUE(desc.is_ok()) << desc.status().to_string();
  int conv2 = -1, pool1_out = -1;
  for (int i = 0; i < desc->graph.num_nodes(); ++i) {
    if (desc->graph.node(i).name == "conv2") conv2 = i;
  }
  pool1_out = desc->graph.find_value("pool1.out");
  ASSERT_GE(conv2, 0);
  ASSERT_GE(pool1_out, 0);
  EXPECT_EQ(desc->graph.node(conv2).precision, DataType::kFloat16);
  EXPECT_EQ(desc->graph.value(pool1_out).output_type, DataType::kBFloat16);
  int unconstrained = 0;
  for (int i = 0; i < desc->graph.num_nodes(); ++i) unconstrained += !desc->graph.node(i).precision;
  EXPECT_EQ(unconstrained, desc->graph.num_nodes() - 1);
  // A non-float type in either field is refused as corrupt, naming the layer / tensor.
  plan::EngineDesc bad_node = *desc;
  bad_node.graph.node(conv2).precision = DataType::kInt8;
  auto w1 = plan::write_plan(bad_node);
  ASSERT_TRUE(w1.is_ok());
  auto r1 = plan::read_plan(*w1);
  ASSERT_FALSE(r1.is_ok());
  EXPECT_EQ(r1.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(r1.status().to_string().find("'conv2'"), std::string::npos) << r1.status().to_string();
  EXPECT_NE(r1.status().to_string().find("unknown precision constraint 3"), std::string::npos)
      << r1.status().to_string();
  plan::EngineDesc bad_value = *desc;
  bad_value.graph.value(pool1_out).output_type = DataType::kInt64;
  auto w2 = plan::write_plan(bad_value);
  ASSERT_TRUE(w2.is_ok());
  auto r2 = plan::read_plan(*w2);
  ASSERT_FALSE(r2.is_ok());
  EXPECT_NE(r2.status().to_string().find("pool1.out"), std::string::npos) << r2.status().to_string();
  EXPECT_NE(r2.status().to_string().find("output type"), std::string::npos);
}

}  // namespace
}  // namespace kiln::precision_constraints_test
