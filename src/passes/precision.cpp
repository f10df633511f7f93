// Precision assignment. Unconstrained layers: with BuilderFlag::kFp16 / kBf16, eligible float32
// layers run in float16 or bfloat16. Constrained layers (Layer::set_precision, applied under
// kObey/kPreferPrecisionConstraints) run in their precision; tensors with an output type
// (Layer::set_output_type) get that type. Every tensor keeps one representation per type that
// some layer reads: the value its producer computes, and Casts made once from it where a reader
// wants another type (constants are converted once instead). So chains of converted layers
// exchange reduced tensors directly, a float32 layer inside a float16 network costs one Cast in
// and one out, and Shape nodes read whatever representation exists. Back-to-back T -> float32 ->
// T casts (exact round trips) are removed. Network inputs and outputs keep their types unless an
// output type sets a network output's. Kernels accumulate in float32.
#include "backends/cpu/half_convert.h"
#include "backends/cpu/thread_pool.h"
#include "passes/pass.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace kiln::passes {

namespace {

// Ops whose float inputs are all data that may be computed in reduced precision.
const std::set<std::string, std::less<>>& eligible_ops() {
  static const std::set<std::string, std::less<>> ops = {
      "Activation",   "BatchNorm",       "Concat",       "Conv",      "ConvTranspose",
      "ElementWise",  "Expand",          "Gather",       "GroupNorm", "Identity",
      "InstanceNorm", "LayerNorm",       "MatMul",       "Pad",       "Pooling",
      "Reduce",       "Reshape",         "Select",       "Slice",     "Softmax",
      "Split",        "Squeeze",         "Tile",         "Transpose", "Unary",
      "Unsqueeze",    "DepthToSpace",    "SpaceToDepth", "Einsum",    "Resize",
      "Attention",    "FusedElementwise"};
  return ops;
}

// Inputs that carry parameters rather than data (kept float32).
bool parameter_input(const ir::Node& n, size_t i) {
  if (n.op == "Resize") return i == 1 || i == 2;  // roi, scales
  if (n.op == "Pad") return i == 2;               // constant value
  return false;
}

bool converts(const ir::Graph& g, const ir::Node& n) {
  if (!eligible_ops().count(n.op)) return false;
  bool any_float = false;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    int in = n.inputs[i];
    if (in < 0 || parameter_input(n, i)) continue;
    DataType t = g.value(in).dtype;
    if (t == DataType::kFloat16 || t == DataType::kBFloat16) return false;  // already reduced
    any_float |= t == DataType::kFloat32;
  }
  for (int out : n.outputs) {
    if (g.value(out).dtype == DataType::kFloat32) any_float = true;
    if (g.value(out).shape_value) return false;  // shape tensors stay on the host
  }
  return any_float;
}

// Weights are most of a model's bytes (BERT-base: 110M floats): one typed pass, no zero fill,
// large tensors in chunks on the pool's threads (elementwise: the same bits however split).
HostTensor convert_constant(const HostTensor& c, DataType to, ThreadPool* threads) {
  HostTensor t = HostTensor::uninitialized(to, c.shape());
  const int64_t n = c.numel();
  constexpr int64_t kChunk = int64_t{1} << 16;  // elements per task
  if (c.dtype() == DataType::kFloat32 && to == DataType::kFloat16) {
    const float* in = c.as<const float>();
    Half* out = t.as<Half>();
    parallel_for(threads, n, kChunk,
                 [&](int64_t b, int64_t e) { from_float(in + b, out + b, e - b); });
  } else if (c.dtype() == DataType::kFloat32 && to == DataType::kBFloat16) {
    const float* in = c.as<const float>();
    BFloat16* out = t.as<BFloat16>();
    parallel_for(threads, n, kChunk,
                 [&](int64_t b, int64_t e) { from_float(in + b, out + b, e - b); });
  } else {
    for (int64_t i = 0; i < n; ++i) store_from_double(t.data(), to, i, c.get_double(i));
  }
  return t;
}

ir::Attrs cast_to(DataType t) {
  ir::Attrs a;
  a.set("to", std::string(dtype_name(t)));
  return a;
}

// A floating-point tensor that kernels compute (not a host shape tensor).
bool float_data(const ir::Graph& g, int v) {
  return v >= 0 && is_floating(g.value(v).dtype) && !g.value(v).shape_value;
}

