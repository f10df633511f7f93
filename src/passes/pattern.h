// Small helpers shared by the fusion passes.
#pragma once

#include "ir/graph.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace kiln::passes {

// The single live consumer of `value`, or -1 if it has none, several, or is a graph output.
inline int sole_consumer(const ir::Graph& g, int value) {
  if (g.value(value).is_output) return -1;
  std::vector<int> users = g.consumers(value);
  if (users.size() != 1) return -1;
  // A node that uses the value twice (x + x) is not a fusion candidate either.
  const ir::Node& n = g.node(users[0]);
  int uses = 0;
  for (int in : n.inputs) uses += in == value;
  return uses == 1 ? users[0] : -1;
}

// Makes `keeper` produce `absorbed`'s output (so later users see it) and removes `absorbed`.
inline void absorb_successor(ir::Graph& g, int keeper, int absorbed) {
  ir::Node& k = g.node(keeper);
  ir::Node& a = g.node(absorbed);
  int old_out = k.outputs[0];
  int new_out = a.outputs[0];
  k.outputs[0] = new_out;
  g.value(new_out).producer = keeper;
  g.value(old_out).producer = -1;
  k.fused.push_back(a.name);  // the fused layer keeps the first layer's name
  a.removed = true;
}

}  // namespace kiln::passes

namespace kiln::passes {

// The live node producing `value`, or -1 (graph inputs, constants).
inline int producer_of(const ir::Graph& g, int value) {
  if (value < 0) return -1;
  int p = g.value(value).producer;
  return p >= 0 && !g.node(p).removed ? p : -1;
}

// An ElementWise node of the given "op" (sum, sub, prod, div, pow, ...) with two inputs.
inline bool is_elementwise(const ir::Node& n, std::string_view op) {
  return n.op == "ElementWise" && n.inputs.size() == 2 && n.attrs.get_string("op") == op;
}
// A Unary node of the given "op".
inline bool is_unary(const ir::Node& n, std::string_view op) {
  return n.op == "Unary" && n.inputs.size() == 1 && n.attrs.get_string("op") == op;
}

// The value of a constant with one element and a numeric dtype.
inline bool scalar_constant(const ir::Graph& g, int value, double* out) {
  if (!g.is_constant(value)) return false;
  const HostTensor& t = *g.value(value).constant;
  if (t.numel() != 1 || t.dtype() == DataType::kBool) return false;
  *out = t.get_double(0);
  return true;
}

// Whether `value` is a one-element constant within `tol` (relative) of `want`.
inline bool scalar_near(const ir::Graph& g, int value, double want, double tol) {
  double v;
  return scalar_constant(g, value, &v) && std::fabs(v - want) <= tol * std::fabs(want);
}

// The operand of binary node `n` that is not `v` (-1 if v is not an operand).
inline int other_operand(const ir::Node& n, int v) {
  if (n.inputs.size() != 2) return -1;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return -1;
}

// Whether a dim expression is never negative (dims are not: symbols bind input extents).
inline bool non_negative(const ir::SymExpr& e) {
  using K = ir::SymExpr::Kind;
  switch (e.kind()) {
    case K::kConst:
      return e.value() >= 0;
    case K::kSymbol:
      return true;
    case K::kAdd:
    case K::kMul:
    case K::kFloorDiv:
    case K::kCeilDiv:
    case K::kMin:
    case K::kMax:
    case K::kBroadcast:
      return non_negative(e.lhs()) && non_negative(e.rhs());
    default:
      return false;
  }
}

// A canonical form of a dim expression for equality tests between shapes that exporters build
// along different paths (PyTorch's Shape/Gather/Slice programs): max(x, 0) with x >= 0 is x,
// broadcast(a, a) and broadcast(a, min(a, c)) are a (equal whenever the model's shapes are
// valid; kernels still check their operands at run time), broadcast(a, broadcast(a, b)) is
// broadcast(a, b).
ir::SymExpr canonical_dim(const ir::SymExpr& e);

// Factors of a product (a constant coefficient and the other factors); false if the coefficient
// overflows.
inline bool product_factors(const ir::SymExpr& e, int64_t* coef, std::vector<ir::SymExpr>* out) {
  if (e.kind() == ir::SymExpr::Kind::kMul) {
    return product_factors(e.lhs(), coef, out) && product_factors(e.rhs(), coef, out);
  }
  if (e.is_const()) return !__builtin_mul_overflow(*coef, e.value(), coef);
  out->push_back(e);
  return true;
}

// (a*b*c) / (a*b*d) with the common factors cancelled and c/d exact: that quotient, else e.
inline ir::SymExpr cancel_division(const ir::SymExpr& num, const ir::SymExpr& den,
                                   const ir::SymExpr& e) {
  int64_t cn = 1, cd = 1;
  std::vector<ir::SymExpr> fn, fd;
  if (!product_factors(num, &cn, &fn) || !product_factors(den, &cd, &fd)) return e;
  for (auto it = fd.begin(); it != fd.end();) {
    auto m =
        std::find_if(fn.begin(), fn.end(), [&](const ir::SymExpr& f) { return f.same_as(*it); });
    if (m == fn.end()) return e;  // a denominator factor that does not cancel
    fn.erase(m);
    it = fd.erase(it);
  }
  if (cd == 0 || (cd == -1 && cn == INT64_MIN) || cn % cd != 0) return e;
  ir::SymExpr out(cn / cd);
  for (const ir::SymExpr& f : fn) out = out * f;
  return out;
}

inline ir::SymExpr canonical_dim(const ir::SymExpr& e) {
  using K = ir::SymExpr::Kind;
  if (e.kind() == K::kConst || e.kind() == K::kSymbol) return e;
  const ir::SymExpr a = canonical_dim(e.lhs()), b = canonical_dim(e.rhs());
  auto min_of = [](const ir::SymExpr& m, const ir::SymExpr& x) {
    return m.kind() == K::kMin && (m.lhs().same_as(x) || m.rhs().same_as(x));
  };
  auto bcast_of = [](const ir::SymExpr& m, const ir::SymExpr& x) {
    return m.kind() == K::kBroadcast && (m.lhs().same_as(x) || m.rhs().same_as(x));
  };
  switch (e.kind()) {
    case K::kMax:
      if (b.is_const() && b.value() == 0 && non_negative(a)) return a;
      if (a.is_const() && a.value() == 0 && non_negative(b)) return b;
      break;
    case K::kBroadcast:
      if (a.same_as(b) || min_of(b, a)) return a;
      if (min_of(a, b)) return b;
      if (bcast_of(b, a)) return b;
      if (bcast_of(a, b)) return a;
      break;
    case K::kFloorDiv:
      return cancel_division(a, b, ir::SymExpr::binary(e.kind(), a, b));
    default:
      break;
  }
  return ir::SymExpr::binary(e.kind(), a, b);
}

inline bool same_dim(const ir::SymExpr& a, const ir::SymExpr& b) {
  return a.same_as(b) || canonical_dim(a).same_as(canonical_dim(b));
}

// Symbolic shapes that are the same dim for dim (in canonical form).
inline bool same_sym_shape(const ir::SymShape& a, const ir::SymShape& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!same_dim(a[i], b[i])) return false;
  }
  return true;
}

