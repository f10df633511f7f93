// Per-layer precision constraints in the build (docs/builder.md, "Per-layer precision"): the
// builder flags, and the check that every constrained layer has a tactic in its precision.
#pragma once

#include <kiln/builder.h>

#include "ir/graph.h"
#include "passes/pass.h"

#include <vector>

namespace kiln::builder {

// Before the passes. Both constraint flags set: error. Neither: removes the constraints from the
// graph (a warning says how many layers and tensors had one) and returns false. Otherwise sets
// options->obey_precision_constraints and returns whether the graph has any constraint.
Result<bool> prepare_precision_constraints(ir::Graph& graph, const BuildConfig& config,
                                           passes::PassOptions* options, Logger& logger);

// After the passes: every constrained layer needs an enabled tactic in its precision at the
// min, opt and max shapes of every profile. A layer without one: under obey, an error naming the
// layer, the precision and the op, and why no tactic applies; under prefer, a warning, and the
// passes run again from `unoptimized` without the constraints of that layer and of the layers
// fused into it (into `graph`).
Status enforce_precision_constraints(const ir::Graph& unoptimized, ir::Graph& graph,
                                     const BuildConfig& config, const passes::PassOptions& options,
                                     const std::vector<OptimizationProfile>& profiles,
                                     Logger& logger);

}  // namespace kiln::builder
