// ContextPool: many threads share a bounded set of contexts; blocking, timed and non-blocking
// acquisition; leases clear the previous request's bindings; leases may outlive the pool.
#include <kiln/context_pool.h>

#include "concurrency/concurrency_util.h"

#include <atomic>
#include <chrono>
#include <thread>

namespace kiln::testing::context_pool_test {
namespace {

using namespace std::chrono_literals;

TEST(ContextPool, ThreadsTimesRequestsMatchSingleThreaded) {
  constexpr int kThreads = 8, kRuns = 5, kContexts = 3;
  auto pool = ContextPool::create(mnist_engine(), {.max_contexts = kContexts});
  ASSERT_TRUE(pool.is_ok()) << pool.status().to_string();
  const auto want = mnist_reference(kThreads * kRuns);
  std::vector<MnistResult> got(kThreads * kRuns);
  std::vector<Status> status(kThreads);
  std::atomic<int> in_use{0}, max_in_use{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRuns; ++r) {
        const int i = t * kRuns + r;
        auto lease = (*pool)->acquire();
        if (!lease.is_ok()) {
          status[t] = lease.status();
          return;
        }
        int now = ++in_use;
        int prev = max_in_use.load();
        while (now > prev && !max_in_use.compare_exchange_weak(prev, now)) {
        }
        Status s = run_mnist(**lease, batch_of(i), seed_of(i), &got[i]);
        --in_use;
        if (!s.is_ok()) status[t] = s;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : status) EXPECT_TRUE(s.is_ok()) << s.to_string();
  for (int i = 0; i < kThreads * kRuns; ++i) EXPECT_EQ(got[i], want[i]) << "request " << i;
  EXPECT_LE(max_in_use.load(), kContexts);
  EXPECT_LE((*pool)->created(), static_cast<size_t>(kContexts));
  EXPECT_GE((*pool)->created(), 1u);
  EXPECT_EQ((*pool)->available(), static_cast<size_t>(kContexts));
}

TEST(ContextPool, TryAndTimedAcquireWhenExhausted) {
  auto pool = ContextPool::create(mnist_engine(), {.max_contexts = 2, .create_all = true});
  ASSERT_TRUE(pool.is_ok());
  EXPECT_EQ((*pool)->created(), 2u);
  EXPECT_EQ((*pool)->capacity(), 2u);
  auto a = (*pool)->try_acquire();
  auto b = (*pool)->try_acquire();
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_NE(a->get(), b->get());
  EXPECT_EQ((*pool)->available(), 0u);
  auto c = (*pool)->try_acquire();
  ASSERT_FALSE(c.is_ok());
  EXPECT_EQ(c.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(c.status().message().find("all 2 contexts are in use"), std::string::npos);
  auto t0 = std::chrono::steady_clock::now();
  auto d = (*pool)->acquire_for(30ms);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  ASSERT_FALSE(d.is_ok());
  EXPECT_EQ(d.status().code(), StatusCode::kResourceExhausted);
  Context* first = a->get();
  a->release();
  EXPECT_FALSE(static_cast<bool>(*a));
  auto e = (*pool)->try_acquire();
  ASSERT_TRUE(e.is_ok());
  EXPECT_EQ(e->get(), first);  // the context that came back
}

TEST(ContextPool, AcquireWaitsForRelease) {
  auto pool = ContextPool::create(mnist_engine(), {.max_contexts = 1});
  ASSERT_TRUE(pool.is_ok());
  auto held = (*pool)->acquire();
  ASSERT_TRUE(held.is_ok());
  std::atomic<bool> released{false}, acquired{false};
  std::thread waiter([&] {
    auto lease = (*pool)->acquire();
    // The only context comes back only after the holder released it.
    EXPECT_TRUE(released.load());
    acquired = lease.is_ok();
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(acquired.load());
  released = true;
  held->release();
  waiter.join();
  EXPECT_TRUE(acquired.load());
}

TEST(ContextPool, ReturnedContextForgetsAddressesKeepsShapes) {
  auto pool = ContextPool::create(mnist_engine(), {.max_contexts = 1});
  ASSERT_TRUE(pool.is_ok());
  MnistResult r;
  {
    auto lease = (*pool)->acquire();
    ASSERT_TRUE(lease.is_ok());
    ASSERT_TRUE(run_mnist(**lease, 3, 1, &r).is_ok());
  }
  auto lease = (*pool)->acquire();
  ASSERT_TRUE(lease.is_ok());
  EXPECT_EQ((*lease)->tensor_shape("x"), (Dims{3, 1, 28, 28}));
  EXPECT_EQ((*lease)->tensor_address("x"), nullptr);
  Status s = (*lease)->enqueue(nullptr);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("no address set for tensor 'x'"), std::string::npos) << s.to_string();
}

TEST(ContextPool, LeaseOutlivesPool) {
  MnistResult want, got;
  {
    auto ctx = mnist_engine().create_context();
    ASSERT_TRUE(ctx.is_ok());
    ASSERT_TRUE(run_mnist(**ctx, 2, 9, &want).is_ok());
  }
  ContextPool::Lease lease;
  {
    auto pool = ContextPool::create(mnist_engine(), {.max_contexts = 2});
    ASSERT_TRUE(pool.is_ok());
    auto l = (*pool)->acquire();
    ASSERT_TRUE(l.is_ok());
    lease = std::move(*l);
  }
  ASSERT_TRUE(static_cast<bool>(lease));
  ASSERT_TRUE(run_mnist(*lease, 2, 9, &got).is_ok());
  EXPECT_EQ(got, want);
  lease.release();
}

TEST(ContextPool, ProfileAndStrategyOfNewContexts) {
  auto pool = ContextPool::create(
      two_profile_engine(),
      {.max_contexts = 2, .allocation = AllocationStrategy::kOnProfileChange, .profile = 1});
  ASSERT_TRUE(pool.is_ok());
  auto lease = (*pool)->acquire();
  ASSERT_TRUE(lease.is_ok());
  EXPECT_EQ((*lease)->optimization_profile(), 1);
  EXPECT_EQ((*lease)->allocation_strategy(), AllocationStrategy::kOnProfileChange);
  EXPECT_EQ((*lease)->activation_memory_size(), two_profile_engine().device_memory_size(1));
}

TEST(ContextPool, BadOptions) {
  auto zero = ContextPool::create(mnist_engine(), {.max_contexts = 0});
  ASSERT_FALSE(zero.is_ok());
  EXPECT_EQ(zero.status().code(), StatusCode::kInvalidArgument);
  auto profile = ContextPool::create(mnist_engine(), {.max_contexts = 1, .profile = 3});
  ASSERT_FALSE(profile.is_ok());
  EXPECT_EQ(profile.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(profile.status().message().find("profile 3"), std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::context_pool_test
