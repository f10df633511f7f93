// Internal entry point of the build pipeline (used by Builder and by tests).
#pragma once

#include <kiln/builder.h>

#include "ir/graph.h"
#include "plan/engine_desc.h"
#include "tuner/autotuner.h"

#include <functional>

namespace kiln::builder {

struct BuildCallbacks {
  // Called after each layer of each profile is tuned.
  std::function<void(int profile, const ir::Node& node, const tuner::TuneResult& result)> on_layer;
};

// Input shapes (one per graph input) at a corner of a profile: 0 = min, 1 = opt, 2 = max.
// Static inputs keep their shape.
std::vector<Dims> profile_corner_dims(const ir::Graph& graph, const OptimizationProfile& profile,
                                      int corner);
// Concrete shapes of one node from all value shapes.
ops::NodeShapes node_shapes(const ir::Node& node, const std::vector<Dims>& value_shapes);
// A node whose outputs are all shape tensors evaluated on the host (no kernel).
bool is_host_node(const ir::Graph& graph, const ir::Node& node);

Result<plan::EngineDesc> build_engine_desc(ir::Graph graph, const BuildConfig& config,
                                           Logger& logger, const BuildCallbacks& callbacks);

}  // namespace kiln::builder
