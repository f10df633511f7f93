// End to end on the GPU: a small ResNet (stem conv + batch norm + ReLU, max pool, two bottleneck
// blocks with residual adds, one with a strided projection, global average pool, flatten, fully
// connected layer) built for the CUDA backend in float32 and float16, with each layout policy
// (auto: tuned; nhwc: every layer that can; nchw), serialized, loaded and run at several batch
// sizes, compared with the same network on the CPU backend. Checks the structure the passes
// promise: convolutions fused with their batch norm, residual add and ReLU; under the nhwc
// policy every conv and pool channels-last, with one Transpose (after the input Cast in float16)
// and no reformat at the output.
#include <kiln/kiln.h>

#include "backends/device.h"
#include "builder/build.h"
#include "common/small_resnet.h"
#include "gpu/gpu_harness.h"
#include "network/network_state.h"
#include "ops/common/layout.h"
#include "plan/engine_desc.h"

#include <cmath>
#include <iostream>
#include <map>
#include <random>

namespace kiln::testing::resnet_layout_cuda_test {
namespace {

using ResNetLayoutCuda = GpuTest;

int count_ops(const ir::Graph& g, const std::string& op) {
  int c = 0;
  for (int i = 0; i < g.num_nodes(); ++i) c += g.node(i).op == op;
  return c;
}

Result<std::vector<float>> run(Engine& e, const std::vector<float>& x, int64_t batch) {
  KILN_ASSIGN_OR_RETURN(Device * dev, get_device(e.backend()));
  KILN_ASSIGN_OR_RETURN(auto ctx, e.create_context());
  std::vector<float> y(static_cast<size_t>(batch * kClasses), NAN);
  KILN_ASSIGN_OR_RETURN(DeviceBuffer dx, dev->allocate(x.size() * 4));
  KILN_ASSIGN_OR_RETURN(DeviceBuffer dy, dev->allocate(y.size() * 4));
  KILN_RETURN_IF_ERROR(dev->upload(dx.get(), x.data(), x.size() * 4));
  KILN_RETURN_IF_ERROR(ctx->set_input_shape("x", {batch, 3, 32, 32}));
  KILN_RETURN_IF_ERROR(ctx->set_tensor_address("x", dx.get()));
  KILN_RETURN_IF_ERROR(ctx->set_tensor_address("y", dy.get()));
  KILN_RETURN_IF_ERROR(ctx->execute());
  KILN_RETURN_IF_ERROR(dev->download(y.data(), dy.get(), y.size() * 4));
  return y;
}

TEST_F(ResNetLayoutCuda, EveryPrecisionAndLayoutPolicyMatchesTheCpuEngine) {
  Builder builder;
  WeightStore ws;
  auto net = small_resnet(builder, ws);
  ASSERT_TRUE(net->status().is_ok()) << net->status().to_string();
  OptimizationProfile profile;
  profile.set_shape("x", {1, 3, 32, 32}, {4, 3, 32, 32}, {8, 3, 32, 32});

  BuildConfig cpu_config;
  cpu_config.add_profile(profile);
  cpu_config.optimization_level = 0;
  auto cpu_plan = builder.build_serialized_network(*net, cpu_config);
  ASSERT_TRUE(cpu_plan.is_ok()) << cpu_plan.status().to_string();
  Runtime runtime;
  auto cpu = runtime.deserialize(*cpu_plan);
  ASSERT_TRUE(cpu.is_ok()) << cpu.status().to_string();

  std::mt19937 rng(5);
  std::uniform_real_distribution<float> d(-1, 1);
  std::map<int64_t, std::vector<float>> inputs, want;
  for (int64_t batch : {1, 5, 8}) {
    inputs[batch].resize(static_cast<size_t>(batch * 3 * 32 * 32));
    for (float& v : inputs[batch]) v = d(rng);
    auto y = run(**cpu, inputs[batch], batch);
    ASSERT_TRUE(y.is_ok()) << y.status().to_string();
    want[batch] = *y;
  }

  struct Variant {
    bool fp16;
    LayoutPolicy layouts;
    const char* name;
  };
  for (const Variant& v : {Variant{false, LayoutPolicy::kAuto, "fp32 auto"},
                           Variant{false, LayoutPolicy::kNhwc, "fp32 nhwc"},
                           Variant{true, LayoutPolicy::kAuto, "fp16 auto"},
                           Variant{true, LayoutPolicy::kNhwc, "fp16 nhwc"},
                           Variant{true, LayoutPolicy::kNchw, "fp16 nchw"}}) {
    SCOPED_TRACE(v.name);
    BuildConfig config;
    config.backend = Backend::kCuda;
    config.layouts = v.layouts;
    config.add_profile(profile);
    // float32: every timed tactic against the CPU reference kernel (the tuner's fixed 1e-3
    // tolerance is too tight for float16 sums of hundreds of terms).
    config.check_accuracy = !v.fp16;
    // float32 without TF32, so that it can be compared tightly.
    if (v.fp16) {
      config.set_flag(BuilderFlag::kFp16);
    } else {
      config.clear_flag(BuilderFlag::kTf32);
    }
    std::map<std::string, std::string> chosen;
    builder::BuildCallbacks cb;
    cb.on_layer = [&](int, const ir::Node& n, const tuner::TuneResult& r) {
      chosen[n.name + " (" + n.op + ")"] = r.tactic_id;
    };
    auto desc = builder::build_engine_desc(net->state().graph, config, builder.logger(), cb);
    ASSERT_TRUE(desc.is_ok()) << desc.status().to_string();
    const ir::Graph& g = desc->graph;
    // conv + folded BN (+ residual add) + ReLU: one node each; nothing left of the adds.
    EXPECT_EQ(count_ops(g, "Conv"), kSmallResNetConvs);
    EXPECT_EQ(count_ops(g, "BatchNorm"), 0);
    EXPECT_EQ(count_ops(g, "Activation"), 0);
    int convs_last = 0, pools_last = 0;
    for (int i = 0; i < g.num_nodes(); ++i) {
      const ir::Node& n = g.node(i);
      convs_last += n.op == "Conv" && ops::channels_last(n.attrs);
      pools_last += n.op == "Pooling" && ops::channels_last(n.attrs);
    }
    std::cout << "[ " << v.name << " ] " << convs_last << " of " << kSmallResNetConvs
              << " convs and " << pools_last << " of 2 pools NHWC, " << count_ops(g, "Transpose")
              << " Transposes, " << count_ops(g, "Cast") << " Casts\n";
    for (const auto& [layer, tactic] : chosen)
      std::cout << "    " << layer << ": " << tactic << "\n";
    EXPECT_EQ(count_ops(g, "Cast"), v.fp16 ? 2 : 0);
    if (v.layouts == LayoutPolicy::kNhwc) {
      EXPECT_EQ(convs_last, kSmallResNetConvs);
      EXPECT_EQ(pools_last, 2);
      EXPECT_EQ(count_ops(g, "Transpose"), 1);  // at the input; the flatten reads NHWC
    }
    if (v.layouts == LayoutPolicy::kNchw) {
      EXPECT_EQ(convs_last + pools_last, 0);
      EXPECT_EQ(count_ops(g, "Transpose"), 0);
    }
    auto plan = plan::write_plan(*desc);
    ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
    auto gpu = runtime.deserialize(*plan);
    ASSERT_TRUE(gpu.is_ok()) << gpu.status().to_string();
    for (int64_t batch : {1, 5, 8}) {
      auto y = run(**gpu, inputs[batch], batch);
      ASSERT_TRUE(y.is_ok()) << y.status().to_string();
      double max_ref = 0, max_err = 0;
      for (size_t i = 0; i < y->size(); ++i) {
        max_ref = std::max(max_ref, std::fabs(static_cast<double>(want[batch][i])));
        max_err = std::max(max_err, std::fabs(static_cast<double>((*y)[i] - want[batch][i])));
      }
      // Error relative to the largest output: float32 sums reordered; float16 storage of every
      // activation (about 2^-11 relative each, through 10 conv layers).
      EXPECT_LE(max_err, (v.fp16 ? 2e-2 : 1e-4) * max_ref) << "batch " << batch;
    }
  }
}

}  // namespace
}  // namespace kiln::testing::resnet_layout_cuda_test
