// Precision constraints through the fusion passes (pass.h): Identity barriers keep layers of
// different precisions apart while the fusions run, and fused layers get the precision of their
// constrained parts afterwards.
#include "passes/pass.h"

#include <optional>

namespace kiln::passes {

namespace {

// float32 holds float16 and bfloat16 values; neither of those holds the other.
DataType widest(DataType a, DataType b) {
  return a == b ? a : DataType::kFloat32;
}

bool float_data(const ir::Graph& g, int v) {
  return v >= 0 && is_floating(g.value(v).dtype) && !g.value(v).shape_value;
}

bool live_producer(const ir::Graph& g, int v) {
  const int p = g.value(v).producer;
  return p >= 0 && !g.node(p).removed;
}

}  // namespace

bool has_precision_constraints(const ir::Graph& g) {
  for (int id = 0; id < g.num_nodes(); ++id) {
    if (!g.node(id).removed && g.node(id).precision) return true;
  }
  for (int v = 0; v < g.num_values(); ++v) {
    if (g.value(v).output_type && live_producer(g, v)) return true;
  }
  return false;
}

PrecisionBarriers record_precision_constraints(const ir::Graph& g) {
  PrecisionBarriers b;
  for (int id = 0; id < g.num_nodes(); ++id) {
    const ir::Node& n = g.node(id);
    if (n.removed || !n.precision) continue;
    auto [it, fresh] = b.layers.emplace(n.name, *n.precision);
    if (!fresh) it->second = widest(it->second, *n.precision);  // two layers of one name
  }
  for (int v = 0; v < g.num_values(); ++v) {
    if (g.value(v).output_type && live_producer(g, v)) {
      b.tensors[g.value(v).name] = *g.value(v).output_type;
    }
  }
  return b;
}

Status insert_precision_barriers(ir::Graph& g, DataType default_precision,
                                 PrecisionBarriers* barriers) {
  auto effective = [&](int node) { return g.node(node).precision.value_or(default_precision); };
  const int num_nodes = g.num_nodes();  // not the barriers added below
  for (int c = 0; c < num_nodes; ++c) {
    if (g.node(c).removed) continue;
    for (size_t i = 0; i < g.node(c).inputs.size(); ++i) {
      const int v = g.node(c).inputs[i];
      if (!float_data(g, v) || !live_producer(g, v)) continue;
      const int p = g.value(v).producer;
      const bool typed = g.value(v).output_type.has_value();
      const bool differ =
          (g.node(p).precision || g.node(c).precision) && effective(p) != effective(c);
      if (!typed && !differ) continue;
      const int id = g.add_node("Identity", g.value(v).name + ".precision_barrier", {v}, 1);
      KILN_RETURN_IF_ERROR(g.infer_node(id));
      g.node(c).inputs[i] = g.node(id).outputs[0];
      barriers->nodes.push_back(id);
    }
  }
  return Status::ok();
}

void remove_precision_barriers(ir::Graph& g, const PrecisionBarriers& barriers,
                               const PassOptions& options) {
  auto warn = [&](const std::string& m) {
    if (options.logger) options.logger->log(Severity::kWarning, m);
  };
  for (int id : barriers.nodes) {
    ir::Node& n = g.node(id);
    if (n.removed) continue;  // its reader went, so did it
    n.removed = true;
    g.replace_uses(n.outputs[0], n.inputs[0]);
  }
  for (int id = 0; id < g.num_nodes(); ++id) {
    ir::Node& n = g.node(id);
    if (n.removed || n.fused.empty()) continue;
    std::optional<DataType> merged = n.precision;
    bool mixed = false;
    auto add = [&](const std::string& name) {
      auto it = barriers.layers.find(name);
      if (it == barriers.layers.end()) return;
      mixed |= merged && *merged != it->second;
      merged = merged ? widest(*merged, it->second) : it->second;
    };
    add(n.name);
    for (const std::string& part : n.fused) add(part);
    if (!merged) continue;
    if (mixed) {
      warn(g.describe_node(id) +
           ": fuses layers with different precision constraints (through "
           "unconstrained layers between them); it runs in " +
           std::string(dtype_name(*merged)));
    }
    n.precision = merged;
  }
  for (const auto& [name, type] : barriers.tensors) {
    const int v = g.find_value(name);
    if (v >= 0 && (live_producer(g, v) || g.value(v).is_output)) continue;
    warn("tensor '" + name + "': output type " + std::string(dtype_name(type)) +
         " dropped: batch-norm folding or a fusion removed the tensor");
  }
}

}  // namespace kiln::passes
