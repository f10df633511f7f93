// The tuner on the CUDA backend: timing cache (round trip, warm rebuild, descriptor, TF32
// mismatch, concurrent builders), deterministic builds with several profiles, tactic sources
// (a disabled library is never initialized), optimization levels, and a tactic selector that
// bans the tactic chosen for a ResNet-50 layer and gets another one with the same results.
#include <kiln/kiln.h>
#include <kiln/tactic_selector.h>
#include <kiln/timing_cache.h>

#include "backends/cuda/handles.h"
#include "backends/device.h"
#include "builder/build.h"
#include "gpu/gpu_harness.h"
#include "network/network_state.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <thread>

namespace kiln::testing::tuner_cuda_test {
namespace {

using TunerCudaTest = GpuTest;

std::vector<float> random_vector(size_t n, float bound, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-bound, bound);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// A ResNet-50 stage-1 layer: 3x3 convolution 64 -> 64 at 56x56, bias, ReLU. Batch `n`
// (-1: dynamic).
std::unique_ptr<Network> resnet_layer(Builder& b, int64_t n) {
  auto net = b.create_network();
  Tensor* x = net->add_input("x", DataType::kFloat32, {n, 64, 56, 56});
  auto w = random_vector(64 * 64 * 9, 1.f / 24.f, 11);
  auto bias = random_vector(64, 0.1f, 12);
  Layer* conv = net->add_convolution(x, {.out_channels = 64, .kernel = {3, 3}, .padding = {1, 1}},
                                     Weights(w), Weights(bias));
  conv->set_name("layer1.0.conv2");
  Layer* relu = net->add_activation(conv->output(0), ActivationType::kRelu);
  relu->set_name("layer1.0.relu");
  relu->output(0)->set_name("y");
  net->mark_output(relu->output(0));
  return net;
}

// conv -> global pool -> matmul -> softmax, dynamic batch: several ops and sources.
std::unique_ptr<Network> small_net(Builder& b) {
  auto net = b.create_network();
  Tensor* x = net->add_input("x", DataType::kFloat32, {-1, 16, 16, 16});
  auto w = random_vector(32 * 16 * 9, 0.1f, 21);
  Layer* conv = net->add_convolution(x, {.out_channels = 32, .kernel = {3, 3}, .padding = {1, 1}},
                                     Weights(w), Weights());
  conv->set_name("conv");
  Layer* pool = net->add_pooling(conv->output(0), {.type = PoolingType::kAverage, .global = true});
  pool->set_name("pool");
  Layer* flat = net->add_shuffle(pool->output(0), {.reshape = {0, 32}, .has_reshape = true});
  auto fw = random_vector(32 * 10, 0.2f, 22);
  Layer* wc = net->add_constant({32, 10}, Weights(fw));
  Layer* mm =
      net->add_matrix_multiply(flat->output(0), MatrixOp::kNone, wc->output(0), MatrixOp::kNone);
  mm->set_name("fc");
  Layer* sm = net->add_softmax(mm->output(0), 1);
  sm->set_name("softmax");
  sm->output(0)->set_name("y");
  net->mark_output(sm->output(0));
  return net;
}

OptimizationProfile batch_profile(int64_t lo, int64_t opt, int64_t hi) {
  OptimizationProfile p;
  p.set_shape("x", {lo, 16, 16, 16}, {opt, 16, 16, 16}, {hi, 16, 16, 16});
  return p;
}

struct Built {
  Result<std::vector<uint8_t>> plan = internal_error("not built");
  BuildProgress last;
  std::map<std::string, tuner::TuneResult> tuned;  // "<profile>:<layer>"
};

Built build(const Network& net, BuildConfig config) {
  Built out;
  config.progress = [&](const BuildProgress& p) { out.last = p; };
  builder::BuildCallbacks cb;
  cb.on_layer = [&](int profile, const ir::Node& n, const tuner::TuneResult& r) {
    out.tuned[std::to_string(profile) + ":" + n.name] = r;
  };
  auto desc = builder::build_engine_desc(net.state().graph, config, default_logger(), cb);
  if (!desc.is_ok()) {
    out.plan = desc.status();
    return out;
  }
  out.plan = plan::write_plan(*desc);
  return out;
}

BuildConfig cuda_config() {
  BuildConfig c;
  c.backend = Backend::kCuda;
  return c;
}

// Runs an engine with one float input "x" and one float output "y".
Result<std::vector<float>> run(const std::vector<uint8_t>& plan, const Dims& x_shape,
                               const std::vector<float>& x, int profile = 0) {
  Runtime runtime;
  KILN_ASSIGN_OR_RETURN(auto engine, runtime.deserialize(plan));
  KILN_ASSIGN_OR_RETURN(auto ctx, engine->create_context());
  KILN_ASSIGN_OR_RETURN(Device * dev, get_device(engine->backend()));
  KILN_RETURN_IF_ERROR(ctx->set_optimization_profile(profile));
  KILN_RETURN_IF_ERROR(ctx->set_input_shape("x", x_shape));
  const Dims ys = ctx->tensor_shape("y");
  std::vector<float> y(static_cast<size_t>(ys.volume()));
  KILN_ASSIGN_OR_RETURN(DeviceBuffer dx, dev->allocate(x.size() * 4));
  KILN_ASSIGN_OR_RETURN(DeviceBuffer dy, dev->allocate(y.size() * 4));
  KILN_RETURN_IF_ERROR(dev->upload(dx.get(), x.data(), x.size() * 4));
  KILN_RETURN_IF_ERROR(ctx->set_tensor_address("x", dx.get()));
  KILN_RETURN_IF_ERROR(ctx->set_tensor_address("y", dy.get()));
  KILN_RETURN_IF_ERROR(ctx->execute());
  KILN_RETURN_IF_ERROR(dev->download(y.data(), dy.get(), y.size() * 4));
  return y;
}

// max |a - b| <= tol * max |b| (+ tol).
::testing::AssertionResult close(const std::vector<float>& a, const std::vector<float>& b,
                                 double tol) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << "sizes differ";
  double scale = 0, worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::fabs(double(b[i])));
    double d = std::fabs(double(a[i]) - double(b[i]));
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  if (worst <= tol * scale + tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max difference " << worst << " at " << at << " (scale "
                                       << scale << ", tolerance " << tol << ")";
}

class RecordingSelector final : public TacticSelector {
 public:
  std::string ban_layer, ban_tactic;
  std::map<std::string, std::string> chosen;
  std::map<std::string, std::vector<TacticCandidate>> seen;
  Result<std::vector<int>> select(const LayerContext& layer,
                                  std::span<const TacticCandidate> c) override {
    seen[layer.name].assign(c.begin(), c.end());
    std::vector<int> keep;
    if (layer.name != ban_layer) return keep;
    for (size_t i = 0; i < c.size(); ++i) {
      if (c[i].id != ban_tactic) keep.push_back(static_cast<int>(i));
    }
    return keep;
  }
  void report(const LayerContext& layer, const TacticCandidate& t) override {
    chosen[layer.name] = t.id;
  }
};

TEST_F(TunerCudaTest, BanningTheChosenTacticOfAResNet50LayerGivesAnotherWithTheSameResults) {
  Builder builder;
  auto net = resnet_layer(builder, 8);
  BuildConfig config = cuda_config();
  config.clear_flag(BuilderFlag::kTf32);  // compare with the CPU in full float32
  auto watch = std::make_shared<RecordingSelector>();
  config.tactic_selector = watch;
  auto first = build(*net, config);
  ASSERT_TRUE(first.plan.is_ok()) << first.plan.status().to_string();
  const std::string layer = "layer1.0.conv2";
  ASSERT_TRUE(watch->chosen.count(layer));
  const std::string picked = watch->chosen[layer];
  ASSERT_GE(watch->seen[layer].size(), 2u) << "the layer needs at least two CUDA candidates";
  std::printf("candidates of %s:\n", layer.c_str());
  for (const auto& c : watch->seen[layer]) {
    std::printf("  %-45s %s %10.4f ms  workspace %llu\n", c.id.c_str(), c.id == picked ? "*" : " ",
                c.time_ms, static_cast<unsigned long long>(c.workspace));
  }

  auto ban = std::make_shared<RecordingSelector>();
  ban->ban_layer = layer;
  ban->ban_tactic = picked;
  config.tactic_selector = ban;
  auto second = build(*net, config);
  ASSERT_TRUE(second.plan.is_ok()) << second.plan.status().to_string();
  ASSERT_TRUE(ban->chosen.count(layer));
  EXPECT_NE(ban->chosen[layer], picked);
  EXPECT_NE(*second.plan, *first.plan);

  BuildConfig cpu;
  cpu.clear_flag(BuilderFlag::kTf32);
  cpu.optimization_level = 0;  // the CPU engine is only the reference
  auto cpu_plan = builder.build_serialized_network(*net, cpu);
  ASSERT_TRUE(cpu_plan.is_ok());
  const Dims shape{8, 64, 56, 56};
  auto x = random_vector(static_cast<size_t>(shape.volume()), 1.f, 5);
  auto want = run(*cpu_plan, shape, x);
  auto got1 = run(*first.plan, shape, x);
  auto got2 = run(*second.plan, shape, x);
  ASSERT_TRUE(want.is_ok() && got1.is_ok() && got2.is_ok())
      << want.status().to_string() << got1.status().to_string() << got2.status().to_string();
  EXPECT_TRUE(close(*got1, *want, 2e-3)) << picked;
  EXPECT_TRUE(close(*got2, *want, 2e-3)) << ban->chosen[layer];
}

TEST_F(TunerCudaTest, TimingCacheRoundTripWarmRebuildAndDescriptor) {
  Builder builder;
  auto net = small_net(builder);
  auto cache = TimingCache::create();
  BuildConfig config = cuda_config();
  config.add_profile(batch_profile(1, 8, 32));
  config.timing_cache = cache;
  auto cold = build(*net, config);
  ASSERT_TRUE(cold.plan.is_ok()) << cold.plan.status().to_string();
  EXPECT_GT(cold.last.cache_misses, 0);
  auto d = cache->descriptor();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->backend, Backend::kCuda);
  EXPECT_EQ(d->device_name, device()->info().name);
  EXPECT_GT(d->compute_major, 0);
  EXPECT_GT(d->driver_version, 0);
  EXPECT_GT(d->cuda_runtime_version, 0);
  EXPECT_GT(d->cudnn_version, 0);
  EXPECT_GT(d->cublas_version, 0);
  EXPECT_NE(d->kernel_flags & static_cast<uint32_t>(BuilderFlag::kTf32), 0u);
  // CUDA tactics with their measurements.
  bool cudnn = false, lt = false;
  for (TimingCacheKey k : cache->query_keys()) {
    const TimingCacheValue v = *cache->query(k);
    for (const auto& t : v.tactics) {
      cudnn |= t.tactic_id.find("/cudnn/") != std::string::npos && t.timed();
      lt |= t.tactic_id.find("/cublaslt/") != std::string::npos && t.timed();
    }
  }
  EXPECT_TRUE(cudnn);
  EXPECT_TRUE(lt);

  auto bytes = cache->serialize();
  ASSERT_TRUE(bytes.is_ok());
  auto loaded = TimingCache::deserialize(*bytes);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  config.timing_cache = *loaded;
  auto warm = build(*net, config);
  ASSERT_TRUE(warm.plan.is_ok());
  EXPECT_EQ(warm.last.cache_misses, 0);
  EXPECT_EQ(*warm.plan, *cold.plan);

  // TF32 changes CUDA kernels: a TF32-off build refuses the cache, or ignores it when told.
  BuildConfig no_tf32 = config;
  no_tf32.clear_flag(BuilderFlag::kTf32);
  auto bad = build(*net, no_tf32);
  ASSERT_FALSE(bad.plan.is_ok());
  EXPECT_EQ(bad.plan.status().code(), StatusCode::kVersionMismatch);
  EXPECT_NE(bad.plan.status().to_string().find("TF32 off here, TF32 on in the cache"),
            std::string::npos)
      << bad.plan.status().to_string();
  no_tf32.ignore_timing_cache_mismatch = true;
  auto ignored = build(*net, no_tf32);
  ASSERT_TRUE(ignored.plan.is_ok()) << ignored.plan.status().to_string();
  EXPECT_GT(ignored.last.cache_misses, 0);
}

TEST_F(TunerCudaTest, DeterministicBuildsWithSeveralProfilesAndConcurrentBuilders) {
  Builder builder;
  auto net = small_net(builder);
  auto cache = TimingCache::create();
  BuildConfig config = cuda_config();
  config.add_profile(batch_profile(1, 4, 8));
  config.add_profile(batch_profile(8, 32, 64));
  config.timing_cache = cache;
  // Two builders fill one cache at once.
  Built a, b;
  std::thread t1([&] { a = build(*net, config); });
  std::thread t2([&] { b = build(*net, config); });
  t1.join();
  t2.join();
  ASSERT_TRUE(a.plan.is_ok()) << a.plan.status().to_string();
  ASSERT_TRUE(b.plan.is_ok()) << b.plan.status().to_string();
  // The cache now covers the network: byte-identical plans.
  auto c = build(*net, config);
  auto d = build(*net, config);
  ASSERT_TRUE(c.plan.is_ok() && d.plan.is_ok());
  EXPECT_EQ(c.last.cache_misses, 0);
  EXPECT_EQ(*c.plan, *d.plan);
  // And the plan runs in its second profile, matching the CPU engine.
  BuildConfig cpu;
  cpu.optimization_level = 0;
  cpu.add_profile(batch_profile(1, 4, 8));
  cpu.add_profile(batch_profile(8, 32, 64));
  auto cpu_plan = builder.build_serialized_network(*net, cpu);
  ASSERT_TRUE(cpu_plan.is_ok());
  const Dims shape{40, 16, 16, 16};
  auto x = random_vector(static_cast<size_t>(shape.volume()), 1.f, 9);
  auto want = run(*cpu_plan, shape, x, 1);
  auto got = run(*c.plan, shape, x, 1);
  ASSERT_TRUE(want.is_ok() && got.is_ok()) << want.status().to_string() << got.status().to_string();
  EXPECT_TRUE(close(*got, *want, 1e-2));  // TF32 on
}

TEST_F(TunerCudaTest, DisabledSourcesAreNeverInitialized) {
  Builder builder;
  auto net = resnet_layer(builder, 2);
  const size_t cudnn_before = cuda::handles_created(TacticSource::kCudnn);
  BuildConfig config = cuda_config();
  config.tactic_sources = kAllTacticSources & ~static_cast<uint32_t>(TacticSource::kCudnn);
  auto b = build(*net, config);
  ASSERT_TRUE(b.plan.is_ok()) << b.plan.status().to_string();
  for (const auto& [layer, r] : b.tuned) {
    for (const auto& c : r.candidates) EXPECT_NE(c.source, TacticSource::kCudnn) << c.id;
  }
  Runtime runtime;
  auto engine = runtime.deserialize(*b.plan);
  ASSERT_TRUE(engine.is_ok());
  EXPECT_EQ((*engine)->tactic_sources_used() & static_cast<uint32_t>(TacticSource::kCudnn), 0u);
  const Dims shape{2, 64, 56, 56};
  auto x = random_vector(static_cast<size_t>(shape.volume()), 1.f, 6);
  auto y = run(*b.plan, shape, x);
  ASSERT_TRUE(y.is_ok()) << y.status().to_string();
  EXPECT_EQ(cuda::handles_created(TacticSource::kCudnn), cudnn_before)
      << "a cuDNN handle was created although cuDNN was disabled";

  // Only cuDNN: the ReLU is fused into the conv, so the layer builds; a network with a softmax
  // has no cuDNN tactic for it, and the error names the layer and the sources.
  auto other = small_net(builder);
  BuildConfig only = cuda_config();
  only.add_profile(batch_profile(1, 4, 8));
  only.tactic_sources = static_cast<uint32_t>(TacticSource::kCudnn);
  auto bad = build(*other, only);
  ASSERT_FALSE(bad.plan.is_ok());
  const std::string msg = bad.plan.status().to_string();
  EXPECT_NE(msg.find("no tactic is left for this layer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("enabled tactic sources: cudnn"), std::string::npos) << msg;
}

TEST_F(TunerCudaTest, OptimizationLevels) {
  Builder builder;
  auto net = resnet_layer(builder, 2);
  std::map<int, Built> by;
  for (int level : {0, 3, 5}) {
    BuildConfig config = cuda_config();
    config.optimization_level = level;
    by[level] = build(*net, config);
    ASSERT_TRUE(by[level].plan.is_ok()) << level << by[level].plan.status().to_string();
  }
  const std::string key = "0:layer1.0.conv2";
  const auto& l0 = by[0].tuned.at(key);
  ASSERT_EQ(l0.candidates.size(), 1u);
  EXPECT_FALSE(l0.candidates[0].timed());
  auto timed = [](const tuner::TuneResult& r) {
    int n = 0;
    for (const auto& c : r.candidates) n += c.timed();
    return n;
  };
  EXPECT_LE(timed(by[3].tuned.at(key)), 4);
  EXPECT_EQ(timed(by[5].tuned.at(key)), static_cast<int>(by[5].tuned.at(key).candidates.size()));
  EXPECT_GT(timed(by[5].tuned.at(key)), timed(by[3].tuned.at(key)));
}

}  // namespace
}  // namespace kiln::testing::tuner_cuda_test