// Whether a constraint has anything to act on: a floating-point data input or output.
bool has_float_data(const ir::Graph& g, const ir::Node& n) {
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (float_data(g, n.inputs[i]) && !parameter_input(n, i)) return true;
  }
  return std::any_of(n.outputs.begin(), n.outputs.end(), [&](int v) { return float_data(g, v); });
}

// Whether the node's floating-point data is already all of type t.
bool already_in(const ir::Graph& g, const ir::Node& n, DataType t) {
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (float_data(g, n.inputs[i]) && !parameter_input(n, i) && g.value(n.inputs[i]).dtype != t) {
      return false;
    }
  }
  return std::all_of(n.outputs.begin(), n.outputs.end(),
                     [&](int v) { return !float_data(g, v) || g.value(v).dtype == t; });
}

bool eligible_for_constraint(const ir::Graph& g, const ir::Node& n) {
  if (!eligible_ops().count(n.op)) return false;
  return std::none_of(n.outputs.begin(), n.outputs.end(),
                      [&](int v) { return g.value(v).shape_value.has_value(); });
}

int count_casts(const ir::Graph& g) {
  int n = 0;
  for (int i = 0; i < g.num_nodes(); ++i) n += !g.node(i).removed && g.node(i).op == "Cast";
  return n;
}

// The representations of one tensor: the value each type is read from, and the value that new
// casts read (what the producer computed, or the typed tensor when an output type is set).
struct Reps {
  int source = -1;
  std::map<DataType, int> by_type;
};

}  // namespace

