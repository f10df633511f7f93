// One engine, several contexts on several threads at once: weights shared, results equal to a
// single-threaded run; contexts on the same profile and on different profiles at the same time.
#include "concurrency/concurrency_util.h"

#include <atomic>
#include <thread>

namespace kiln::testing::multi_context_test {
namespace {

TEST(MultiContext, ThreadsShareOneEngine) {
  const Engine& e = mnist_engine();
  constexpr int kThreads = 4, kRuns = 6;
  const auto want = mnist_reference(kThreads * kRuns);
  std::vector<MnistResult> got(kThreads * kRuns);
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
        Status s = run_mnist(**ctx, batch_of(i), seed_of(i), &got[i]);
        if (!s.is_ok()) status[t] = s;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : status) EXPECT_TRUE(s.is_ok()) << s.to_string();
  for (int i = 0; i < kThreads * kRuns; ++i) EXPECT_EQ(got[i], want[i]) << "request " << i;
}

// Many contexts exist at once (more than threads), each used by one thread at a time.
TEST(MultiContext, ManyContextsPerEngine) {
  const Engine& e = mnist_engine();
  constexpr int kContexts = 12, kThreads = 3;
  std::vector<std::unique_ptr<Context>> contexts;
  for (int i = 0; i < kContexts; ++i) {
    auto ctx = e.create_context();
    ASSERT_TRUE(ctx.is_ok()) << ctx.status().to_string();
    contexts.push_back(std::move(*ctx));
  }
  const auto want = mnist_reference(kContexts);
  std::vector<MnistResult> got(kContexts);
  std::vector<Status> status(kContexts);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kContexts; i += kThreads) {
        status[i] = run_mnist(*contexts[i], batch_of(i), seed_of(i), &got[i]);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < kContexts; ++i) {
    EXPECT_TRUE(status[i].is_ok()) << status[i].to_string();
    EXPECT_EQ(got[i], want[i]) << "context " << i;
  }
}

// Threads use the same profile at the same time, and the two profiles at the same time.
TEST(MultiContext, SameAndDifferentProfilesAtOnce) {
  const Engine& e = two_profile_engine();
  ASSERT_EQ(e.num_optimization_profiles(), 2);
  constexpr int kThreads = 6, kRuns = 20;
  std::vector<Status> status(kThreads);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto ctx = e.create_context();
      if (!ctx.is_ok()) {
        status[t] = ctx.status();
        return;
      }
      // Threads 0, 2, 4 on profile 0; 1, 3, 5 on profile 1.
      const int profile = t % 2;
      Status s = (*ctx)->set_optimization_profile(profile);
      for (int r = 0; r < kRuns && s.is_ok(); ++r) {
        const int64_t rows = profile == 0 ? 1 + (t + r) % 8 : 9 + (t * 7 + r) % 56;
        auto a = ramp(static_cast<size_t>(rows * 16), -3.f + static_cast<float>(t), 0.25f);
        auto b = ramp(static_cast<size_t>(rows * 16), 2.f - static_cast<float>(r), -0.125f);
        std::vector<float> y(a.size(), NAN);
        s = (*ctx)->set_input_shape("a", {rows, 16});
        if (s.is_ok()) s = (*ctx)->set_input_shape("b", {rows, 16});
        if (s.is_ok()) s = (*ctx)->set_tensor_address("a", a.data());
        if (s.is_ok()) s = (*ctx)->set_tensor_address("b", b.data());
        if (s.is_ok()) s = (*ctx)->set_tensor_address("y", y.data());
        if (s.is_ok()) s = (*ctx)->execute();
        if (s.is_ok() && y != relu_sum_prod(a, b)) ++mismatches;
      }
      status[t] = s;
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : status) EXPECT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(mismatches.load(), 0);
}

// Shapes outside the selected profile are refused, per context, without affecting others.
TEST(MultiContext, ProfileRangeIsPerContext) {
  const Engine& e = two_profile_engine();
  auto c0 = e.create_context();
  auto c1 = e.create_context();
  ASSERT_TRUE(c0.is_ok() && c1.is_ok());
  ASSERT_TRUE((*c1)->set_optimization_profile(1).is_ok());
  EXPECT_TRUE((*c0)->set_input_shape("a", {4, 16}).is_ok());
  Status s = (*c1)->set_input_shape("a", {4, 16});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("outside optimization profile 1"), std::string::npos) << s.to_string();
  EXPECT_TRUE((*c1)->set_input_shape("a", {40, 16}).is_ok());
}

// On the CPU backend enqueue reads the inputs before returning: no input-consumed event, and
// auxiliary streams are a CUDA feature; both say so.
TEST(MultiContext, CpuRefusesCudaOnlySettings) {
  auto ctx = mnist_engine().create_context();
  ASSERT_TRUE(ctx.is_ok());
  int dummy = 0;
  Status s = (*ctx)->set_input_consumed_event(&dummy);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("CPU"), std::string::npos) << s.to_string();
  EXPECT_TRUE((*ctx)->set_input_consumed_event(nullptr).is_ok());
  EXPECT_EQ((*ctx)->input_consumed_event(), nullptr);
  s = (*ctx)->set_aux_streams(2);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("CUDA"), std::string::npos) << s.to_string();
  EXPECT_EQ((*ctx)->set_aux_streams(-1).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE((*ctx)->set_aux_streams(0).is_ok());
  EXPECT_EQ((*ctx)->aux_streams(), 0);
}

}  // namespace
}  // namespace kiln::testing::multi_context_test
