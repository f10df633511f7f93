// Per-layer precision constraints on the CUDA backend: FP16 engines with some layers constrained
// to FP32 (the first conv of a small CNN; LayerNorm and Softmax of a transformer-like block). The
// constrained layers must be tuned and run in float32 (the tactic selector sees float32 tensors;
// the inspector shows float32 layers and their tactics), the others in float16, and the outputs
// must match the float32 CPU engine within half-precision tolerance.
#include <kiln/kiln.h>
#include <kiln/tactic_selector.h>

#include "backends/device.h"
#include "gpu/gpu_harness.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <random>

namespace kiln::testing::precision_constraints_cuda_test {
namespace {

using PrecisionCudaTest = GpuTest;
using nlohmann::json;

std::vector<float> randoms(size_t n, std::mt19937& rng, float lo = -1, float hi = 1) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Records what the autotuner offered and chose for every layer.
class Recorder final : public TacticSelector {
 public:
  Result<std::vector<int>> select(const LayerContext& layer,
                                  std::span<const TacticCandidate> candidates) override {
    std::vector<DataType> types;
    for (const auto& t : layer.inputs) {
      if (!t.constant) types.push_back(t.dtype);
    }
    for (const auto& t : layer.outputs) types.push_back(t.dtype);
    dtypes[layer.name] = types;
    offered[layer.name] = static_cast<int>(candidates.size());
    return std::vector<int>{};
  }
  void report(const LayerContext& layer, const TacticCandidate& chosen) override {
    chosen_tactic[layer.name] = chosen.id;
  }
  std::map<std::string, std::vector<DataType>> dtypes;  // activations in and out
  std::map<std::string, int> offered;
  std::map<std::string, std::string> chosen_tactic;
};

// Runs a float32-in, float32-out engine with one input and one output on its backend.
std::vector<float> run(Engine& e, const std::string& in, Dims in_shape, const std::vector<float>& x,
                       const std::string& out, size_t out_size) {
  std::vector<float> y(out_size, NAN);
  auto dev = get_device(e.backend());
  EXPECT_TRUE(dev.is_ok());
  if (!dev.is_ok()) return y;
  auto ctx = e.create_context();
  EXPECT_TRUE(ctx.is_ok());
  if (!ctx.is_ok()) return y;
  auto dx = (*dev)->allocate(x.size() * 4);
  auto dy = (*dev)->allocate(y.size() * 4);
  EXPECT_TRUE(dx.is_ok() && dy.is_ok());
  if (!dx.is_ok() || !dy.is_ok()) return y;
  Status s = (*dev)->upload(dx->get(), x.data(), x.size() * 4);
  if (s.is_ok()) s = (*ctx)->set_input_shape(in, in_shape);
  if (s.is_ok()) s = (*ctx)->set_tensor_address(in, dx->get());
  if (s.is_ok()) s = (*ctx)->set_tensor_address(out, dy->get());
  if (s.is_ok()) s = (*ctx)->execute();
  if (s.is_ok()) s = (*dev)->download(y.data(), dy->get(), y.size() * 4);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return y;
}

const json* layer_json(const json& j, std::string_view name) {
  for (const auto& l : j["layers"]) {
    if (l["name"] == name) return &l;
  }
  return nullptr;
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

struct Net {
  std::unique_ptr<Network> net;
};

// x[N,8,16,16] -> conv1 -> relu1 -> conv2 -> relu2 -> pool -> conv3 -> y.
Net small_cnn(Builder& b) {
  Net n;
  n.net = b.create_network();
  Network& net = *n.net;
  std::mt19937 rng(21);
  Tensor* t = net.add_input("x", DataType::kFloat32, {-1, 8, 16, 16});
  auto conv = [&](Tensor* in, int64_t cin, int64_t cout, const std::string& name) {
    const auto w = randoms(static_cast<size_t>(cout * cin * 9), rng, -0.3f, 0.3f);
    const auto bias = randoms(static_cast<size_t>(cout), rng);
    Layer* l = net.add_convolution(in, {.out_channels = cout, .kernel = {3, 3}, .padding = {1, 1}},
                                   Weights(w), Weights(bias));
    l->set_name(name);
    return l->output(0);
  };
  auto relu = [&](Tensor* in, const std::string& name) {
    Layer* l = net.add_activation(in, ActivationType::kRelu);
    l->set_name(name);
    return l->output(0);
  };
  t = relu(conv(t, 8, 32, "conv1"), "relu1");
  t = relu(conv(t, 32, 32, "conv2"), "relu2");
  Layer* pool = net.add_pooling(t, {.type = PoolingType::kMax, .window = {2, 2}});
  pool->set_name("pool");
  t = conv(pool->output(0), 32, 16, "conv3");
  t->set_name("y");
  net.mark_output(t);
  return n;
}

BuildConfig config_for(Backend backend, const char* input, Dims min, Dims opt, Dims max) {
  BuildConfig config;
  config.backend = backend;
  OptimizationProfile p;
  p.set_shape(input, min, opt, max);
  config.add_profile(p);
  config.optimization_level = 2;
  return config;
}

TEST_F(PrecisionCudaTest, FirstConvInFp32InsideAnFp16Cnn) {
  Builder builder;
  auto n = small_cnn(builder);
  // The first conv and its ReLU (so they stay fused) in float32.
  auto set = n.net->set_layer_precisions("conv1:fp32,relu1:fp32");
  ASSERT_TRUE(set.is_ok()) << set.status().to_string();
  BuildConfig config =
      config_for(Backend::kCuda, "x", {1, 8, 16, 16}, {4, 8, 16, 16}, {8, 8, 16, 16});
  config.set_flag(BuilderFlag::kFp16);
  config.set_flag(BuilderFlag::kObeyPrecisionConstraints);
  auto recorder = std::make_shared<Recorder>();
  config.tactic_selector = recorder;
  auto plan = builder.build_serialized_network(*n.net, config);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  Runtime runtime;
  auto gpu = runtime.deserialize(*plan);
  ASSERT_TRUE(gpu.is_ok()) << gpu.status().to_string();
  const json j = json::parse((*gpu)->inspect_json());
  EXPECT_EQ(j["precision_constraints"], "obey");

  // conv1 (+ relu1 fused) tuned and run in float32; conv2 and conv3 in float16.
  const json* conv1 = layer_json(j, "conv1");
  ASSERT_NE(conv1, nullptr);
  EXPECT_EQ((*conv1)["precision_constraint"], "float32");
  EXPECT_EQ((*conv1)["outputs"][0]["dtype"], "float32");
  EXPECT_EQ((*conv1)["fused"], json::array({"relu1"}));
  for (const auto& in : (*conv1)["inputs"]) EXPECT_EQ(in["dtype"], "float32") << in["name"];
  for (const char* name : {"conv2", "conv3"}) {
    const json* l = layer_json(j, name);
    ASSERT_NE(l, nullptr) << name;
    EXPECT_EQ((*l)["outputs"][0]["dtype"], "float16") << name;
    EXPECT_FALSE(l->contains("precision_constraint")) << name;
  }
  ASSERT_TRUE(recorder->dtypes.count("conv1"));
  for (DataType t : recorder->dtypes.at("conv1")) EXPECT_EQ(t, DataType::kFloat32);
  for (DataType t : recorder->dtypes.at("conv2")) EXPECT_EQ(t, DataType::kFloat16);
  EXPECT_GT(recorder->offered.at("conv1"), 0);
  // The chosen tactic is the one in the plan, a Conv tactic.
  EXPECT_EQ((*conv1)["tactic_per_profile"][0], recorder->chosen_tactic.at("conv1"));
  EXPECT_EQ(recorder->chosen_tactic.at("conv1").rfind("Conv/", 0), 0u);
  std::printf("conv1 (float32): %s; conv2 (float16): %s\n",
              recorder->chosen_tactic.at("conv1").c_str(),
              recorder->chosen_tactic.at("conv2").c_str());

  // Against the float32 CPU engine.
  BuildConfig cpu_config =
      config_for(Backend::kCpu, "x", {1, 8, 16, 16}, {4, 8, 16, 16}, {8, 8, 16, 16});
  auto cpu_plan = builder.build_serialized_network(*n.net, cpu_config);  // constraints ignored
  ASSERT_TRUE(cpu_plan.is_ok()) << cpu_plan.status().to_string();
  auto cpu = runtime.deserialize(*cpu_plan);
  ASSERT_TRUE(cpu.is_ok());
  std::mt19937 rng(3);
  const auto x = randoms(4 * 8 * 16 * 16, rng);
  const size_t out_size = 4 * 16 * 8 * 8;
  const auto want = run(**cpu, "x", {4, 8, 16, 16}, x, "y", out_size);
  const auto got = run(**gpu, "x", {4, 8, 16, 16}, x, "y", out_size);
  EXPECT_LE(max_diff(got, want), 1e-2 * max_abs(want)) << "max |y| " << max_abs(want);
}

// x[N,64] -> MatMul -> LayerNorm -> MatMul -> Softmax -> y, LayerNorm and Softmax in float32.
Net norm_block(Builder& b) {
  Net n;
  n.net = b.create_network();
  Network& net = *n.net;
  std::mt19937 rng(22);
  Tensor* x = net.add_input("x", DataType::kFloat32, {-1, 64});
  auto constant = [&](Dims d, float lo, float hi) {
    const auto w = randoms(static_cast<size_t>(d.volume()), rng, lo, hi);
    return net.add_constant(d, Weights(w))->output(0);  // the network copies the weights
  };
  Layer* mm1 = net.add_matrix_multiply(x, MatrixOp::kNone, constant({64, 128}, -0.2f, 0.2f),
                                       MatrixOp::kNone);
  mm1->set_name("proj_in/MatMul");
  Layer* ln = net.add_layer_norm(mm1->output(0), constant({128}, 0.5f, 1.5f),
                                 constant({128}, -0.1f, 0.1f), -1);
  ln->set_name("block/LayerNorm");
  Layer* mm2 = net.add_matrix_multiply(ln->output(0), MatrixOp::kNone,
                                       constant({128, 64}, -0.5f, 0.5f), MatrixOp::kNone);
  mm2->set_name("proj_out/MatMul");
  Layer* sm = net.add_softmax(mm2->output(0), 1);
  sm->set_name("block/Softmax");
  sm->output(0)->set_name("y");
  net.mark_output(sm->output(0));
  return n;
}

TEST_F(PrecisionCudaTest, LayerNormAndSoftmaxInFp32InsideAnFp16Block) {
  Builder builder;
  auto n = norm_block(builder);
  auto set = n.net->set_layer_precisions("*LayerNorm*:fp32,*Softmax*:fp32");
  ASSERT_TRUE(set.is_ok()) << set.status().to_string();
  EXPECT_EQ(*set, 2);
  BuildConfig config = config_for(Backend::kCuda, "x", {1, 64}, {32, 64}, {64, 64});
  config.set_flag(BuilderFlag::kFp16);
  config.set_flag(BuilderFlag::kObeyPrecisionConstraints);
  auto recorder = std::make_shared<Recorder>();
  config.tactic_selector = recorder;
  auto plan = builder.build_serialized_network(*n.net, config);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  Runtime runtime;
  auto gpu = runtime.deserialize(*plan);
  ASSERT_TRUE(gpu.is_ok()) << gpu.status().to_string();
  const json j = json::parse((*gpu)->inspect_json());
  for (const char* name : {"block/LayerNorm", "block/Softmax"}) {
    const json* l = layer_json(j, name);
    ASSERT_NE(l, nullptr) << name;
    EXPECT_EQ((*l)["outputs"][0]["dtype"], "float32") << name;
    EXPECT_EQ((*l)["inputs"][0]["dtype"], "float32") << name;
    EXPECT_EQ((*l)["precision_constraint"], "float32") << name;
    for (DataType t : recorder->dtypes.at(name)) EXPECT_EQ(t, DataType::kFloat32) << name;
  }
  for (const char* name : {"proj_in/MatMul", "proj_out/MatMul"}) {
    const json* l = layer_json(j, name);
    ASSERT_NE(l, nullptr) << name;
    EXPECT_EQ((*l)["outputs"][0]["dtype"], "float16") << name;
  }
  BuildConfig cpu_config = config_for(Backend::kCpu, "x", {1, 64}, {32, 64}, {64, 64});
  auto cpu_plan = builder.build_serialized_network(*n.net, cpu_config);
  ASSERT_TRUE(cpu_plan.is_ok()) << cpu_plan.status().to_string();
  auto cpu = runtime.deserialize(*cpu_plan);
  ASSERT_TRUE(cpu.is_ok());
  std::mt19937 rng(4);
  const auto x = randoms(32 * 64, rng);
  const auto want = run(**cpu, "x", {32, 64}, x, "y", 32 * 64);
  const auto got = run(**gpu, "x", {32, 64}, x, "y", 32 * 64);
  // Probabilities: the float16 logits (|z| < 16) carry up to ~4e-3 of rounding each, so a
  // probability p moves by up to ~p * 8e-3 (the CPU backend's float16 kernels give 1.7e-3 here).
  EXPECT_LE(max_diff(got, want), 1e-2);
}

// x -> MatMul(w1) -> MatMul(w2): the middle tensor overflows float16 (> 65504); constrained to
// float32 the engine matches the float32 CPU engine.
TEST_F(PrecisionCudaTest, Fp32ConstraintKeepsAnOverflowingGemmFinite) {
  Builder builder;
  auto net = builder.create_network();
  std::vector<float> w1(64 * 64, 3000.0f), w2(64 * 16, 1e-3f);
  Tensor* x = net->add_input("x", DataType::kFloat32, {-1, 64});
  Layer* mm1 = net->add_matrix_multiply(
      x, MatrixOp::kNone, net->add_constant({64, 64}, Weights(w1))->output(0), MatrixOp::kNone);
  mm1->set_name("mm1");
  Layer* mm2 = net->add_matrix_multiply(mm1->output(0), MatrixOp::kNone,
                                        net->add_constant({64, 16}, Weights(w2))->output(0),
                                        MatrixOp::kNone);
  mm2->set_name("mm2");
  mm2->output(0)->set_name("y");
  net->mark_output(mm2->output(0));
  std::mt19937 rng(5);
  const auto xs = randoms(8 * 64, rng, 1.0f, 2.0f);  // mm1 >= 64 * 3000 = 192000
  Runtime runtime;
  auto build_run = [&](Backend backend, bool fp16, bool constrain) {
    BuildConfig config = config_for(backend, "x", {1, 64}, {8, 64}, {16, 64});
    config.clear_flag(BuilderFlag::kTf32);  // compare IEEE float32 with float32
    if (fp16) config.set_flag(BuilderFlag::kFp16);
    if (constrain) config.set_flag(BuilderFlag::kObeyPrecisionConstraints);
    auto plan = builder.build_serialized_network(*net, config);
    EXPECT_TRUE(plan.is_ok()) << plan.status().to_string();
    if (!plan.is_ok()) return std::vector<float>{};
    auto e = runtime.deserialize(*plan);
    EXPECT_TRUE(e.is_ok());
    if (!e.is_ok()) return std::vector<float>{};
    return run(**e, "x", {8, 64}, xs, "y", 8 * 16);
  };
  mm1->set_precision(DataType::kFloat32);
  mm2->set_precision(DataType::kFloat32);
  const auto want = build_run(Backend::kCpu, false, false);
  const auto overflow = build_run(Backend::kCuda, true, false);  // constraints ignored
  const auto got = build_run(Backend::kCuda, true, true);
  ASSERT_EQ(want.size(), 8u * 16u);
  EXPECT_TRUE(std::any_of(overflow.begin(), overflow.end(), [](float v) {
    return !std::isfinite(v);
  })) << "the test needs a GEMM that overflows in float16";
  ASSERT_EQ(got.size(), want.size());
  EXPECT_LE(max_diff(got, want), 1e-5 * max_abs(want));
}

}  // namespace
}  // namespace kiln::testing::precision_constraints_cuda_test
