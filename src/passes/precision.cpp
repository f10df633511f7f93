// Reduced precision (BuilderFlag::kFp16 / kBf16): eligible float32 layers run in float16 or
// bfloat16. Each converted layer is wrapped in casts (float32 -> T on its inputs, T -> float32
// on its outputs, constants converted once), then back-to-back T -> float32 -> T cast pairs are
// removed, so chains of converted layers exchange T tensors directly; Shape nodes read the T
// tensors. Network inputs and outputs keep their float32 type. Kernels accumulate in float32.
#include "backends/cpu/half_convert.h"
#include "passes/pass.h"

#include <algorithm>
#include <map>
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

// Weights are most of a model's bytes (BERT-base: 110M floats): one typed pass, no zero fill.
HostTensor convert_constant(const HostTensor& c, DataType to) {
  HostTensor t = HostTensor::uninitialized(to, c.shape());
  const int64_t n = c.numel();
  if (c.dtype() == DataType::kFloat32 && to == DataType::kFloat16) {
    from_float(c.as<const float>(), t.as<Half>(), n);
  } else if (c.dtype() == DataType::kFloat32 && to == DataType::kBFloat16) {
    from_float(c.as<const float>(), t.as<BFloat16>(), n);
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

}  // namespace

Result<int> reduce_precision(ir::Graph& g, DataType target) {
  if (target != DataType::kFloat16 && target != DataType::kBFloat16) {
    return invalid_argument("reduced precision must be float16 or bfloat16");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, g.topo_order());
  std::map<int, int> reduced_of;  // float32 value -> its reduced twin (cast or constant)
  int converted = 0;
  for (int id : order) {
    if (!converts(g, g.node(id))) continue;
    // Inputs.
    for (size_t i = 0; i < g.node(id).inputs.size(); ++i) {
      int in = g.node(id).inputs[i];
      if (in < 0 || parameter_input(g.node(id), i) || g.value(in).dtype != DataType::kFloat32) {
        continue;
      }
      auto it = reduced_of.find(in);
      if (it == reduced_of.end()) {
        int twin;
        if (g.value(in).constant) {
          twin = g.add_constant(g.value(in).name + "." + std::string(dtype_name(target)),
                                convert_constant(*g.value(in).constant, target));
        } else {
          int cast = g.add_node("Cast", g.value(in).name + ".to_" + std::string(dtype_name(target)),
                                {in}, 1, cast_to(target));
          KILN_RETURN_IF_ERROR(g.infer_node(cast));
          twin = g.node(cast).outputs[0];
        }
        it = reduced_of.emplace(in, twin).first;
      }
      g.node(id).inputs[i] = it->second;
    }
    // Outputs: the node now writes a reduced twin; a cast restores the float32 value for
    // everyone else (and is removed below where the consumer is reduced too).
    for (size_t o = 0; o < g.node(id).outputs.size(); ++o) {
      int out = g.node(id).outputs[o];
      if (g.value(out).dtype != DataType::kFloat32) continue;
      int twin = g.add_value(g.value(out).name + "." + std::string(dtype_name(target)), target,
                             g.value(out).shape);
      g.node(id).outputs[o] = twin;
      g.value(twin).producer = id;
      int cast = g.add_node("Cast", g.value(out).name + ".to_float32", {twin}, 0,
                            cast_to(DataType::kFloat32));
      g.node(cast).outputs.push_back(out);
      g.value(out).producer = cast;
      reduced_of[out] = twin;
    }
    // FusedElementwise states its output dtype.
    if (g.node(id).op == "FusedElementwise") {
      g.node(id).attrs.set("dtype", std::string(dtype_name(target)));
    }
    KILN_RETURN_IF_ERROR(g.infer_node(id));
    ++converted;
  }
  // Remove T -> float32 -> T pairs: users of the second cast read the original T value.
  for (int id = 0; id < g.num_nodes(); ++id) {
    ir::Node& n = g.node(id);
    if (n.removed || n.op != "Cast" || n.attrs.get_string("to") != dtype_name(target)) continue;
    int mid = n.inputs[0];
    int p = g.value(mid).producer;
    if (p < 0 || g.node(p).op != "Cast" || g.node(p).attrs.get_string("to") != "float32") continue;
    int orig = g.node(p).inputs[0];
    if (g.value(orig).dtype != target) continue;
    g.replace_uses(n.outputs[0], orig);
    n.removed = true;
  }
  // Shape reads only dims: it takes the reduced twin, so no cast back to float32 runs just to be
  // measured (PyTorch exports take Shape of every layer's hidden state).
  for (int id = 0; id < g.num_nodes(); ++id) {
    ir::Node& n = g.node(id);
    if (n.removed || n.op != "Shape" || n.inputs.empty() || n.inputs[0] < 0) continue;
    int p = g.value(n.inputs[0]).producer;
    if (p < 0 || g.node(p).removed || g.node(p).op != "Cast" ||
        g.node(p).attrs.get_string("to") != "float32") {
      continue;
    }
    int orig = g.node(p).inputs[0];
    if (g.value(orig).dtype == target) n.inputs[0] = orig;
  }
  remove_dead_code(g);
  g.compact();
  KILN_RETURN_IF_ERROR(g.infer_shapes());
  return converted;
}

}  // namespace kiln::passes
