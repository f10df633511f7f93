// GraphRunner on the CPU backend: CUDA graphs cannot be used, so every enqueue runs plainly,
// the reason is logged once (through the engine's logger) and the results are those of
// Context::enqueue.
#include <kiln/graph_runner.h>

#include "concurrency/concurrency_util.h"

namespace kiln::testing::graph_runner_test {
namespace {

TEST(GraphRunnerCpu, FallsBackWithLoggedReason) {
  RecordingLogger logger;
  Builder builder;
  auto net = builder.create_network();
  demo::build_mnist(*net);
  BuildConfig config;
  config.add_profile(demo::mnist_profile(1, 2, 4));
  config.optimization_level = 0;
  auto plan = builder.build_serialized_network(*net, config);
  ASSERT_TRUE(plan.is_ok());
  auto engine = Runtime(logger).deserialize(*plan);
  ASSERT_TRUE(engine.is_ok());
  auto ctx = (*engine)->create_context();
  ASSERT_TRUE(ctx.is_ok());
  const auto want = mnist_reference(5);

  GraphRunner graphs(**ctx);
  EXPECT_EQ(&graphs.context(), ctx->get());
  for (int i = 0; i < 5; ++i) {
    MnistResult got;
    auto images = demo::demo_images(batch_of(i), seed_of(i));
    got.prob.assign(static_cast<size_t>(batch_of(i)), -1.f);
    got.label.assign(static_cast<size_t>(batch_of(i)), -1);
    ASSERT_TRUE((*ctx)->set_input_shape("x", {batch_of(i), 1, 28, 28}).is_ok());
    ASSERT_TRUE((*ctx)->set_tensor_address("x", images.data()).is_ok());
    ASSERT_TRUE((*ctx)->set_tensor_address("prob", got.prob.data()).is_ok());
    ASSERT_TRUE((*ctx)->set_tensor_address("label", got.label.data()).is_ok());
    Status s = graphs.enqueue(nullptr);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    EXPECT_EQ(got, want[i]) << "request " << i;
  }
  const auto& st = graphs.stats();
  EXPECT_EQ(st.plain_runs, 5u);
  EXPECT_EQ(st.fallbacks, 5u);
  EXPECT_EQ(st.replays, 0u);
  EXPECT_EQ(st.captures, 0u);
  EXPECT_EQ(graphs.num_graphs(), 0u);
  EXPECT_NE(st.last_fallback_reason.find("CUDA graphs need the CUDA backend"), std::string::npos)
      << st.last_fallback_reason;
  // Logged once, as a warning, not once per enqueue.
  EXPECT_EQ(logger.count_containing("CUDA graphs need the CUDA backend"), 1u);
  for (const auto& [sev, m] : logger.messages()) {
    if (m.find("GraphRunner") != std::string::npos) {
      EXPECT_EQ(sev, Severity::kWarning) << m;
    }
  }
}

TEST(GraphRunnerCpu, ErrorsAreThoseOfEnqueue) {
  auto ctx = mnist_engine().create_context();
  ASSERT_TRUE(ctx.is_ok());
  GraphRunner graphs(**ctx);
  Status s = graphs.enqueue(nullptr);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("inputs 'x' are not set"), std::string::npos) << s.to_string();
  EXPECT_EQ(graphs.stats().plain_runs, 0u);
}

TEST(GraphRunnerCpu, DisabledRunsPlainWithoutFallback) {
  auto ctx = mnist_engine().create_context();
  ASSERT_TRUE(ctx.is_ok());
  GraphRunner graphs(**ctx, {.enabled = false});
  MnistResult want, got;
  ASSERT_TRUE(run_mnist(**ctx, 2, 3, &want).is_ok());
  auto images = demo::demo_images(2, 3);
  got.prob.assign(2, -1.f);
  got.label.assign(2, -1);
  ASSERT_TRUE((*ctx)->set_tensor_address("x", images.data()).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address("prob", got.prob.data()).is_ok());
  ASSERT_TRUE((*ctx)->set_tensor_address("label", got.label.data()).is_ok());
  ASSERT_TRUE(graphs.enqueue(nullptr).is_ok());
  EXPECT_EQ(got, want);
  EXPECT_EQ(graphs.stats().plain_runs, 1u);
  EXPECT_EQ(graphs.stats().fallbacks, 0u);
  EXPECT_TRUE(graphs.stats().last_fallback_reason.empty());
}

}  // namespace
}  // namespace kiln::testing::graph_runner_test
