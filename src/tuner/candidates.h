// Tactic enumeration for one node: the tactics of the backend's table that belong to an enabled
// source and support the node, in heuristic order.
#pragma once

#include <kiln/builder.h>
#include <kiln/timing_cache.h>

#include "ops/op.h"

#include <optional>
#include <string>
#include <vector>

namespace kiln::tuner {

struct RankedTactic {
  const ops::TacticDef* def = nullptr;
  std::string id;    // stable tactic id
  int rank = 0;      // TacticDef::heuristic_rank (or table position); INT_MAX for references
  int position = 0;  // in the op's table
};

// Error (naming the enabled sources and the sources the op has tactics in) when no enabled
// tactic supports the node. The caller adds the layer as context. Tactics that `entry` (the
// node's timing-cache entry) knows are not asked again: their support and rank come from it.
// Tactics found unsupported now are appended to `learned` (for the cache).
Result<std::vector<RankedTactic>> enumerate_tactics(const ops::KernelInfo& info,
                                                    TacticSources sources,
                                                    const std::optional<TimingCacheValue>& entry,
                                                    std::vector<TacticTiming>* learned);
// The entry's record of `id`, or null.
const TacticTiming* find_record(const std::optional<TimingCacheValue>& entry,
                                const std::string& id);

// How many candidates an optimization level times (in heuristic order); -1: all.
int timed_candidates_for_level(int level);

}  // namespace kiln::tuner
