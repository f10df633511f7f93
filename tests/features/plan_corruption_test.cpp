// Corruption sweep over a real plan (the demo model, built by the builder): truncations at every
// section boundary and at random points, random byte flips, patched magic/version/offsets. Every
// case must give an error Status through Runtime::deserialize — never a crash (the test script
// runs this suite under ASan/UBSan too).
#include <kiln/kiln.h>

#include "demo_model.h"
#include "plan/format.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace kiln::plan_corruption_test {
namespace {

namespace fmt = plan::format;

const std::vector<uint8_t>& demo_plan() {
  static const std::vector<uint8_t> plan = [] {
    Builder builder;
    auto net = builder.create_network();
    demo::build_mnist(*net);
    BuildConfig config;
    config.add_profile(demo::mnist_profile(1, 2, 4));
    config.optimization_level = 0;
    auto p = builder.build_serialized_network(*net, config);
    EXPECT_TRUE(p.is_ok()) << p.status().to_string();
    return p.is_ok() ? *p : std::vector<uint8_t>{};
  }();
  return plan;
}

Status load(const std::vector<uint8_t>& bytes) {
  Runtime runtime;
  auto engine = runtime.deserialize(bytes);
  return engine.is_ok() ? Status::ok() : engine.status();
}

// Section boundaries from the (valid) header.
std::set<size_t> boundaries(const std::vector<uint8_t>& p) {
  std::set<size_t> cuts = {0, 1, 7, 8, 12, 16, 20, 24, 28, 32};
  uint32_t sections = fmt::get_u32(p.data() + 24);
  cuts.insert(fmt::header_size(sections));
  for (uint32_t i = 0; i < sections; ++i) {
    const uint8_t* e = p.data() + fmt::kFixedHeaderSize + i * fmt::kSectionEntrySize;
    uint64_t off = fmt::get_u64(e + 8), size = fmt::get_u64(e + 16);
    for (uint64_t c : {off, off + size}) {
      for (int64_t d = -1; d <= 1; ++d) {
        if (static_cast<int64_t>(c) + d > 0 && c + d < p.size()) cuts.insert(c + d);
      }
    }
  }
  return cuts;
}

TEST(PlanCorruption, ValidPlanLoads) {
  ASSERT_FALSE(demo_plan().empty());
  EXPECT_TRUE(load(demo_plan()).is_ok());
}

TEST(PlanCorruption, TruncationAtBoundariesAndRandomPoints) {
  const auto& p = demo_plan();
  ASSERT_FALSE(p.empty());
  std::set<size_t> cuts = boundaries(p);
  std::mt19937 rng(11);
  for (int i = 0; i < 60; ++i) cuts.insert(rng() % p.size());
  for (size_t cut : cuts) {
    std::vector<uint8_t> t(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(cut));
    Status s = load(t);
    ASSERT_FALSE(s.is_ok()) << "truncated at " << cut << " of " << p.size() << " loaded";
    EXPECT_FALSE(s.message().empty());
  }
}

TEST(PlanCorruption, RandomByteFlips) {
  const auto& p = demo_plan();
  ASSERT_FALSE(p.empty());
  std::mt19937 rng(12);
  for (int i = 0; i < 150; ++i) {
    std::vector<uint8_t> t = p;
    size_t at = i < 50 ? rng() % std::min<size_t>(p.size(), 4096) : rng() % p.size();
    t[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
    Status s = load(t);
    ASSERT_FALSE(s.is_ok()) << "flip at byte " << at << " was not detected";
  }
}

TEST(PlanCorruption, PatchedMagicVersionAndOffsets) {
  const auto& p = demo_plan();
  ASSERT_FALSE(p.empty());
  {
    auto t = p;
    t[0] = 'X';
    Status s = load(t);
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("magic"), std::string::npos) << s.to_string();
  }
  {
    auto t = p;
    fmt::put_u32(t.data() + 8, 99);  // format version from the future
    Status s = load(t);
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), StatusCode::kVersionMismatch);
    EXPECT_NE(s.message().find("v99"), std::string::npos) << s.to_string();
  }
  uint32_t sections = fmt::get_u32(p.data() + 24);
  for (uint32_t i = 0; i < sections; ++i) {
    size_t entry = fmt::kFixedHeaderSize + i * fmt::kSectionEntrySize;
    for (uint64_t bad : {uint64_t{0}, uint64_t{p.size()}, ~uint64_t{0}, uint64_t{1} << 62}) {
      for (size_t field : {size_t{8}, size_t{16}}) {  // offset, size
        auto t = p;
        fmt::put_u64(t.data() + entry + field, bad);
        EXPECT_FALSE(load(t).is_ok()) << "section " << i << " field " << field << " = " << bad;
      }
    }
  }
  EXPECT_FALSE(load({}).is_ok());
  EXPECT_FALSE(load(std::vector<uint8_t>(p.size(), 0)).is_ok());
}

}  // namespace
}  // namespace kiln::plan_corruption_test
