// Autotuning of one node for one profile: enumerate the candidates (tuner/candidates.h), take
// their measurements from the timing cache or time them (tuner/timing.h) as the optimization
// level asks, let the tactic selector keep some, choose the fastest kept one, report it.
#pragma once

#include <kiln/builder.h>
#include <kiln/logger.h>
#include <kiln/tactic_selector.h>
#include <kiln/timing_cache.h>

#include "ops/op.h"
#include "tuner/timing.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln {
class Device;
class ThreadPool;
}  // namespace kiln

namespace kiln::tuner {

struct TuneResult {
  std::string tactic_id;
  size_t workspace = 0;                     // bytes over the profile's range
  std::vector<TacticCandidate> candidates;  // in heuristic order
  int chosen = 0;                           // index into candidates
  bool cache_hit = false;                   // nothing had to be created or timed
};

class Autotuner {
 public:
  Autotuner(const BuildConfig& config, Logger& logger, Device* device, ThreadPool* threads);

  // Checks the configured timing cache against the device (error on a mismatch unless the
  // config ignores mismatches); without one, the build uses a private cache.
  Status init();
  Result<TuneResult> tune(const ops::KernelInfo& info, int profile);

  int cache_hits() const { return hits_; }
  int cache_misses() const { return misses_; }
  int timed() const { return timed_; }
  const TimingCache& cache() const { return *cache_; }

 private:
  const BuildConfig& config_;
  Logger& logger_;
  Device* device_;
  KernelTimer timer_;
  std::shared_ptr<TimingCache> cache_;
  int hits_ = 0, misses_ = 0, timed_ = 0;
};

// The selector's view of a node.
LayerContext layer_context(const ops::KernelInfo& info, int profile);

}  // namespace kiln::tuner