// The live consumers of `value` are exactly the nodes in `allowed` (each at least once) and the
// value is not a graph output.
inline bool consumed_only_by(const ir::Graph& g, int value, std::initializer_list<int> allowed) {
  if (g.value(value).is_output) return false;
  std::vector<int> users = g.consumers(value);
  for (int u : users) {
    if (std::find(allowed.begin(), allowed.end(), u) == allowed.end()) return false;
  }
  for (int a : allowed) {
    if (std::find(users.begin(), users.end(), a) == users.end()) return false;
  }
  return true;
}

// Turns node `keeper` into op `op` with `inputs` and `attrs` (keeping its outputs) and removes
// `absorbed` (their names go to keeper's fused list, for the inspector).
inline void rewrite_node(ir::Graph& g, int keeper, std::string op, std::vector<int> inputs,
                         ir::Attrs attrs, const std::vector<int>& absorbed) {
  for (int a : absorbed) {
    if (a == keeper) continue;
    ir::Node& n = g.node(a);
    g.node(keeper).fused.push_back(n.name);
    for (const std::string& f : n.fused) g.node(keeper).fused.push_back(f);
    n.removed = true;
  }
  ir::Node& k = g.node(keeper);
  k.op = std::move(op);
  k.inputs = std::move(inputs);
  k.attrs = std::move(attrs);
}

}  // namespace kiln::passes
