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
// Value shapes at the min (0), opt (1) and max (2) corners of a profile, with the opt corner's
// symbol values.
struct ProfileShapes {
  std::vector<Dims> corner[3];
  std::vector<int64_t> opt_symbols;
};
Result<ProfileShapes> profile_shapes(const ir::Graph& graph, const OptimizationProfile& profile);
// What a tactic sees of `node` at a profile's corner shapes under `config`.
ops::KernelInfo kernel_info_at(const ir::Graph& graph, const ir::Node& node,
                               const BuildConfig& config, const std::vector<Dims> (&corner)[3],
                               const std::vector<int64_t>& opt_symbols);
// A node whose outputs are all shape tensors evaluated on the host (no kernel).
bool is_host_node(const ir::Graph& graph, const ir::Node& node);

Result<plan::EngineDesc> build_engine_desc(ir::Graph graph, const BuildConfig& config,
                                           Logger& logger, const BuildCallbacks& callbacks);

}  // namespace kiln::builder
