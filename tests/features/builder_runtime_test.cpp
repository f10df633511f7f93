// Autotuning choices, tactic sources, optimization levels, the per-layer profiler and the
// engine inspector.
#include <kiln/kiln.h>

#include "builder/build.h"
#include "demo_model.h"
#include "network/network_state.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>

namespace kiln::builder_runtime_test {
namespace {

struct Built {
  std::unique_ptr<Network> net;
  std::vector<std::pair<std::string, tuner::TuneResult>> tuned;  // per layer of profile 0
};

Result<plan::EngineDesc> build_demo(const BuildConfig& config, Built* out) {
  Builder builder;
  out->net = builder.create_network();
  demo::build_mnist(*out->net);
  builder::BuildCallbacks cb;
  cb.on_layer = [&](int profile, const ir::Node& n, const tuner::TuneResult& r) {
    if (profile == 0) out->tuned.emplace_back(n.name, r);
  };
  return builder::build_engine_desc(out->net->state().graph, config, default_logger(), cb);
}

TEST(Autotune, ChoosesTheFastestTimedCandidate) {
  BuildConfig config;
  config.add_profile(demo::mnist_profile(1, 2, 4));
  config.tuning_iterations = 3;
  Built b;
  auto desc = build_demo(config, &b);
  ASSERT_TRUE(desc.is_ok()) << desc.status().to_string();
  ASSERT_FALSE(b.tuned.empty());
  bool some_layer_had_choices = false;
  for (const auto& [name, r] : b.tuned) {
    ASSERT_FALSE(r.candidates.empty()) << name;
    double best = 1e300;
    std::string best_id;
    for (const auto& c : r.candidates) {
      EXPECT_GT(c.time_ms, 0.0) << name << " " << c.id;
      if (c.time_ms < best) {
        best = c.time_ms;
        best_id = c.id;
      }
    }
    EXPECT_EQ(r.tactic_id, best_id) << name;
    some_layer_had_choices |= r.candidates.size() > 1;
  }
  EXPECT_TRUE(some_layer_had_choices);
  // The fused conv layers exist: conv + relu became one layer.
  bool fused_conv = false;
  for (const auto& [name, r] : b.tuned) fused_conv |= name == "stage1.conv";
  EXPECT_TRUE(fused_conv);
}

TEST(Autotune, LevelZeroTakesFirstNonReferenceWithoutTiming) {
  BuildConfig config;
  config.add_profile(demo::mnist_profile(1, 2, 4));
  config.optimization_level = 0;
  Built b;
  auto desc = build_demo(config, &b);
  ASSERT_TRUE(desc.is_ok()) << desc.status().to_string();
  for (const auto& [name, r] : b.tuned) {
    ASSERT_EQ(r.candidates.size(), 1u) << name;
    EXPECT_FALSE(r.candidates[0].timed()) << name;
  }
  // Reference kernels rank last: a layer with other tactics does not get it.
  for (const auto& [name, r] : b.tuned) {
    if (name == "stage1.conv" || name == "fc1.matmul") {
      EXPECT_EQ(r.candidates[0].id.find("/cpu-ref/"), std::string::npos) << name;
    }
  }
}

TEST(Autotune, TacticSourcesRestrictTheChoice) {
  BuildConfig config;
  config.add_profile(demo::mnist_profile(1, 2, 4));
  config.tactic_sources = static_cast<uint32_t>(TacticSource::kCpuReference);
  Built b;
  auto desc = build_demo(config, &b);
  ASSERT_TRUE(desc.is_ok()) << desc.status().to_string();
  for (const auto& [name, r] : b.tuned) {
    EXPECT_NE(r.tactic_id.find("/cpu-ref/"), std::string::npos) << name << " " << r.tactic_id;
  }
  // With only BLAS enabled, layers without a BLAS tactic cannot be built: the error names one.
  BuildConfig blas_only = config;
  blas_only.tactic_sources = static_cast<uint32_t>(TacticSource::kCpuBlas);
  Built b2;
  auto bad = build_demo(blas_only, &b2);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(bad.status().to_string().find("layer '"), std::string::npos) << bad.status().to_string();
  EXPECT_NE(bad.status().to_string().find("tactic sources"), std::string::npos);
}

class RecordingProfiler : public Profiler {
 public:
  void report_layer_time(std::string_view layer, float ms) override {
    times[std::string(layer)] += ms;
    ++calls;
  }
  std::map<std::string, float> times;
  int calls = 0;
};

TEST(Runtime, ProfilerAndInspector) {
  Builder builder;
  auto net = builder.create_network();
  demo::build_mnist(*net);
  BuildConfig config;
  config.add_profile(demo::mnist_profile(1, 2, 4));
  config.add_profile(demo::mnist_profile(4, 8, 16));
  config.optimization_level = 0;
  auto plan = builder.build_serialized_network(*net, config);
  ASSERT_TRUE(plan.is_ok());
  Runtime runtime;
  auto engine = runtime.deserialize(*plan);
  ASSERT_TRUE(engine.is_ok());
  auto ctx = (*engine)->create_context();
  ASSERT_TRUE(ctx.is_ok());
  RecordingProfiler profiler;
  (*ctx)->set_profiler(&profiler);
  auto images = demo::demo_images(2);
  std::vector<float> prob(2);
  std::vector<int64_t> label(2);
  ASSERT_TRUE((*ctx)->set_input_shape("x", {2, 1, 28, 28}).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address("x", images.data()).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address("prob", prob.data()).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address("label", label.data()).is_ok());
  ASSERT_TRUE((*ctx)->execute().is_ok());
  EXPECT_EQ(profiler.calls, (*engine)->num_layers());
  EXPECT_TRUE(profiler.times.count("stage1.conv"));
  EXPECT_TRUE(profiler.times.count("top1"));

  auto j = nlohmann::json::parse((*engine)->inspect_json());
  EXPECT_EQ(j["backend"], "cpu");
  ASSERT_EQ(j["profiles"].size(), 2u);
  EXPECT_EQ(j["profiles"][1]["input_ranges"]["x"]["max"], "[16,1,28,28]");
  EXPECT_GT(j["profiles"][1]["context_memory_bytes"].get<int64_t>(),
            j["profiles"][0]["context_memory_bytes"].get<int64_t>());
  bool saw_fused = false;
  for (const auto& l : j["layers"]) {
    EXPECT_EQ(l["tactic_per_profile"].size(), 2u);
    if (l["name"] == "stage1.conv") {
      saw_fused = true;
      EXPECT_EQ(l["fused"][0], "stage1.relu");
      EXPECT_EQ(l["attributes"]["activation"], "relu");
      EXPECT_EQ(l["outputs"][0]["shape"], "[x.0,32,28,28]");
    }
  }
  EXPECT_TRUE(saw_fused);
  EXPECT_EQ((*engine)->weights_size() > 3136u * 1024u * 4u, true);
}

}  // namespace
}  // namespace kiln::builder_runtime_test
