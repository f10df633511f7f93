// Engine inspector: the engine as JSON (layers, tactics per profile, shapes, memory).
#include <kiln/builder.h>
#include <kiln/runtime.h>
#include <kiln/version.h>

#include "runtime/engine_state.h"

#include <nlohmann/json.hpp>

namespace kiln {

std::string Engine::inspect_json() const {
  using nlohmann::ordered_json;
  const auto& es = *state_;
  const auto& g = es.graph();
  auto names = g.symbol_names();
  auto tensor_json = [&](int v) {
    const auto& val = g.value(v);
    ordered_json t;
    t["name"] = val.name;
    t["dtype"] = std::string(dtype_name(val.dtype));
    t["shape"] = ir::shape_to_string(val.shape, names);
    if (val.constant) t["constant"] = true;
    if (val.output_type) t["output_type_constraint"] = std::string(dtype_name(*val.output_type));
    return t;
  };
  ordered_json j;
  j["kiln_version"] = version_string();
  j["backend"] = std::string(backend_name(es.desc.backend));
  j["device"] = es.desc.device.name;
  j["version_compatible"] = es.desc.version_compatible;
  j["refittable"] = es.desc.refittable;
  j["weights_bytes"] = es.weights_bytes;
  j["tactic_sources_enabled"] = tactic_sources_to_string(tactic_sources_enabled());
  j["tactic_sources_used"] = tactic_sources_to_string(tactic_sources_used());
  const auto has = [&](BuilderFlag f) {
    return (es.desc.builder_flags & static_cast<uint32_t>(f)) != 0;
  };
  j["precision_constraints"] = has(BuilderFlag::kObeyPrecisionConstraints)     ? "obey"
                               : has(BuilderFlag::kPreferPrecisionConstraints) ? "prefer"
                                                                               : "none";
  ordered_json io = ordered_json::array();
  for (size_t i = 0; i < es.io_values.size(); ++i) {
    auto t = tensor_json(es.io_values[i]);
    t["mode"] = es.is_input_index(static_cast<int>(i)) ? "input" : "output";
    io.push_back(t);
  }
  j["io_tensors"] = io;
  ordered_json layers = ordered_json::array();
  for (int id : es.topo) {
    const auto& n = g.node(id);
    ordered_json l;
    l["name"] = n.name;
    l["op"] = n.op;
    if (!n.fused.empty()) l["fused"] = n.fused;
    if (n.precision) l["precision_constraint"] = std::string(dtype_name(*n.precision));
    ordered_json attrs = ordered_json::object();
    for (const auto& kv : n.attrs.map()) {
      const std::string& k = kv.first;  // not a structured binding: clang 14 cannot capture one
      std::visit([&](const auto& x) { attrs[k] = x; }, kv.second);
    }
    l["attributes"] = attrs;
    ordered_json ins = ordered_json::array(), outs = ordered_json::array();
    for (int in : n.inputs) {
      if (in >= 0) ins.push_back(tensor_json(in));
    }
    for (int out : n.outputs) outs.push_back(tensor_json(out));
    l["inputs"] = ins;
    l["outputs"] = outs;
    ordered_json tactics = ordered_json::array();
    for (const auto& pd : es.desc.profiles) {
      tactics.push_back(pd.tactics[id].empty() ? "host (shape tensor)" : pd.tactics[id]);
    }
    l["tactic_per_profile"] = tactics;
    layers.push_back(l);
  }
  j["layers"] = layers;
  ordered_json profiles = ordered_json::array();
  for (size_t p = 0; p < es.desc.profiles.size(); ++p) {
    const auto& pd = es.desc.profiles[p];
    ordered_json pj;
    pj["index"] = p;
    ordered_json ranges = ordered_json::object();
    for (const auto& r : pd.ranges) {
      ranges[g.value(r.value).name] = {{"min", r.min.to_string()},
                                       {"opt", r.opt.to_string()},
                                       {"max", r.max.to_string()}};
    }
    pj["input_ranges"] = ranges;
    pj["activation_bytes"] = pd.workspace_offset;
    pj["workspace_bytes"] = pd.workspace_size;
    pj["context_memory_bytes"] = pd.arena_size;
    profiles.push_back(pj);
  }
  j["profiles"] = profiles;
  return j.dump(2);
}

}  // namespace kiln
