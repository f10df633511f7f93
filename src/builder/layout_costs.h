// The layout pass's cost model on a real device: the autotuner's best time of each candidate
// node at the opt shapes of every optimization profile (summed over profiles). At optimization
// level 0 (no timing) and for LayoutPolicy::kNhwc it uses a fixed model instead (see
// layout_costs.cpp). Tuning results are memoized by the tuner, so the layers the pass settles on
// are not timed twice.
#pragma once

#include <kiln/builder.h>

#include "passes/pass.h"
#include "tuner/autotuner.h"

#include <vector>

namespace kiln::builder {

// Symbol values at a profile's corners.
struct ProfileSymbols {
  std::vector<int64_t> min, opt, max;
};

class TunedLayoutCosts final : public passes::LayoutCostModel {
 public:
  TunedLayoutCosts(const BuildConfig& config, tuner::Autotuner& tuner,
                   std::vector<ProfileSymbols> profiles)
      : config_(config), tuner_(tuner), profiles_(std::move(profiles)) {}
  Result<double> node_time(const ir::Graph& graph, int node) override;

 private:
  const BuildConfig& config_;
  tuner::Autotuner& tuner_;
  std::vector<ProfileSymbols> profiles_;
};

}  // namespace kiln::builder
