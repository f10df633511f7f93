// Softmax fusion: the scale, additive mask and NaN guard around attention's softmax become
// Softmax attributes and its Mask input, so the scores are read once:
//   Softmax(s * c | c * s | s / c [+ mask])            -> Softmax(s, Mask, scale = c or 1/c)
//   MatMul(q * cq, k * ck) feeding it alone             -> MatMul(q, k), scale *= cq * ck
//                                                          (SDPA exports scale both operands)
//   Where(IsNaN(p), 0, p) after it                      -> nan_to_zero = 1
//   Mask = Where(m, 0, c) with m bool, c a constant     -> Mask = m, mask_fill = c (bool: true
//                                                          adds 0, false c: -inf, float32's
//                                                          lowest, -10000, ...)
// c, cq, ck are one-element constants; the mask must broadcast to the scores without enlarging
// them; the softmax axis must be the last. Intermediates must have no other users and not be
// network outputs (the Where producing a bool-mask may: it stays for them).
#include "passes/pass.h"
#include "passes/pattern.h"

#include <cmath>

namespace kiln::passes {

namespace {

// `v` broadcasts to `shape` without enlarging it (constant dims only compare when both known).
bool broadcasts_to(const ir::SymShape& v, const ir::SymShape& shape) {
  if (v.size() > shape.size()) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    const ir::SymExpr& a = v[v.size() - 1 - i];
    const ir::SymExpr& b = shape[shape.size() - 1 - i];
    if (a.is_const() && a.value() == 1) continue;
    if (!same_dim(a, b)) return false;
  }
  return true;
}

// A scalar Mul / Div node consuming `v` alone: returns its other operand and the factor, or -1.
int scaled_input(const ir::Graph& g, int node, double* factor) {
  const ir::Node& n = g.node(node);
  double c;
  if (is_elementwise(n, "prod")) {
    if (scalar_constant(g, n.inputs[1], &c)) {
      *factor = c;
      return n.inputs[0];
    }
    if (scalar_constant(g, n.inputs[0], &c)) {
      *factor = c;
      return n.inputs[1];
    }
  } else if (is_elementwise(n, "div") && scalar_constant(g, n.inputs[1], &c) && c != 0) {
    *factor = 1.0 / c;
    return n.inputs[0];
  }
  return -1;
}

}  // namespace

