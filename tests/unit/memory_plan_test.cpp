#include "builder/memory_plan.h"

#include <gtest/gtest.h>

#include <random>

namespace kiln::builder::memory_plan_test {
namespace {

TEST(MemoryPlan, ChainReusesMemory) {
  // a -> b -> c -> d: a and c can share, b and d can share.
  std::vector<TensorLifetime> t = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 4}};
  MemoryPlan p = plan_memory(t);
  EXPECT_TRUE(plan_is_valid(t, p));
  EXPECT_EQ(p.total, 2 * 1024);  // two 256-aligned slots of 1024
}

TEST(MemoryPlan, AllLiveNeedsSum) {
  std::vector<TensorLifetime> t = {{100, 0, 5}, {300, 0, 5}, {512, 0, 5}};
  MemoryPlan p = plan_memory(t);
  EXPECT_TRUE(plan_is_valid(t, p));
  EXPECT_EQ(p.total, 256 + 512 + 512);
  for (int64_t off : p.offsets) EXPECT_EQ(off % kArenaAlignment, 0);
}

TEST(MemoryPlan, RandomLifetimesAreValidAndBounded) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    int n = 1 + static_cast<int>(rng() % 40);
    std::vector<TensorLifetime> t;
    int64_t sum = 0;
    for (int i = 0; i < n; ++i) {
      int first = static_cast<int>(rng() % 30);
      int last = first + static_cast<int>(rng() % 8);
      int64_t size = static_cast<int64_t>(rng() % 5000);
      t.push_back({size, first, last});
      sum += (std::max<int64_t>(size, 1) + 255) / 256 * 256;
    }
    MemoryPlan p = plan_memory(t);
    ASSERT_TRUE(plan_is_valid(t, p)) << "trial " << trial;
    EXPECT_LE(p.total, sum);
    // Deterministic.
    EXPECT_EQ(plan_memory(t).offsets, p.offsets);
  }
}

TEST(MemoryPlan, ValidatorCatchesOverlap) {
  std::vector<TensorLifetime> t = {{512, 0, 2}, {512, 1, 3}};
  MemoryPlan bad{{0, 256}, 768};
  EXPECT_FALSE(plan_is_valid(t, bad));
  MemoryPlan good{{0, 512}, 1024};
  EXPECT_TRUE(plan_is_valid(t, good));
}

}  // namespace
}  // namespace kiln::builder::memory_plan_test
