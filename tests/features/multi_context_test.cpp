// One engine, several contexts on several threads at once: weights shared, results equal to a
// single-threaded run.
#include <kiln/kiln.h>

#include "demo_model.h"

#include <gtest/gtest.h>

#include <thread>

namespace kiln {
namespace {

TEST(MultiContext, ThreadsShareOneEngine) {
  Builder builder;
  auto net = builder.create_network();
  demo::build_mnist(*net);
  BuildConfig config;
  config.add_profile(demo::mnist_profile(1, 2, 4));
  config.optimization_level = 0;
  auto plan = builder.build_serialized_network(*net, config);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  Runtime runtime;
  auto engine = runtime.deserialize(*plan);
  ASSERT_TRUE(engine.is_ok());
  const Engine& e = **engine;

  auto run = [&](Context& ctx, int64_t batch, uint32_t seed, std::vector<float>* prob,
                 std::vector<int64_t>* label) {
    auto images = demo::demo_images(batch, seed);
    prob->assign(static_cast<size_t>(batch), 0.f);
    label->assign(static_cast<size_t>(batch), -1);
    Status s = ctx.set_input_shape("x", {batch, 1, 28, 28});
    if (s.is_ok()) s = ctx.set_tensor_address("x", images.data());
    if (s.is_ok()) s = ctx.set_tensor_address("prob", prob->data());
    if (s.is_ok()) s = ctx.set_tensor_address("label", label->data());
    if (s.is_ok()) s = ctx.execute();
    return s;
  };
  constexpr int kThreads = 4, kRuns = 6;
  // Expected values from one context, sequentially.
  std::vector<std::vector<float>> want_p(kThreads * kRuns);
  std::vector<std::vector<int64_t>> want_l(kThreads * kRuns);
  {
    auto ctx = e.create_context();
    ASSERT_TRUE(ctx.is_ok());
    for (int i = 0; i < kThreads * kRuns; ++i) {
      ASSERT_TRUE(run(**ctx, 1 + i % 4, static_cast<uint32_t>(i), &want_p[i], &want_l[i]).is_ok());
    }
  }
  std::vector<std::vector<float>> got_p(kThreads * kRuns);
  std::vector<std::vector<int64_t>> got_l(kThreads * kRuns);
  std::vector<Status> status(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto ctx = e.create_context();
      if (!ctx.is_ok()) {
        status[t] = ctx.status();
        return;
      }
      for (int r = 0; r < kRuns; ++r) {
        int i = t * kRuns + r;
        Status s = run(**ctx, 1 + i % 4, static_cast<uint32_t>(i), &got_p[i], &got_l[i]);
        if (!s.is_ok()) status[t] = s;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : status) EXPECT_TRUE(s.is_ok()) << s.to_string();
  for (int i = 0; i < kThreads * kRuns; ++i) {
    EXPECT_EQ(got_p[i], want_p[i]) << "run " << i;
    EXPECT_EQ(got_l[i], want_l[i]) << "run " << i;
  }
}

}  // namespace
}  // namespace kiln