Result<PrecisionStats> assign_precision(ir::Graph& g, DataType default_precision,
                                        const PassOptions& options) {
  if (default_precision != DataType::kFloat32 && default_precision != DataType::kFloat16 &&
      default_precision != DataType::kBFloat16) {
    return invalid_argument("the default precision must be float32, float16 or bfloat16");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, g.topo_order());
  PrecisionStats stats;
  const int casts_before = count_casts(g);

  // 1. The type each node computes in (none: as it is).
  std::vector<std::optional<DataType>> compute(g.num_nodes());
  for (int id : order) {
    ir::Node& n = g.node(id);
    if (n.precision) {
      const DataType c = *n.precision;
      if (!has_float_data(g, n)) {
        if (options.logger) {
          options.logger->log(Severity::kVerbose, g.describe_node(id) + ": precision " +
                                                      std::string(dtype_name(c)) +
                                                      " not applicable (no floating-point data)");
        }
        n.precision.reset();
        continue;
      }
      if (eligible_for_constraint(g, n)) {
        compute[id] = c;
        ++stats.constrained;
        continue;
      }
      if (already_in(g, n, c)) {
        ++stats.constrained;
        continue;
      }
      Status s =
          unsupported("precision constraint " + std::string(dtype_name(c)) +
                      " cannot be met: kiln runs " + n.op + " only in the types of its inputs")
              .with_context(g.describe_node(id));
      if (options.obey_precision_constraints) return s;
      if (options.logger) {
        options.logger->log(Severity::kWarning,
                            s.to_string() + "; the layer runs unconstrained (prefer)");
      }
      n.precision.reset();
    }
    if (default_precision != DataType::kFloat32 && converts(g, n)) compute[id] = default_precision;
  }

  // 2. Rewrite, producers before their readers.
  std::vector<DataType> original(g.num_values());
  for (int v = 0; v < g.num_values(); ++v) original[v] = g.value(v).dtype;
  std::map<int, Reps> reps;  // original value id -> its representations
  auto reps_of = [&](int v) -> Reps& {
    auto [it, fresh] = reps.try_emplace(v);
    if (fresh) {
      it->second.source = v;
      it->second.by_type[g.value(v).dtype] = v;
    }
    return it->second;
  };
  auto read_as = [&](int v, DataType want) -> Result<int> {
    Reps& r = reps_of(v);
    if (auto it = r.by_type.find(want); it != r.by_type.end()) return it->second;
    const std::string type_name(dtype_name(want));
    int twin;
    if (g.value(v).constant) {
      twin = g.add_constant(g.value(v).name + "." + type_name,
                            convert_constant(*g.value(v).constant, want, options.threads));
    } else {
      const int cast =
          g.add_node("Cast", g.value(v).name + ".to_" + type_name, {r.source}, 1, cast_to(want));
      KILN_RETURN_IF_ERROR(g.infer_node(cast));
      twin = g.node(cast).outputs[0];
    }
    r.by_type[want] = twin;
    return twin;
  };

  for (int id : order) {
    const std::optional<DataType> p = compute[id];
    const bool is_shape = g.node(id).op == "Shape";
    bool changed = false;
    for (size_t i = 0; i < g.node(id).inputs.size(); ++i) {
      const int in = g.node(id).inputs[i];
      if (in < 0) continue;
      int use = in;
      if (is_shape) {
        use = reps_of(in).source;  // reads only dims: no cast just to be measured
      } else {
        DataType want = original[in];
        if (p && float_data(g, in) && !parameter_input(g.node(id), i)) want = *p;
        KILN_ASSIGN_OR_RETURN(use, read_as(in, want));
      }
      changed |= use != in;
      g.node(id).inputs[i] = use;
    }
    for (size_t o = 0; o < g.node(id).outputs.size(); ++o) {
      const int out = g.node(id).outputs[o];
      if (!float_data(g, out)) continue;
      const std::optional<DataType> typed = g.value(out).output_type;
      const DataType produced = p ? *p : g.value(out).dtype;
      const DataType final_type = typed ? *typed : g.value(out).dtype;
      Reps r;
      if (produced == final_type) {
        changed |= g.value(out).dtype != final_type;
        g.value(out).dtype = final_type;
        r.source = out;
        r.by_type[final_type] = out;
      } else {
        // The node writes a twin in its type; a Cast makes the tensor everyone else knows.
        const int twin = g.add_value(g.value(out).name + "." + std::string(dtype_name(produced)),
                                     produced, g.value(out).shape);
        g.node(id).outputs[o] = twin;
        g.value(twin).producer = id;
        const int cast =
            g.add_node("Cast", g.value(out).name + ".to_" + std::string(dtype_name(final_type)),
                       {twin}, 0, cast_to(final_type));
        g.node(cast).outputs.push_back(out);
        g.value(out).producer = cast;
        g.value(out).dtype = final_type;
        r.by_type[final_type] = out;
        if (typed) {
          r.source = out;  // readers see the tensor in its set type
        } else {
          r.source = twin;
          r.by_type[produced] = twin;
        }
        changed = true;
      }
      reps[out] = std::move(r);
    }
    // FusedElementwise states its output dtype.
    if (p && g.node(id).op == "FusedElementwise") {
      g.node(id).attrs.set("dtype", std::string(dtype_name(*p)));
    }
    if (changed || p) KILN_RETURN_IF_ERROR(g.infer_node(id));
    stats.converted += changed;
  }
  // Remove exact round trips T -> float32 -> T (T float16 or bfloat16): readers of the second
  // cast read the original T value (an output type can leave such a pair behind).
  for (int id = 0; id < g.num_nodes(); ++id) {
    ir::Node& n = g.node(id);
    if (n.removed || n.op != "Cast") continue;
    const std::string to = n.attrs.get_string("to");
    if (to != "float16" && to != "bfloat16") continue;
    const int mid = n.inputs[0];
    const int p = g.value(mid).producer;
    if (p < 0 || g.node(p).removed || g.node(p).op != "Cast" ||
        g.node(p).attrs.get_string("to") != "float32") {
      continue;
    }
    const int orig = g.node(p).inputs[0];
    if (dtype_name(g.value(orig).dtype) != to || g.value(n.outputs[0]).is_output) continue;
    g.replace_uses(n.outputs[0], orig);
    g.node(id).removed = true;
  }
  remove_dead_code(g);
  g.compact();
  KILN_RETURN_IF_ERROR(g.infer_shapes());
  stats.casts = count_casts(g) - casts_before;
  return stats;
}

Result<int> reduce_precision(ir::Graph& g, DataType target) {
  if (target != DataType::kFloat16 && target != DataType::kBFloat16) {
    return invalid_argument("reduced precision must be float16 or bfloat16");
  }
  KILN_ASSIGN_OR_RETURN(PrecisionStats stats, assign_precision(g, target, {}));
  return stats.converted;
}

}  // namespace kiln::passes
