// Auxiliary-stream schedules: chains stay on one stream, branches spread, every cross-stream
// input is ordered by an event, and memory plans made from the extended lifetimes never let
// two tensors that may be live at the same time share bytes.
#include "runtime/stream_schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace kiln::detail::stream_schedule_test {
namespace {

TEST(StreamSchedule, ChainStaysOnOneStream) {
  std::vector<std::vector<int>> deps = {{}, {0}, {1}, {2}, {3}};
  auto s = schedule_streams(deps, 4);
  EXPECT_EQ(s.num_streams, 1);
  EXPECT_EQ(s.num_events, 0);
  EXPECT_TRUE(s.join.empty());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.stream[i], 0);
  EXPECT_TRUE(s.happens_before(0, 4));
}

TEST(StreamSchedule, DiamondUsesTwoStreams) {
  // 0 -> 1 -> 3, 0 -> 2 -> 3
  std::vector<std::vector<int>> deps = {{}, {0}, {0}, {1, 2}};
  auto s = schedule_streams(deps, 4);
  EXPECT_EQ(s.num_streams, 2);
  EXPECT_EQ(s.stream[0], 0);
  EXPECT_EQ(s.stream[1], 0);
  EXPECT_EQ(s.stream[2], 1);
  EXPECT_EQ(s.stream[3], 0);
  ASSERT_EQ(s.waits[2].size(), 1u);  // step 2 waits for step 0 (other stream)
  EXPECT_EQ(s.waits[2][0], s.signal[0]);
  ASSERT_EQ(s.waits[3].size(), 1u);  // step 3 waits for step 2
  EXPECT_EQ(s.waits[3][0], s.signal[2]);
  EXPECT_FALSE(s.happens_before(1, 2));
  EXPECT_FALSE(s.happens_before(2, 1));
  EXPECT_TRUE(s.happens_before(2, 3));
  EXPECT_TRUE(s.happens_before(0, 2));
  ASSERT_EQ(s.join.size(), 1u);
}

TEST(StreamSchedule, OneStreamMeansSequential) {
  std::vector<std::vector<int>> deps = {{}, {0}, {0}, {1, 2}};
  auto s = schedule_streams(deps, 1);
  EXPECT_EQ(s.num_streams, 1);
  EXPECT_EQ(s.num_events, 0);
  EXPECT_TRUE(s.happens_before(1, 2));  // same stream: program order
}

TEST(StreamSchedule, ResidualShortcutRunsBesideTheMainPath) {
  // 0 -> 1 -> 2 -> 3 (main path), 0 -> 4 (shortcut conv), {3, 4} -> 5 (add)
  std::vector<std::vector<int>> deps = {{}, {0}, {1}, {2}, {0}, {3, 4}};
  auto s = schedule_streams(deps, 2);
  EXPECT_EQ(s.num_streams, 2);
  EXPECT_NE(s.stream[4], s.stream[3]);
  EXPECT_FALSE(s.happens_before(4, 1));
  EXPECT_TRUE(s.happens_before(4, 5));
  EXPECT_TRUE(s.happens_before(3, 5));
}

// Every dependency is ordered, whatever the graph and the number of streams.
TEST(StreamSchedule, RandomGraphsOrderEveryDependency) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const int n = 2 + static_cast<int>(rng() % 40);
    std::vector<std::vector<int>> deps(n);
    for (int i = 1; i < n; ++i) {
      const int k = static_cast<int>(rng() % 3);
      for (int j = 0; j < k; ++j) {
        int p = static_cast<int>(rng() % i);
        if (std::find(deps[i].begin(), deps[i].end(), p) == deps[i].end()) deps[i].push_back(p);
      }
    }
    const int streams = 1 + static_cast<int>(rng() % 4);
    auto s = schedule_streams(deps, streams);
    ASSERT_LE(s.num_streams, streams);
    for (int i = 0; i < n; ++i) {
      for (int p : deps[i]) EXPECT_TRUE(s.happens_before(p, i)) << "trial " << trial;
      for (int e : s.waits[i]) {
        // The event waited for is recorded by an earlier step.
        bool found = false;
        for (int j = 0; j < i; ++j) found |= s.signal[j] == e;
        EXPECT_TRUE(found) << "trial " << trial;
      }
    }
  }
}

// Memory plans of extended lifetimes: two tensors whose bytes overlap are ordered (every user of
// the earlier one happens before the producer of the later one).
TEST(StreamSchedule, ExtendedLifetimesMakeSharingSafe) {
  std::mt19937 rng(5);
  int overlapping_pairs = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const int n = 3 + static_cast<int>(rng() % 30);
    std::vector<std::vector<int>> deps(n);
    for (int i = 1; i < n; ++i) {
      const int k = 1 + static_cast<int>(rng() % 2);
      for (int j = 0; j < k; ++j) {
        int p = static_cast<int>(rng() % i);
        if (std::find(deps[i].begin(), deps[i].end(), p) == deps[i].end()) deps[i].push_back(p);
      }
    }
    auto s = schedule_streams(deps, 1 + static_cast<int>(rng() % 4));
    // One tensor per step (its output), used by the steps that depend on it.
    std::vector<std::vector<int>> users(n);
    std::vector<builder::TensorLifetime> lifetimes(n);
    for (int i = 0; i < n; ++i) {
      users[i].push_back(i);
      lifetimes[i] = {static_cast<int64_t>(256 * (1 + rng() % 8)), i, i};
    }
    for (int i = 0; i < n; ++i) {
      for (int p : deps[i]) {
        users[p].push_back(i);
        lifetimes[p].last_step = std::max(lifetimes[p].last_step, i);
      }
    }
    extend_lifetimes(s, users, lifetimes);
    auto plan = builder::plan_memory(lifetimes);
    for (int a = 0; a < n; ++a) {
      for (int b = 0; b < n; ++b) {
        if (a == b) continue;
        const bool bytes_overlap = plan.offsets[a] < plan.offsets[b] + lifetimes[b].size &&
                                   plan.offsets[b] < plan.offsets[a] + lifetimes[a].size;
        if (!bytes_overlap || a > b) continue;
        ++overlapping_pairs;
        // a's bytes are reused by b (b produced later): all of a's users come first, or the
        // other way round.
        auto ordered = [&](int first, int second) {
          for (int u : users[first]) {
            if (!s.happens_before(u, second)) return false;
          }
          return true;
        };
        EXPECT_TRUE(ordered(a, b) || ordered(b, a))
            << "trial " << trial << " tensors " << a << ", " << b;
      }
    }
  }
  EXPECT_GT(overlapping_pairs, 100);  // the property was exercised
}

}  // namespace
}  // namespace kiln::detail::stream_schedule_test
