// End to end on the GPU: a network built for Backend::kCuda, serialized, loaded, run through
// contexts on device buffers, compared with the same network on the CPU backend. The network
// uses only ops that have CUDA tactics in every build of this test; networks with more ops are
// covered by the model tests.
#include <kiln/kiln.h>

#include "backends/device.h"
#include "gpu/gpu_harness.h"

#include <cmath>
#include <random>

namespace kiln::testing::engine_cuda_test {
namespace {

using EngineCudaTest = GpuTest;

std::unique_ptr<Network> activation_chain(Builder& b) {
  auto net = b.create_network();
  Tensor* x = net->add_input("x", DataType::kFloat32, {-1, 64});
  Tensor* t = net->add_activation(x, ActivationType::kGeluErf)->output(0);
  t = net->add_activation(t, ActivationType::kSigmoid)->output(0);
  t = net->add_activation(t, ActivationType::kLeakyRelu, 0.3f)->output(0);
  t->set_name("y");
  net->mark_output(t);
  return net;
}

std::vector<float> run_engine(Engine& e, const std::vector<float>& x, int64_t rows, Status* st) {
  std::vector<float> y(x.size(), NAN);
  auto dev = get_device(e.backend());
  if (!dev.is_ok()) {
    *st = dev.status();
    return y;
  }
  auto ctx = e.create_context();
  if (!ctx.is_ok()) {
    *st = ctx.status();
    return y;
  }
  auto dx = (*dev)->allocate(x.size() * 4);
  auto dy = (*dev)->allocate(y.size() * 4);
  if (!dx.is_ok() || !dy.is_ok()) {
    *st = internal_error("allocation failed");
    return y;
  }
  Status s = (*dev)->upload(dx->get(), x.data(), x.size() * 4);
  if (s.is_ok()) s = (*ctx)->set_input_shape("x", {rows, 64});
  if (s.is_ok()) s = (*ctx)->set_tensor_address("x", dx->get());
  if (s.is_ok()) s = (*ctx)->set_tensor_address("y", dy->get());
  if (s.is_ok()) s = (*ctx)->execute();
  if (s.is_ok()) s = (*dev)->download(y.data(), dy->get(), y.size() * 4);
  *st = s;
  return y;
}

TEST_F(EngineCudaTest, ActivationChainMatchesCpuEngine) {
  Builder builder;
  auto net = activation_chain(builder);
  BuildConfig config;
  OptimizationProfile p;
  p.set_shape("x", {1, 64}, {16, 64}, {256, 64});
  config.add_profile(p);
  auto cpu_plan = builder.build_serialized_network(*net, config);
  config.backend = Backend::kCuda;
  auto gpu_plan = builder.build_serialized_network(*net, config);
  ASSERT_TRUE(cpu_plan.is_ok()) << cpu_plan.status().to_string();
  ASSERT_TRUE(gpu_plan.is_ok()) << gpu_plan.status().to_string();
  Runtime runtime;
  auto cpu = runtime.deserialize(*cpu_plan);
  auto gpu = runtime.deserialize(*gpu_plan);
  ASSERT_TRUE(cpu.is_ok() && gpu.is_ok()) << gpu.status().to_string();
  EXPECT_EQ((*gpu)->backend(), Backend::kCuda);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-3, 3);
  for (int64_t rows : {1, 7, 256}) {
    std::vector<float> x(static_cast<size_t>(rows * 64));
    for (auto& v : x) v = d(rng);
    Status s1, s2;
    auto want = run_engine(**cpu, x, rows, &s1);
    auto got = run_engine(**gpu, x, rows, &s2);
    ASSERT_TRUE(s1.is_ok()) << s1.to_string();
    ASSERT_TRUE(s2.is_ok()) << s2.to_string();
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5) << i;
  }
  // A CUDA plan names its device; the inspector shows CUDA tactics.
  std::string json = (*gpu)->inspect_json();
  EXPECT_NE(json.find("kiln-cuda"), std::string::npos);
}

TEST_F(EngineCudaTest, Fp16EngineMatchesWithinHalfPrecision) {
  Builder builder;
  auto net = activation_chain(builder);
  BuildConfig config;
  config.backend = Backend::kCuda;
  config.set_flag(BuilderFlag::kFp16);
  OptimizationProfile p;
  p.set_shape("x", {1, 64}, {16, 64}, {64, 64});
  config.add_profile(p);
  auto plan = builder.build_serialized_network(*net, config);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  Runtime runtime;
  auto gpu = runtime.deserialize(*plan);
  ASSERT_TRUE(gpu.is_ok()) << gpu.status().to_string();
  std::vector<float> x(32 * 64);
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> d(-3, 3);
  for (auto& v : x) v = d(rng);
  Status s;
  auto y = run_engine(**gpu, x, 32, &s);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  for (size_t i = 0; i < x.size(); ++i) {
    float v = x[i];
    float g = 0.5f * v * (1.f + std::erf(v / std::sqrt(2.f)));
    float sg = 1.f / (1.f + std::exp(-g));
    float want = sg >= 0 ? sg : 0.3f * sg;
    ASSERT_NEAR(y[i], want, 2e-3) << i;
  }
}

}  // namespace
}  // namespace kiln::testing::engine_cuda_test
