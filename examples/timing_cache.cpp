// Timing cache: a cold build fills the cache, a warm rebuild times nothing and produces the same
// plan, the cache survives a save/load round trip, and an entry can be pinned to a tactic.
// Self-checking: exits non-zero on any failure.
//
//   timing_cache [--backend cpu|cuda] [--cache FILE]
#include <kiln/kiln.h>
#include <kiln/timing_cache.h>

#include "demo_model.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

using namespace kiln;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++failures;
}

struct Build {
  std::vector<uint8_t> plan;
  BuildProgress last;
  double ms = 0;
};

Result<Build> build(Backend backend, std::shared_ptr<TimingCache> cache) {
  Builder builder;
  auto net = builder.create_network();
  demo::build_mnist(*net);
  BuildConfig config;
  config.backend = backend;
  config.add_profile(demo::mnist_profile(1, 4, 8));
  config.timing_cache = std::move(cache);
  Build b;
  config.progress = [&](const BuildProgress& p) { b.last = p; };
  auto t0 = std::chrono::steady_clock::now();
  KILN_ASSIGN_OR_RETURN(b.plan, builder.build_serialized_network(*net, config));
  b.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  Backend backend = Backend::kCpu;
  std::string path = "timing_cache_example.cache";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--backend") == 0) {
      backend = std::strcmp(argv[i + 1], "cuda") == 0 ? Backend::kCuda : Backend::kCpu;
    } else if (std::strcmp(argv[i], "--cache") == 0) {
      path = argv[i + 1];
    }
  }

  // 1. Cold build: every layer is timed and its measurements go into the cache.
  auto cache = TimingCache::create();
  auto cold = build(backend, cache);
  if (!cold.is_ok()) {
    std::printf("FAIL cold build: %s\n", cold.status().to_string().c_str());
    return 1;
  }
  std::printf("cold build: %.1f ms, %d layers tuned, %zu cache entries\n", cold->ms,
              cold->last.cache_misses, cache->size());
  check(cold->last.cache_misses > 0 && cache->size() > 0, "the cold build filled the cache");

  // 2. Save, load (as a later process would), rebuild: nothing is timed, the plan is the same.
  if (Status s = cache->save(path); !s.is_ok()) {
    std::printf("FAIL save: %s\n", s.to_string().c_str());
    return 1;
  }
  auto loaded = TimingCache::load(path);
  check(loaded.is_ok(), "the saved cache loads");
  if (!loaded.is_ok()) return 1;
  auto warm = build(backend, *loaded);
  check(warm.is_ok(), "warm build");
  if (!warm.is_ok()) return 1;
  std::printf("warm build: %.1f ms (%.1fx faster), %d layers from the cache\n", warm->ms,
              cold->ms / warm->ms, warm->last.cache_hits);
  check(warm->last.cache_misses == 0, "the warm build timed nothing");
  check(warm->plan == cold->plan, "the warm build's plan is byte-identical");

  // 3. Edit: pin every entry to its slowest timed tactic, and the rebuild follows the pins.
  TimingCache& c = **loaded;
  int pinned = 0;
  for (TimingCacheKey key : c.query_keys()) {
    auto v = c.query(key);
    const TacticTiming* slowest = nullptr;
    int timed = 0;
    for (const auto& t : v->tactics) {
      if (!t.timed()) continue;
      ++timed;
      if (slowest == nullptr || t.time_ms > slowest->time_ms) slowest = &t;
    }
    if (timed >= 2) {
      if (c.pin(key, slowest->tactic_id).is_ok()) ++pinned;
    }
  }
  auto edited = build(backend, *loaded);
  check(edited.is_ok(), "build with pinned entries");
  if (!edited.is_ok()) return 1;
  check(pinned == 0 || edited->plan != cold->plan, "pinning the slowest tactics changes the plan");
  Runtime runtime;
  auto engine = runtime.deserialize(edited->plan);
  check(engine.is_ok(), "the pinned plan loads");
  std::remove(path.c_str());
  std::remove((path + ".lock").c_str());
  std::printf("%s\n", failures == 0 ? "timing_cache example: all checks passed"
                                    : "timing_cache example: FAILED");
  return failures == 0 ? 0 : 1;
}