Result<int> fuse_softmax(ir::Graph& g, const PassOptions& options) {
  (void)options;
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, g.topo_order());
  int fused = 0;
  for (int sm : order) {
    if (g.node(sm).removed || g.node(sm).op != "Softmax" || g.node(sm).inputs.size() > 1) continue;
    const int rank = static_cast<int>(g.value(g.node(sm).inputs[0]).shape.size());
    int64_t axis = g.node(sm).attrs.get_int("axis", -1);
    if (axis < 0) axis += rank;
    if (axis != rank - 1 || rank == 0) continue;
    const ir::SymShape shape = g.value(g.node(sm).inputs[0]).shape;
    const DataType dt = g.value(g.node(sm).inputs[0]).dtype;
    double scale = g.node(sm).attrs.get_float("scale", 1.0);
    int x = g.node(sm).inputs[0];
    int mask = -1;
    std::vector<int> absorbed;
    bool changed = false;
    // + mask
    int p = producer_of(g, x);
    if (p >= 0 && is_elementwise(g.node(p), "sum") && sole_consumer(g, x) == sm) {
      const int a = g.node(p).inputs[0], b = g.node(p).inputs[1];
      // The scores operand has the full shape; prefer the one that is not a constant.
      for (auto [s, m] : {std::pair{a, b}, std::pair{b, a}}) {
        if (mask >= 0 || g.is_constant(s) || !same_sym_shape(g.value(s).shape, shape) ||
            g.value(s).dtype != dt || !broadcasts_to(g.value(m).shape, shape)) {
          continue;
        }
        x = s;
        mask = m;
      }
      if (mask >= 0) {
        absorbed.push_back(p);
        changed = true;
      }
    }
    // * c or / c
    p = producer_of(g, x);
    double factor = 1;
    int inner = -1;
    if (p >= 0 && sole_consumer(g, x) >= 0 && (inner = scaled_input(g, p, &factor)) >= 0 &&
        same_sym_shape(g.value(inner).shape, shape) && g.value(inner).dtype == dt) {
      scale *= factor;
      x = inner;
      absorbed.push_back(p);
      changed = true;
    }
    // MatMul(q * cq, k * ck) used only here: move the factors into the scale.
    p = producer_of(g, x);
    if (p >= 0 && g.node(p).op == "MatMul" && sole_consumer(g, x) >= 0 &&
        g.node(p).inputs.size() == 2 && !g.node(p).attrs.has("activation")) {
      for (int side = 0; side < 2; ++side) {
        const int operand = g.node(p).inputs[side];
        const int op_node = producer_of(g, operand);
        double f = 1;
        int base = -1;
        if (op_node < 0 || sole_consumer(g, operand) != p ||
            (base = scaled_input(g, op_node, &f)) < 0 ||
            !same_sym_shape(g.value(base).shape, g.value(operand).shape) ||
            g.value(base).dtype != g.value(operand).dtype) {
          continue;
        }
        g.node(p).inputs[side] = base;
        g.node(p).fused.push_back(g.node(op_node).name);
        g.node(op_node).removed = true;
        scale *= f;
        changed = true;
      }
    }
    // Mask = Where(m, 0, c), m bool: the bool itself, false adding c.
    double fill = -INFINITY;
    if (mask >= 0) {
      const int w = producer_of(g, mask);
      double zero, c;
      if (w >= 0 && g.node(w).op == "Select" && g.node(w).inputs.size() == 3 &&
          g.value(g.node(w).inputs[0]).dtype == DataType::kBool &&
          scalar_constant(g, g.node(w).inputs[1], &zero) && zero == 0 &&
          scalar_constant(g, g.node(w).inputs[2], &c) && !std::isnan(c) &&
          broadcasts_to(g.value(g.node(w).inputs[0]).shape, shape)) {
        mask = g.node(w).inputs[0];  // the Where stays if others use it (dead code otherwise)
        fill = c;
      }
    }
    // Where(IsNaN(y), 0, y) after: nan_to_zero.
    const int y = g.node(sm).outputs[0];
    std::vector<int> users = g.consumers(y);
    if (!g.value(y).is_output && users.size() == 2) {
      int isnan = -1, where = -1;
      for (int u : users) {
        const ir::Node& n = g.node(u);
        if (n.op == "FloatClass" && n.attrs.get_string("op") == "isnan") isnan = u;
        if (n.op == "Select") where = u;
      }
      double zero;
      if (isnan >= 0 && where >= 0 && sole_consumer(g, g.node(isnan).outputs[0]) == where &&
          g.node(where).inputs[0] == g.node(isnan).outputs[0] && g.node(where).inputs[2] == y &&
          scalar_constant(g, g.node(where).inputs[1], &zero) && zero == 0 &&
          same_sym_shape(g.value(g.node(where).outputs[0]).shape, shape) &&
          g.value(g.node(where).outputs[0]).dtype == dt) {
        g.node(sm).attrs.set("nan_to_zero", int64_t{1});
        absorb_successor(g, sm, where);
        g.node(sm).fused.push_back(g.node(isnan).name);
        g.node(isnan).removed = true;
        changed = true;
      }
    }
    if (!changed) continue;
    ir::Node& n = g.node(sm);
    for (int a : absorbed) {
      n.fused.push_back(g.node(a).name);
      g.node(a).removed = true;
    }
    n.inputs = {x};
    if (mask >= 0) n.inputs.push_back(mask);
    if (scale != 1.0) n.attrs.set("scale", scale);
    if (mask >= 0 && g.value(mask).dtype == DataType::kBool && !(std::isinf(fill) && fill < 0)) {
      n.attrs.set("mask_fill", fill);
    }
    KILN_RETURN_IF_ERROR(g.infer_node(sm));
    ++fused;
  }
  return fused;
}

}  // namespace kiln::passes
