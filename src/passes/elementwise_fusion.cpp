// Elementwise fusion: maximal groups of float elementwise nodes (ElementWise arithmetic, Unary,
// Activation, Cast to a float type, Select) become one FusedElementwise node whose program
// replays them per output element: one kernel, one read of each outside input, one write.
// A group grows from its last node (the root) towards producers whose outputs are used only
// inside the group and are not network outputs; one-element constants become immediates. The
// pass runs after the other fusions, so it only takes what they left (mask arithmetic, leftover
// activations, decompositions nobody recognized). Groups of one node are left alone.
#include "ops/activation/activation.h"
#include "ops/elementwise/elementwise.h"
#include "ops/fused_elementwise/fused_elementwise.h"
#include "ops/unary/unary.h"
#include "passes/pass.h"
#include "passes/pattern.h"

#include <algorithm>
#include <map>
#include <set>

namespace kiln::passes {

namespace {

bool float_value(const ir::Graph& g, int v) {
  return v >= 0 && is_floating(g.value(v).dtype);
}

// Whether a node can be an instruction of a FusedElementwise program.
bool eligible(const ir::Graph& g, const ir::Node& n) {
  if (n.removed || n.outputs.size() != 1 || !float_value(g, n.outputs[0])) return false;
  if (g.value(n.outputs[0]).shape_value) return false;
  for (int in : n.inputs) {
    if (in < 0) return false;
  }
  if (n.op == "ElementWise") {
    ops::ElementWiseOp op;
    if (!ops::parse_elementwise_op(n.attrs.get_string("op"), &op)) return false;
    const bool arith = op == ops::ElementWiseOp::kSum || op == ops::ElementWiseOp::kSub ||
                       op == ops::ElementWiseOp::kProd || op == ops::ElementWiseOp::kDiv ||
                       op == ops::ElementWiseOp::kMin || op == ops::ElementWiseOp::kMax ||
                       op == ops::ElementWiseOp::kPow;
    return arith && n.inputs.size() == 2 && float_value(g, n.inputs[0]) &&
           float_value(g, n.inputs[1]);
  }
  if (n.op == "Unary") {
    ops::UnaryOp op;
    return n.inputs.size() == 1 && ops::parse_unary_op(n.attrs.get_string("op"), &op) &&
           op != ops::UnaryOp::kNot && float_value(g, n.inputs[0]);
  }
  if (n.op == "Activation") {
    ops::ActivationKind k;
    return n.inputs.size() == 1 && ops::parse_activation(n.attrs.get_string("type"), &k) &&
           float_value(g, n.inputs[0]);
  }
  if (n.op == "Select") {
    return n.inputs.size() == 3 && g.value(n.inputs[0]).dtype == DataType::kBool &&
           float_value(g, n.inputs[1]) && float_value(g, n.inputs[2]);
  }
  if (n.op == "Cast") {
    if (n.inputs.size() != 1) return false;
    const DataType from = g.value(n.inputs[0]).dtype, to = g.value(n.outputs[0]).dtype;
    // Loading converts to float32 exactly for these; int32/int64 only when the target is
    // float32 (one rounding, as Cast does).
    const bool exact = is_floating(from) || from == DataType::kBool || from == DataType::kInt8 ||
                       from == DataType::kUInt8;
    return exact || to == DataType::kFloat32;
  }
  return false;
}

// A one-element constant becomes an immediate.
bool immediate(const ir::Graph& g, int v, double* value) {
  return scalar_constant(g, v, value) && g.value(v).dtype != DataType::kBool;
}

struct Group {
  std::vector<int> nodes;  // topological order, root last
};

// Grows the group of `root`: adds producers whose outputs only feed the group, until no more
// fit the program limits.
Group grow(const ir::Graph& g, int root, const std::vector<int>& topo_index,
           const std::vector<char>& taken) {
  std::set<int> members = {root};
  bool added = true;
  while (added) {
    added = false;
    std::vector<int> cand;
    for (int m : members) {
      for (int in : g.node(m).inputs) {
        const int p = producer_of(g, in);
        if (p >= 0 && !members.count(p) && !taken[p] && eligible(g, g.node(p))) cand.push_back(p);
      }
    }
    std::sort(cand.begin(), cand.end());
    cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
    for (int p : cand) {
      const int out = g.node(p).outputs[0];
      if (g.value(out).is_output) continue;
      bool inside = true;
      for (int u : g.consumers(out)) inside = inside && members.count(u) > 0;
      if (!inside) continue;
      // Limits: instructions, outside inputs and immediates of the grown group.
      std::set<int> trial = members;
      trial.insert(p);
      std::set<int> produced, outside, consts;
      for (int m : trial) produced.insert(g.node(m).outputs[0]);
      for (int m : trial) {
        for (int in : g.node(m).inputs) {
          double c;
          if (produced.count(in)) continue;
          (immediate(g, in, &c) ? consts : outside).insert(in);
        }
      }
      // Activation alpha/beta take two immediates each.
      size_t extra = 0;
      for (int m : trial) extra += g.node(m).op == "Activation" ? 2 : 0;
      if (trial.size() + 1 > static_cast<size_t>(ops::kFusedMaxInstructions) ||
          outside.size() > static_cast<size_t>(ops::kFusedMaxInputs) ||
          consts.size() + extra + 1 > static_cast<size_t>(ops::kFusedMaxConstants)) {
        continue;
      }
      members.insert(p);
      added = true;
    }
  }
  Group grp{std::vector<int>(members.begin(), members.end())};
  std::sort(grp.nodes.begin(), grp.nodes.end(),
            [&](int a, int b) { return topo_index[a] < topo_index[b]; });
  return grp;
}

// The program of a group; appends its outside inputs.
struct Built {
  std::vector<int64_t> code;
  std::vector<double> constants;
  std::vector<int> inputs;
};

Built build_program(const ir::Graph& g, const Group& grp) {
  Built b;
  std::set<int> produced;
  for (int m : grp.nodes) produced.insert(g.node(m).outputs[0]);
  // Outside inputs first (registers 0..n-1), in order of first use.
  for (int m : grp.nodes) {
    for (int in : g.node(m).inputs) {
      double c;
      if (produced.count(in) || immediate(g, in, &c)) continue;
      if (std::find(b.inputs.begin(), b.inputs.end(), in) == b.inputs.end()) b.inputs.push_back(in);
    }
  }
  std::map<int, int64_t> reg;  // value -> operand reference
  for (size_t i = 0; i < b.inputs.size(); ++i) reg[b.inputs[i]] = static_cast<int64_t>(i);
  auto constant = [&](double c) {
    for (size_t i = 0; i < b.constants.size(); ++i) {
      if (b.constants[i] == c) return -static_cast<int64_t>(i) - 1;
    }
    b.constants.push_back(c);
    return -static_cast<int64_t>(b.constants.size());
  };
  auto ref = [&](int v) {
    auto it = reg.find(v);
    if (it != reg.end()) return it->second;
    double c = 0;
    immediate(g, v, &c);
    return constant(c);
  };
  const int64_t n_in = static_cast<int64_t>(b.inputs.size());
  auto emit = [&](int out, int64_t kind, int64_t sub, int64_t x, int64_t y, int64_t z) {
    const int64_t r = n_in + static_cast<int64_t>(b.code.size() / 5);
    b.code.insert(b.code.end(), {kind, sub, x, y, z});
    reg[out] = r;
  };
  for (int m : grp.nodes) {
    const ir::Node& n = g.node(m);
    const int out = n.outputs[0];
    if (n.op == "ElementWise") {
      ops::ElementWiseOp op;
      ops::parse_elementwise_op(n.attrs.get_string("op"), &op);
      emit(out, 0, static_cast<int64_t>(op), ref(n.inputs[0]), ref(n.inputs[1]), 0);
    } else if (n.op == "Unary") {
      ops::UnaryOp op;
      ops::parse_unary_op(n.attrs.get_string("op"), &op);
      emit(out, 1, static_cast<int64_t>(op), ref(n.inputs[0]), 0, 0);
    } else if (n.op == "Activation") {
      ops::ActivationKind k;
      ops::parse_activation(n.attrs.get_string("type"), &k);
      double alpha, beta;
      ops::activation_defaults(k, &alpha, &beta);
      alpha = n.attrs.get_float("alpha", alpha);
      beta = n.attrs.get_float("beta", beta);
      const int64_t x = ref(n.inputs[0]);
      const int64_t ya = constant(static_cast<double>(static_cast<float>(alpha)));
      const int64_t zb = constant(static_cast<double>(static_cast<float>(beta)));
      emit(out, 2, static_cast<int64_t>(k), x, ya, zb);
    } else if (n.op == "Select") {
      emit(out, 3, 0, ref(n.inputs[0]), ref(n.inputs[1]), ref(n.inputs[2]));
    } else {  // Cast
      const DataType to = g.value(out).dtype;
      if (to == DataType::kFloat32) {
        reg[out] = ref(n.inputs[0]);  // the load (or the float register) is the value
      } else {
        emit(out, 4, static_cast<int64_t>(to), ref(n.inputs[0]), 0, 0);
      }
    }
  }
  // The output must be an instruction's register: x * 1 is exact for every float.
  const int root_out = g.node(grp.nodes.back()).outputs[0];
  if (reg[root_out] != n_in + static_cast<int64_t>(b.code.size() / 5) - 1 || b.code.empty()) {
    const int64_t x = reg[root_out];
    const int64_t one = constant(1.0);
    b.code.insert(b.code.end(), {0, static_cast<int64_t>(ops::ElementWiseOp::kProd), x, one, 0});
  }
  return b;
}

}  // namespace

Result<int> fuse_elementwise(ir::Graph& g, const PassOptions& options) {
  (void)options;
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, g.topo_order());
  std::vector<int> topo_index(g.num_nodes(), -1);
  for (size_t i = 0; i < order.size(); ++i) topo_index[order[i]] = static_cast<int>(i);
  std::vector<char> taken(g.num_nodes(), 0);
  int fused = 0;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const int root = *it;
    if (taken[root] || !eligible(g, g.node(root))) continue;
    Group grp = grow(g, root, topo_index, taken);
    if (grp.nodes.size() < 2) continue;
    Built b = build_program(g, grp);
    if (b.inputs.empty()) continue;  // all constants: left to constant folding
    const int root_out = g.node(root).outputs[0];
    ir::Attrs a;
    a.set("program", b.code);
    a.set("constants", b.constants);
    a.set("dtype", std::string(dtype_name(g.value(root_out).dtype)));
    a.set("rank", static_cast<int64_t>(g.value(root_out).shape.size()));
    const int node = g.add_node("FusedElementwise", g.node(grp.nodes.front()).name, b.inputs, 1, a);
    taken.resize(g.num_nodes(), 0);
    Status s = g.infer_node(node);
    const int out = g.node(node).outputs[0];
    if (!s.is_ok() || !same_sym_shape(g.value(out).shape, g.value(root_out).shape)) {
      if (options.logger) {
        options.logger->log(Severity::kVerbose, "elementwise fusion: skipped a group at " +
                                                    g.describe_node(root) + ": " +
                                                    (s.is_ok() ? "shape mismatch" : s.message()));
      }
      g.node(node).removed = true;
      continue;
    }
    g.value(root_out).producer = node;
    g.node(node).outputs[0] = root_out;
    g.value(out).producer = -1;
    for (int m : grp.nodes) {
      g.node(node).fused.push_back(g.node(m).name);
      for (const std::string& f : g.node(m).fused) g.node(node).fused.push_back(f);
      g.node(m).removed = true;
      taken[m] = 1;
    }
    taken[node] = 1;
    ++fused;
  }
  return fused;
}

}  // namespace kiln::passes
