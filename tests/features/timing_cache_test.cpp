// Timing cache: round trip, warm rebuilds, combine, edits (pin/delete), device mismatch,
// corruption sweep, concurrent builders and savers, deterministic builds.
#include <kiln/kiln.h>
#include <kiln/timing_cache.h>

#include "builder/build.h"
#include "demo_model.h"
#include "network/network_state.h"
#include "plan/format.h"
#include "tuner/signature.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

namespace kiln::timing_cache_test {
namespace {

namespace fs = std::filesystem;

class CapturingLogger final : public Logger {
 public:
  void log(Severity s, std::string_view m) override {
    std::lock_guard<std::mutex> lock(mu);
    if (s <= Severity::kWarning) warnings.emplace_back(m);
  }
  std::mutex mu;
  std::vector<std::string> warnings;
};

struct BuildOutcome {
  Result<std::vector<uint8_t>> plan = internal_error("not built");
  BuildProgress last;                              // the final progress report
  std::map<std::string, tuner::TuneResult> tuned;  // "<profile>:<layer>" -> result
};

BuildConfig demo_config(std::shared_ptr<TimingCache> cache, int profiles = 1) {
  BuildConfig config;
  config.add_profile(demo::mnist_profile(1, 2, 4));
  if (profiles > 1) config.add_profile(demo::mnist_profile(3, 4, 6));
  config.tuning_iterations = 2;
  config.optimization_level = 1;  // times 2 candidates per layer: quick, still a choice
  config.cpu_threads = 1;
  config.timing_cache = std::move(cache);
  return config;
}

BuildOutcome build(BuildConfig config, Logger& logger = default_logger(), uint32_t seed = 31193) {
  BuildOutcome out;
  Builder builder(logger);
  auto net = builder.create_network();
  demo::build_mnist(*net, seed);
  config.progress = [&](const BuildProgress& p) { out.last = p; };
  builder::BuildCallbacks cb;
  cb.on_layer = [&](int profile, const ir::Node& n, const tuner::TuneResult& r) {
    out.tuned[std::to_string(profile) + ":" + n.name] = r;
  };
  auto desc = builder::build_engine_desc(net->state().graph, config, logger, cb);
  if (!desc.is_ok()) {
    out.plan = desc.status();
    return out;
  }
  out.plan = plan::write_plan(*desc);
  return out;
}

// The key of the entry whose signature starts with `op`.
std::optional<TimingCacheKey> key_of_op(const TimingCache& cache, const std::string& op) {
  for (TimingCacheKey k : cache.query_keys()) {
    if (cache.query(k)->signature.rfind(op + "|", 0) == 0) return k;
  }
  return std::nullopt;
}

TEST(TimingCache, RoundTripKeepsEveryMeasuredCandidate) {
  auto cache = TimingCache::create();
  auto b = build(demo_config(cache));
  ASSERT_TRUE(b.plan.is_ok()) << b.plan.status().to_string();
  ASSERT_GT(cache->size(), 3u);
  ASSERT_TRUE(cache->descriptor().has_value());
  EXPECT_EQ(cache->descriptor()->backend, Backend::kCpu);
  // Every entry's key is the hash of its signature, and the conv entry holds several timed
  // candidates, not only the winner.
  for (TimingCacheKey k : cache->query_keys()) {
    EXPECT_EQ(tuner::signature_key(cache->query(k)->signature), k);
  }
  auto conv = key_of_op(*cache, "Conv");
  ASSERT_TRUE(conv);
  int timed = 0;
  const TimingCacheValue conv_entry = *cache->query(*conv);
  for (const auto& t : conv_entry.tactics) timed += t.timed();
  EXPECT_GE(timed, 2);

  auto bytes = cache->serialize();
  ASSERT_TRUE(bytes.is_ok());
  auto back = TimingCache::deserialize(*bytes);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ((*back)->descriptor(), cache->descriptor());
  ASSERT_EQ((*back)->query_keys(), cache->query_keys());
  for (TimingCacheKey k : cache->query_keys()) EXPECT_EQ((*back)->query(k), cache->query(k));
  auto again = (*back)->serialize();
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(*again, *bytes);  // deterministic encoding

  // An empty cache without a descriptor round-trips too.
  auto empty = TimingCache::create()->serialize();
  ASSERT_TRUE(empty.is_ok());
  auto empty_back = TimingCache::deserialize(*empty);
  ASSERT_TRUE(empty_back.is_ok()) << empty_back.status().to_string();
  EXPECT_EQ((*empty_back)->size(), 0u);
  EXPECT_FALSE((*empty_back)->descriptor().has_value());
}

TEST(TimingCache, WarmBuildTimesNothingAndGivesTheSamePlan) {
  auto cache = TimingCache::create();
  auto cold = build(demo_config(cache));
  ASSERT_TRUE(cold.plan.is_ok()) << cold.plan.status().to_string();
  EXPECT_GT(cold.last.cache_misses, 0);
  EXPECT_EQ(cold.last.layers_done, cold.last.layers_total);
  const size_t entries = cache->size();

  auto warm = build(demo_config(cache));
  ASSERT_TRUE(warm.plan.is_ok()) << warm.plan.status().to_string();
  EXPECT_EQ(warm.last.cache_misses, 0);
  EXPECT_EQ(warm.last.cache_hits, warm.last.layers_total);
  EXPECT_EQ(cache->size(), entries);
  EXPECT_EQ(*warm.plan, *cold.plan);
  for (const auto& [layer, r] : warm.tuned) EXPECT_TRUE(r.cache_hit) << layer;
}

// Collects a streamed plan; counts the writes.
class VectorWriter : public StreamWriter {
 public:
  Status write(const void* data, size_t size) override {
    ++calls;
    const auto* p = static_cast<const uint8_t*>(data);
    bytes.insert(bytes.end(), p, p + size);
    return Status::ok();
  }
  std::vector<uint8_t> bytes;
  int calls = 0;
};

// build_serialized_network_to_stream gives build_serialized_network's bytes (a warm cache makes
// both builds choose the same tactics), the runtime loads them, and a failing build writes
// nothing.
TEST(TimingCache, StreamedBuildGivesTheSamePlan) {
  auto cache = TimingCache::create();
  ASSERT_TRUE(build(demo_config(cache)).plan.is_ok());
  Builder builder;
  auto net = builder.create_network();
  demo::build_mnist(*net, 31193);
  auto plan = builder.build_serialized_network(*net, demo_config(cache));
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  VectorWriter w;
  auto size = builder.build_serialized_network_to_stream(*net, demo_config(cache), w);
  ASSERT_TRUE(size.is_ok()) << size.status().to_string();
  EXPECT_EQ(*size, plan->size());
  EXPECT_EQ(w.bytes, *plan);
  EXPECT_GE(w.calls, 2);  // the header and metadata, then the weights one by one
  Runtime runtime;
  auto engine = runtime.deserialize(w.bytes);
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();

  BuildConfig bad = demo_config(cache);
  OptimizationProfile p;
  p.set_shape("no_such_input", Dims{1}, Dims{1}, Dims{1});
  bad.profiles = {p};
  VectorWriter none;
  auto failed = builder.build_serialized_network_to_stream(*net, bad, none);
  ASSERT_FALSE(failed.is_ok());
  EXPECT_NE(failed.status().to_string().find("no_such_input"), std::string::npos)
      << failed.status().to_string();
  EXPECT_EQ(none.calls, 0);
}

TEST(TimingCache, IdenticalLayersShareOneEntry) {
  // Two profiles with the same ranges: every layer of profile 1 is identical to its twin of
  // profile 0, so the second profile is served from the entries of the first.
  auto cache = TimingCache::create();
  BuildConfig config = demo_config(cache);
  config.add_profile(demo::mnist_profile(1, 2, 4));
  auto b = build(config);
  ASSERT_TRUE(b.plan.is_ok()) << b.plan.status().to_string();
  EXPECT_EQ(b.last.cache_hits, b.last.layers_total / 2);
  EXPECT_EQ(cache->size(), static_cast<size_t>(b.last.layers_total / 2));
}

TEST(TimingCache, DeterministicWithDynamicShapesAndSeveralProfiles) {
  auto cache = TimingCache::create();
  auto first = build(demo_config(cache, 2));
  ASSERT_TRUE(first.plan.is_ok()) << first.plan.status().to_string();
  // A cache that covers the network: byte-identical plans, whatever the timing noise.
  auto a = build(demo_config(cache, 2));
  auto b = build(demo_config(cache, 2));
  ASSERT_TRUE(a.plan.is_ok() && b.plan.is_ok());
  EXPECT_EQ(*a.plan, *b.plan);
  EXPECT_EQ(*a.plan, *first.plan);
  EXPECT_EQ(a.last.cache_misses, 0);
  // The same through a cache file: a fresh process would load it.
  auto bytes = cache->serialize();
  ASSERT_TRUE(bytes.is_ok());
  auto loaded = TimingCache::deserialize(*bytes);
  ASSERT_TRUE(loaded.is_ok());
  auto c = build(demo_config(*loaded, 2));
  ASSERT_TRUE(c.plan.is_ok());
  EXPECT_EQ(*c.plan, *a.plan);
}

TEST(TimingCache, HigherLevelAddsToAnEntryWithoutRetiming) {
  auto cache = TimingCache::create();
  BuildConfig low = demo_config(cache);
  low.optimization_level = 1;  // times 2 candidates per layer
  ASSERT_TRUE(build(low).plan.is_ok());
  auto conv = key_of_op(*cache, "Conv");
  ASSERT_TRUE(conv);
  auto before = *cache->query(*conv);
  BuildConfig high = demo_config(cache);
  high.optimization_level = 5;  // times every candidate
  auto b = build(high);
  ASSERT_TRUE(b.plan.is_ok());
  auto after = *cache->query(*conv);
  int timed_before = 0, timed_after = 0;
  for (const auto& t : before.tactics) timed_before += t.timed();
  for (const auto& t : after.tactics) timed_after += t.timed();
  EXPECT_GT(timed_after, timed_before);
  // Measurements already in the cache were kept, not re-measured.
  for (const auto& t : before.tactics) {
    if (!t.timed()) continue;
    auto it = std::find_if(after.tactics.begin(), after.tactics.end(),
                           [&](const TacticTiming& x) { return x.tactic_id == t.tactic_id; });
    ASSERT_NE(it, after.tactics.end());
    EXPECT_EQ(it->time_ms, t.time_ms) << t.tactic_id;
  }
}

TimingCacheValue value(std::vector<TacticTiming> tactics, std::string pin = "") {
  TimingCacheValue v;
  v.signature = "test";
  v.tactics = std::move(tactics);
  v.pinned_tactic = std::move(pin);
  return v;
}

TEST(TimingCache, CombineFollowsTheDocumentedRule) {
  TimingCacheDescriptor d;
  d.device_name = "cpu: test";
  auto a = TimingCache::create();
  auto b = TimingCache::create();
  a->set_descriptor(d);
  b->set_descriptor(d);
  ASSERT_TRUE(a->update(1, value({{"X/cpu-blas/a", 1.0, 0}, {"X/cpu-opt/b", -1.0, 64}})).is_ok());
  ASSERT_TRUE(b->update(1, value({{"X/cpu-blas/a", 5.0, 0},
                                  {"X/cpu-opt/b", 2.0, 64},
                                  {"X/cpu-ref/reference", 9.0, 0}},
                                 "X/cpu-ref/reference"))
                  .is_ok());
  ASSERT_TRUE(b->update(2, value({{"Y/cpu-ref/reference", 3.0, 0}})).is_ok());
  ASSERT_TRUE(a->combine(*b).is_ok());
  EXPECT_EQ(a->query_keys(), (std::vector<TimingCacheKey>{1, 2}));
  auto v = *a->query(1);
  ASSERT_EQ(v.tactics.size(), 3u);
  EXPECT_EQ(v.tactics[0].time_ms, 1.0);  // both timed: this cache's measurement stays
  EXPECT_EQ(v.tactics[1].time_ms, 2.0);  // untimed here: the other's timing replaces it
  EXPECT_EQ(v.tactics[2].tactic_id, "X/cpu-ref/reference");  // only in other: added
  EXPECT_EQ(v.pinned_tactic, "X/cpu-ref/reference");         // no pin here: the other's is taken
  // This cache's pin wins over the other's.
  ASSERT_TRUE(a->pin(1, "X/cpu-blas/a").is_ok());
  ASSERT_TRUE(a->combine(*b).is_ok());
  EXPECT_EQ(a->query(1)->pinned_tactic, "X/cpu-blas/a");

  // Other devices are not combined, unless told to ignore (then nothing changes).
  auto foreign = TimingCache::create();
  TimingCacheDescriptor other = d;
  other.kiln_version = d.kiln_version + 1;
  foreign->set_descriptor(other);
  ASSERT_TRUE(foreign->update(7, value({{"Z/cpu-ref/reference", 1.0, 0}})).is_ok());
  Status s = a->combine(*foreign);
  EXPECT_EQ(s.code(), StatusCode::kVersionMismatch);
  EXPECT_NE(s.message().find("kiln version"), std::string::npos) << s.to_string();
  EXPECT_TRUE(a->combine(*foreign, /*ignore_mismatch=*/true).is_ok());
  EXPECT_FALSE(a->query(7).has_value());
  // An empty cache takes the other's descriptor.
  auto fresh = TimingCache::create();
  ASSERT_TRUE(fresh->combine(*foreign).is_ok());
  EXPECT_EQ(fresh->descriptor(), other);
  EXPECT_TRUE(fresh->query(7).has_value());
  // reset empties it.
  fresh->reset();
  EXPECT_EQ(fresh->size(), 0u);
  EXPECT_FALSE(fresh->descriptor().has_value());
}

TEST(TimingCache, UpdateValidatesEdits) {
  auto c = TimingCache::create();
  EXPECT_EQ(c->update(1, value({{"", 1.0, 0}})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c->update(1, value({{"a", 1.0, 0}, {"a", 2.0, 0}})).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(c->update(1, value({{"a", -3.0, 0}})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c->update(1, value({{"a", std::nan(""), 0}})).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(c->update(1, value({{"b", 1.0, 0}, {"a", 2.0, 0}})).is_ok());
  EXPECT_EQ(c->query(1)->tactics[0].tactic_id, "a");  // sorted
  EXPECT_EQ(c->pin(2, "a").code(), StatusCode::kNotFound);
  ASSERT_TRUE(c->update(1, std::nullopt).is_ok());
  EXPECT_FALSE(c->query(1).has_value());
  TimingCacheKey k = 0;
  EXPECT_TRUE(timing_cache_key_from_string(timing_cache_key_to_string(0x0123456789abcdefULL), &k));
  EXPECT_EQ(k, 0x0123456789abcdefULL);
  EXPECT_FALSE(timing_cache_key_from_string("xyz", &k));
  EXPECT_FALSE(timing_cache_key_from_string("", &k));
}

TEST(TimingCache, PinnedTacticIsUsedAndDeletedEntryIsRetimed) {
  auto cache = TimingCache::create();
  auto cold = build(demo_config(cache));
  ASSERT_TRUE(cold.plan.is_ok());
  auto conv = key_of_op(*cache, "Conv");
  ASSERT_TRUE(conv);
  const std::string chosen = cold.tuned.at("0:stage1.conv").tactic_id;
  // Pin the reference kernel (never the fastest) for the first conv's key.
  const std::string ref = "Conv/cpu-ref/reference";
  ASSERT_NE(chosen, ref);
  // The key of stage1.conv: stage2.conv has another signature.
  TimingCacheKey stage1 = 0;
  for (TimingCacheKey k : cache->query_keys()) {
    const std::string sig = cache->query(k)->signature;
    if (sig.rfind("Conv|", 0) == 0 && sig.find("[32,1,5,5]") != std::string::npos) stage1 = k;
  }
  ASSERT_NE(stage1, 0u);
  ASSERT_TRUE(cache->pin(stage1, ref).is_ok());
  auto pinned = build(demo_config(cache));
  ASSERT_TRUE(pinned.plan.is_ok());
  EXPECT_EQ(pinned.tuned.at("0:stage1.conv").tactic_id, ref);
  EXPECT_EQ(pinned.tuned.at("0:stage1.conv").candidates.size(), 1u);
  // The pinned tactic was not timed (beyond level 1's two): now it is, once.
  EXPECT_EQ(pinned.last.cache_misses, 1);
  EXPECT_TRUE(pinned.tuned.at("0:stage1.conv").candidates[0].timed());
  EXPECT_EQ(build(demo_config(cache)).last.cache_misses, 0);
  // A pinned tactic of a disabled source is ignored with a warning.
  const std::string direct = "Conv/cpu-opt/direct";
  ASSERT_TRUE(cache->pin(stage1, direct).is_ok());
  CapturingLogger logger;
  BuildConfig no_opt = demo_config(cache);
  no_opt.tactic_sources = kAllTacticSources & ~static_cast<uint32_t>(TacticSource::kCpuOptimized);
  auto ignored = build(no_opt, logger);
  ASSERT_TRUE(ignored.plan.is_ok()) << ignored.plan.status().to_string();
  EXPECT_NE(ignored.tuned.at("0:stage1.conv").tactic_id, direct);
  EXPECT_GT(ignored.tuned.at("0:stage1.conv").candidates.size(), 1u);
  bool warned = false;
  for (const auto& w : logger.warnings) warned |= w.find("pins tactic") != std::string::npos;
  EXPECT_TRUE(warned);
  // Deleting the entry: the next build times the layer again.
  ASSERT_TRUE(cache->update(stage1, std::nullopt).is_ok());
  auto retimed = build(demo_config(cache));
  ASSERT_TRUE(retimed.plan.is_ok());
  EXPECT_FALSE(retimed.tuned.at("0:stage1.conv").cache_hit);
  EXPECT_EQ(retimed.last.cache_misses, 1);
  EXPECT_TRUE(cache->query(stage1).has_value());
}

// Builds trust the cache's records instead of asking the tactics again: a tactic the cache
// marks as unsupported is not offered, and a warm build creates no kernel.
TEST(TimingCache, BuildsTrustTheRecordsOfTheCache) {
  auto cache = TimingCache::create();
  auto cold = build(demo_config(cache));
  ASSERT_TRUE(cold.plan.is_ok());
  const std::string chosen = cold.tuned.at("0:stage1.conv").tactic_id;
  TimingCacheKey stage1 = 0;
  for (TimingCacheKey k : cache->query_keys()) {
    const std::string sig = cache->query(k)->signature;
    if (sig.rfind("Conv|", 0) == 0 && sig.find("[32,1,5,5]") != std::string::npos) stage1 = k;
  }
  ASSERT_NE(stage1, 0u);
  TimingCacheValue v = *cache->query(stage1);
  // Every tactic of the op was recorded: supported ones with rank (and time or workspace),
  // unsupported ones (gemm_1x1 and depthwise do not implement a 5x5 conv) as such.
  ASSERT_EQ(v.tactics.size(), 5u);
  int unsupported = 0;
  for (auto& t : v.tactics) {
    unsupported += !t.supported;
    if (t.tactic_id == chosen) t.supported = false;
  }
  EXPECT_EQ(unsupported, 2);
  ASSERT_TRUE(cache->update(stage1, v).is_ok());
  auto warm = build(demo_config(cache));
  ASSERT_TRUE(warm.plan.is_ok());
  // Only stage1.conv did work: with one of its two timed candidates gone, level 1 times the
  // next one in heuristic order.
  EXPECT_EQ(warm.last.cache_misses, 1);
  for (const auto& [layer, t] : warm.tuned)
    EXPECT_EQ(t.cache_hit, layer != "0:stage1.conv") << layer;
  const auto& r = warm.tuned.at("0:stage1.conv");
  EXPECT_NE(r.tactic_id, chosen);
  for (const auto& c : r.candidates) EXPECT_NE(c.id, chosen);
}

TEST(TimingCache, MismatchedDeviceIsAnErrorUnlessIgnored) {
  auto cache = TimingCache::create();
  ASSERT_TRUE(build(demo_config(cache)).plan.is_ok());
  TimingCacheDescriptor d = *cache->descriptor();
  d.device_name = "cpu: some other processor";
  d.kiln_version += 1;
  cache->set_descriptor(d);
  const size_t entries = cache->size();
  auto bad = build(demo_config(cache));
  ASSERT_FALSE(bad.plan.is_ok());
  EXPECT_EQ(bad.plan.status().code(), StatusCode::kVersionMismatch);
  const std::string msg = bad.plan.status().to_string();
  EXPECT_NE(msg.find("timing cache"), std::string::npos) << msg;
  EXPECT_NE(msg.find("some other processor"), std::string::npos) << msg;
  EXPECT_NE(msg.find("kiln version"), std::string::npos) << msg;

  CapturingLogger logger;
  BuildConfig ignore = demo_config(cache);
  ignore.ignore_timing_cache_mismatch = true;
  auto ok = build(ignore, logger);
  ASSERT_TRUE(ok.plan.is_ok()) << ok.plan.status().to_string();
  EXPECT_GT(ok.last.cache_misses, 0);  // nothing came from the mismatched cache
  EXPECT_EQ(cache->size(), entries);   // and nothing went into it
  EXPECT_EQ(cache->descriptor(), d);
  ASSERT_FALSE(logger.warnings.empty());
  EXPECT_NE(logger.warnings[0].find("timing cache not used"), std::string::npos);

  // TF32 is part of the descriptor on CUDA only; on the CPU, builds with and without it share.
  auto cpu_cache = TimingCache::create();
  ASSERT_TRUE(build(demo_config(cpu_cache)).plan.is_ok());
  BuildConfig no_tf32 = demo_config(cpu_cache);
  no_tf32.clear_flag(BuilderFlag::kTf32);
  EXPECT_TRUE(build(no_tf32).plan.is_ok());
}

// Every truncation and every single-byte change of a cache file is rejected with a clear
// Status; with the checksums recomputed (so that the FlatBuffers verifier and the field checks
// see the damage), every change is either rejected or decodes into a valid cache.
TEST(TimingCache, CorruptionSweep) {
  auto cache = TimingCache::create();
  ASSERT_TRUE(build(demo_config(cache)).plan.is_ok());
  ASSERT_TRUE(cache->pin(cache->query_keys()[0], "Some/cpu-ref/reference").is_ok());
  auto bytes_r = cache->serialize();
  ASSERT_TRUE(bytes_r.is_ok());
  const std::vector<uint8_t> bytes = *bytes_r;
  ASSERT_TRUE(TimingCache::deserialize(bytes).is_ok());
  auto expect_rejected = [](const Result<std::shared_ptr<TimingCache>>& r,
                            const std::string& what) {
    ASSERT_FALSE(r.is_ok()) << what;
    EXPECT_TRUE(r.status().code() == StatusCode::kCorruptData ||
                r.status().code() == StatusCode::kVersionMismatch)
        << what << ": " << r.status().to_string();
    EXPECT_NE(r.status().message().find("timing cache"), std::string::npos)
        << r.status().to_string();
  };
  for (size_t n = 0; n < bytes.size(); ++n) {
    expect_rejected(TimingCache::deserialize(std::span(bytes.data(), n)),
                    "truncated to " + std::to_string(n));
  }
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  expect_rejected(TimingCache::deserialize(longer), "one byte appended");
  int decoded = 0, rejected = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::vector<uint8_t> c = bytes;
    c[i] ^= 0x5a;
    expect_rejected(TimingCache::deserialize(c), "byte " + std::to_string(i) + " changed");
    if (i < 40) continue;  // header: covered above
    // Recompute both checksums: the damage reaches the payload decoder.
    plan::format::put_u64(c.data() + 24, XXH64(c.data() + 40, c.size() - 40, 0));
    plan::format::put_u64(c.data() + 32, XXH64(c.data(), 32, 0));
    auto r = TimingCache::deserialize(c);
    if (r.is_ok()) {
      ++decoded;
      // Whatever decoded is a valid cache: it serializes and reads back equal.
      auto again = (*r)->serialize();
      ASSERT_TRUE(again.is_ok());
      auto back = TimingCache::deserialize(*again);
      ASSERT_TRUE(back.is_ok()) << "byte " << i;
      EXPECT_EQ((*back)->query_keys(), (*r)->query_keys());
    } else {
      ++rejected;
      EXPECT_EQ(r.status().code(), StatusCode::kCorruptData) << r.status().to_string();
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(decoded, 0);  // e.g. a changed time or workspace is still a valid cache
  // Foreign data.
  expect_rejected(TimingCache::deserialize(std::vector<uint8_t>{}), "empty");
  std::vector<uint8_t> plan_like = {'K', 'I', 'L', 'N', 'P', 'L', 'A', 'N', 0, 0, 0, 0};
  expect_rejected(TimingCache::deserialize(plan_like), "a plan's magic");
  // A newer format version (header checksum fixed up) is a version mismatch.
  std::vector<uint8_t> newer = bytes;
  plan::format::put_u32(newer.data() + 8, 99);
  plan::format::put_u64(newer.data() + 32, XXH64(newer.data(), 32, 0));
  auto nr = TimingCache::deserialize(newer);
  ASSERT_FALSE(nr.is_ok());
  EXPECT_EQ(nr.status().code(), StatusCode::kVersionMismatch);
}

// Cache files of format v1 checked in (also the fuzzer's seeds) keep loading.
TEST(TimingCache, GoldenFilesOfFormatV1Load) {
  const std::string dir = std::string(KILN_TEST_DATA_DIR) + "/timing_cache/";
  auto demo = TimingCache::load(dir + "demo_cpu_v1.cache");
  ASSERT_TRUE(demo.is_ok()) << demo.status().to_string();
  EXPECT_EQ((*demo)->size(), 9u);
  ASSERT_TRUE((*demo)->descriptor().has_value());
  EXPECT_EQ((*demo)->descriptor()->backend, Backend::kCpu);
  EXPECT_EQ((*demo)->descriptor()->kiln_version, 100u);
  auto pinned = TimingCache::load(dir + "demo_cpu_pinned_v1.cache");
  ASSERT_TRUE(pinned.is_ok()) << pinned.status().to_string();
  EXPECT_EQ((*pinned)->size(), 8u);
  TimingCacheKey key = 0;
  ASSERT_TRUE(timing_cache_key_from_string("ed295559f4db3eef", &key));
  ASSERT_TRUE((*pinned)->query(key).has_value());
  EXPECT_EQ((*pinned)->query(key)->pinned_tactic, "Conv/cpu-opt/direct");
  auto empty = TimingCache::load(dir + "empty_v1.cache");
  ASSERT_TRUE(empty.is_ok()) << empty.status().to_string();
  EXPECT_EQ((*empty)->size(), 0u);
  EXPECT_FALSE((*empty)->descriptor().has_value());
}

std::string temp_path(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("kiln_tc_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

TEST(TimingCache, FilesAreWrittenAtomicallyAndCorruptFilesRejected) {
  const std::string path = temp_path("atomic.cache");
  fs::remove(path);
  auto missing = TimingCache::load(path);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
  auto created = TimingCache::load_or_create(path);
  ASSERT_TRUE(created.is_ok());
  EXPECT_EQ((*created)->size(), 0u);

  auto cache = TimingCache::create();
  ASSERT_TRUE(build(demo_config(cache)).plan.is_ok());
  ASSERT_TRUE(cache->save(path).is_ok());
  auto loaded = TimingCache::load(path);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ((*loaded)->query_keys(), cache->query_keys());
  // No temporary file is left behind.
  for (const auto& e : fs::directory_iterator(fs::path(path).parent_path())) {
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  }
  // A truncated file names the file and the problem.
  {
    auto bytes = *cache->serialize();
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size() / 2));
  }
  auto truncated = TimingCache::load(path);
  ASSERT_FALSE(truncated.is_ok());
  EXPECT_EQ(truncated.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(truncated.status().to_string().find(path), std::string::npos);
  EXPECT_NE(truncated.status().to_string().find("truncated"), std::string::npos);
  // Saving with kMerge over a corrupt file replaces it.
  ASSERT_TRUE(cache->save(path, TimingCache::SaveMode::kMerge).is_ok());
  EXPECT_TRUE(TimingCache::load(path).is_ok());
  // kReplace drops what the file had; kMerge keeps it.
  auto one = TimingCache::create();
  one->set_descriptor(cache->descriptor());
  ASSERT_TRUE(one->update(42, value({{"a", 1.0, 0}})).is_ok());
  ASSERT_TRUE(one->save(path, TimingCache::SaveMode::kMerge).is_ok());
  EXPECT_EQ((*TimingCache::load(path))->size(), cache->size() + 1);
  ASSERT_TRUE(one->save(path).is_ok());
  EXPECT_EQ((*TimingCache::load(path))->size(), 1u);
  fs::remove_all(fs::path(path).parent_path());
}

TEST(TimingCache, ConcurrentBuildersShareOneCache) {
  auto cache = TimingCache::create();
  constexpr int kThreads = 4;
  std::vector<BuildOutcome> outcomes(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Two networks (different weights do not change signatures) and two profile sets.
      outcomes[t] = build(demo_config(cache, 1 + t % 2), default_logger(), 100 + t);
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& o : outcomes) ASSERT_TRUE(o.plan.is_ok()) << o.plan.status().to_string();
  // Every layer of every build is now covered: rebuilding any of them times nothing.
  for (int t = 0; t < 2; ++t) {
    auto warm = build(demo_config(cache, 1 + t));
    ASSERT_TRUE(warm.plan.is_ok());
    EXPECT_EQ(warm.last.cache_misses, 0) << t;
  }
  auto bytes = cache->serialize();
  ASSERT_TRUE(bytes.is_ok());
  EXPECT_TRUE(TimingCache::deserialize(*bytes).is_ok());
}

TEST(TimingCache, ConcurrentSaversToOneFileKeepEveryEntry) {
  const std::string path = temp_path("shared.cache");
  fs::remove(path);
  TimingCacheDescriptor d;
  d.device_name = "cpu: test";
  constexpr int kWriters = 6, kRounds = 5;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int r = 0; r < kRounds; ++r) {
        auto c = TimingCache::create();
        c->set_descriptor(d);
        if (!c->update(static_cast<TimingCacheKey>(w * 100 + r + 1), value({{"t", 1.0, 0}}))
                 .is_ok() ||
            !c->save(path, TimingCache::SaveMode::kMerge).is_ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto loaded = TimingCache::load(path);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ((*loaded)->size(), static_cast<size_t>(kWriters * kRounds));
  fs::remove_all(fs::path(path).parent_path());
}

}  // namespace
}  // namespace kiln::timing_cache_test
