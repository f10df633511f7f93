#include "builder/precision_constraints.h"

#include "builder/build.h"
#include "ir/shape_eval.h"
#include "tuner/candidates.h"

#include <optional>
#include <set>

namespace kiln::builder {

namespace {

struct Unmet {
  int node = -1;
  Status why;
};

// Constrained layers that no enabled tactic implements, with the enumeration's reason.
Result<std::vector<Unmet>> unmet_constraints(const ir::Graph& g, const BuildConfig& config,
                                             const std::vector<OptimizationProfile>& profiles) {
  std::vector<int> constrained;
  for (int id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (n.removed || !n.precision || is_host_node(g, n)) continue;
    // The precision pass leaves a constraint only where the layer computes in it.
    for (int out : n.outputs) {
      const ir::Value& v = g.value(out);
      if (is_floating(v.dtype) && !v.shape_value && v.dtype != *n.precision) {
        return internal_error("output '" + v.name + "' is " + std::string(dtype_name(v.dtype)) +
                              " after the precision pass, the layer's constraint is " +
                              std::string(dtype_name(*n.precision)))
            .with_context(g.describe_node(id));
      }
    }
    constrained.push_back(id);
  }
  std::vector<Unmet> unmet;
  if (constrained.empty()) return unmet;
  std::vector<bool> done(g.num_nodes(), false);
  for (size_t p = 0; p < profiles.size(); ++p) {
    const std::string where = "optimization profile " + std::to_string(p);
    auto ps = profile_shapes(g, profiles[p]);
    if (!ps.is_ok()) return ps.status().with_context(where);
    for (int id : constrained) {
      if (done[id]) continue;
      const ir::Node& n = g.node(id);
      const ops::KernelInfo info = kernel_info_at(g, n, config, ps->corner, ps->opt_symbols);
      std::vector<TacticTiming> learned;
      auto tactics = tuner::enumerate_tactics(info, config.tactic_sources, std::nullopt, &learned);
      if (!tactics.is_ok()) {
        Status why = tactics.status();
        if (profiles.size() > 1) why = std::move(why).with_context(where);
        unmet.push_back({id, std::move(why)});
        done[id] = true;
      }
    }
  }
  return unmet;
}

}  // namespace

Result<bool> prepare_precision_constraints(ir::Graph& graph, const BuildConfig& config,
                                           passes::PassOptions* options, Logger& logger) {
  const bool obey = config.has_flag(BuilderFlag::kObeyPrecisionConstraints);
  const bool prefer = config.has_flag(BuilderFlag::kPreferPrecisionConstraints);
  if (obey && prefer) {
    return invalid_argument(
        "BuilderFlag::kObeyPrecisionConstraints and kPreferPrecisionConstraints are both set; "
        "choose one");
  }
  options->obey_precision_constraints = obey;
  if (obey || prefer) return passes::has_precision_constraints(graph);
  int layers = 0, tensors = 0;
  for (int id = 0; id < graph.num_nodes(); ++id) {
    layers += graph.node(id).precision.has_value();
    graph.node(id).precision.reset();
  }
  for (int v = 0; v < graph.num_values(); ++v) {
    tensors += graph.value(v).output_type.has_value();
    graph.value(v).output_type.reset();
  }
  if (layers + tensors > 0) {
    logger.log(Severity::kWarning,
               std::to_string(layers) + " layer precision(s) and " + std::to_string(tensors) +
                   " output type(s) are set but ignored: set BuilderFlag::"
                   "kObeyPrecisionConstraints or kPreferPrecisionConstraints to apply them");
  }
  return false;
}

Status enforce_precision_constraints(const ir::Graph& unoptimized, ir::Graph& graph,
                                     const BuildConfig& config, const passes::PassOptions& options,
                                     const std::vector<OptimizationProfile>& profiles,
                                     Logger& logger) {
  ir::Graph source = unoptimized;
  std::set<std::string> dropped;
  // Each round drops at least one constraint, so this ends.
  while (true) {
    KILN_ASSIGN_OR_RETURN(std::vector<Unmet> unmet, unmet_constraints(graph, config, profiles));
    if (unmet.empty()) return Status::ok();
    for (const Unmet& u : unmet) {
      const ir::Node& n = graph.node(u.node);
      const std::string type(dtype_name(*n.precision));
      Status s = unsupported("precision constraint " + type + " cannot be met: no enabled " +
                             std::string(backend_name(config.backend)) + " tactic runs " + n.op +
                             " in " + type + " (" + u.why.to_string() + ")")
                     .with_context(graph.describe_node(u.node));
      if (options.obey_precision_constraints) return s;
      logger.log(Severity::kWarning, s.to_string() + "; the layer runs unconstrained (prefer)");
      dropped.insert(n.name);
      dropped.insert(n.fused.begin(), n.fused.end());
    }
    bool any = false;
    for (int id = 0; id < source.num_nodes(); ++id) {
      ir::Node& n = source.node(id);
      if (n.precision && dropped.count(n.name)) {
        n.precision.reset();
        any = true;
      }
    }
    if (!any) {
      return internal_error(
          "a precision constraint that no tactic implements could not be "
          "dropped (prefer)");
    }
    graph = source;
    KILN_RETURN_IF_ERROR(passes::run_passes(graph, options));
    KILN_RETURN_IF_ERROR(graph.validate());
  }
}

}  // namespace kiln::builder
