// Autotuning of one node: enumerate the tactics of the enabled sources that support it, time
// each on real buffers at the profile's opt shapes, keep the fastest.
#pragma once

#include <kiln/builder.h>
#include <kiln/logger.h>

#include "ops/op.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kiln {
class Device;
class ThreadPool;
}

namespace kiln::builder {

struct Candidate {
  std::string tactic_id;
  TacticSource source;
  double median_ms = 0.0;  // 0 when not timed (optimization level 0)
  size_t workspace = 0;    // bytes at the profile's max shapes
};

struct TuneResult {
  std::string tactic_id;
  size_t workspace = 0;  // bytes needed over the profile's range
  std::vector<Candidate> candidates;  // every candidate that ran
};

class Autotuner {
 public:
  Autotuner(const BuildConfig& config, Logger& logger, Device* device, ThreadPool* threads)
      : config_(config), logger_(logger), device_(device), threads_(threads) {}

  Result<TuneResult> tune(const ops::KernelInfo& info);

  int cache_hits() const { return hits_; }
  int timed() const { return timed_; }

 private:
  Result<double> time_kernel(const ops::KernelInfo& info, const ops::Kernel& kernel,
                             std::vector<HostTensor>* outputs);
  const BuildConfig& config_;
  Logger& logger_;
  Device* device_;
  ThreadPool* threads_;
  // Identical layers (same signature) share one tuning result within a build.
  std::map<std::string, TuneResult> memo_;
  int hits_ = 0, timed_ = 0;
};

// A key that identifies what a tactic's speed depends on: op, attributes, dtypes, shapes at
// min/opt/max and which inputs are constant.
std::string node_signature(const ops::KernelInfo& info);

}  // namespace kiln::builder
