// GELU fusion: the decompositions exporters emit become one Activation node, which the bias /
// activation fusion then folds into the preceding MatMul (BERT's FFN becomes one GEMM).
//   erf form   x * 0.5 * (1 + erf(x / sqrt(2)))            -> Activation gelu_erf
//              (Div by 1.4142 or Mul by 0.7071; the three multiplications in any order:
//               (x * a) * 0.5, x * (a * 0.5), (x * 0.5) * a, with a = 1 + erf(...))
//   tanh form  x * 0.5 * (1 + tanh(0.79788 * (x + 0.044715 * x^3)))  -> Activation gelu_tanh
//              (x^3 as Pow(x, 3), (x * x) * x or x * (x * x); operands of + and * either way)
// Every intermediate must have no other user and not be a network output; x may have others.
// ONNX's Gelu op (opset 20) is imported as the Activation directly.
#include "passes/pass.h"
#include "passes/pattern.h"

#include <cmath>
#include <utility>

namespace kiln::passes {

namespace {

constexpr double kTol = 1e-3;  // exporters write the constants in float32

bool is_float(const ir::Graph& g, int v) {
  return is_floating(g.value(v).dtype);
}

// The node consuming `v` alone, if it is an ElementWise `op`; -1 otherwise.
int sole_elementwise(const ir::Graph& g, int v, std::string_view op) {
  int c = sole_consumer(g, v);
  return c >= 0 && is_elementwise(g.node(c), op) ? c : -1;
}

// From a = 1 + f(...) to the final product x * 0.5 * a. Returns the final node (or -1) and
// appends the absorbed nodes.
int match_tail(const ir::Graph& g, int x, int a, std::vector<int>* nodes) {
  int m1 = sole_elementwise(g, a, "prod");
  if (m1 < 0) return -1;
  int o1 = other_operand(g.node(m1), a);
  int m1_out = g.node(m1).outputs[0];
  if (o1 == x) {  // (x * a) * 0.5
    int m2 = sole_elementwise(g, m1_out, "prod");
    if (m2 < 0 || !scalar_near(g, other_operand(g.node(m2), m1_out), 0.5, 1e-6)) return -1;
    nodes->push_back(m1);
    return m2;
  }
  if (scalar_near(g, o1, 0.5, 1e-6)) {  // x * (a * 0.5)
    int m2 = sole_elementwise(g, m1_out, "prod");
    if (m2 < 0 || other_operand(g.node(m2), m1_out) != x) return -1;
    nodes->push_back(m1);
    return m2;
  }
  // (x * 0.5) * a
  int h = producer_of(g, o1);
  if (h < 0 || !is_elementwise(g.node(h), "prod") || sole_consumer(g, o1) != m1) return -1;
  int hx = g.node(h).inputs[0], hc = g.node(h).inputs[1];
  if (hx != x) std::swap(hx, hc);
  if (hx != x || !scalar_near(g, hc, 0.5, 1e-6)) return -1;
  nodes->push_back(h);
  return m1;
}

// a = 1 + t: the Add consuming t alone with the constant 1.
int match_plus_one(const ir::Graph& g, int t) {
  int a = sole_elementwise(g, t, "sum");
  if (a < 0 || !scalar_near(g, other_operand(g.node(a), t), 1.0, 1e-6)) return -1;
  return a;
}

// Erf node -> (x, nodes) of the erf form, or x = -1.
int match_erf(const ir::Graph& g, int erf, std::vector<int>* nodes) {
  int d = g.node(erf).inputs[0];
  int dn = producer_of(g, d);
  if (dn < 0 || sole_consumer(g, d) != erf) return -1;
  const ir::Node& div = g.node(dn);
  int x = -1;
  if (is_elementwise(div, "div") && scalar_near(g, div.inputs[1], std::sqrt(2.0), kTol)) {
    x = div.inputs[0];
  } else if (is_elementwise(div, "prod")) {
    if (scalar_near(g, div.inputs[1], std::sqrt(0.5), kTol)) x = div.inputs[0];
    if (scalar_near(g, div.inputs[0], std::sqrt(0.5), kTol)) x = div.inputs[1];
  }
  if (x < 0 || g.is_constant(x)) return -1;
  int a = match_plus_one(g, g.node(erf).outputs[0]);
  if (a < 0) return -1;
  nodes->insert(nodes->end(), {dn, erf, a});
  return x;
}

// x^3 as Pow(x, 3), (x * x) * x or x * (x * x): appends the nodes, true on a match.
bool match_cube(const ir::Graph& g, int v, int x, std::vector<int>* nodes) {
  int p = producer_of(g, v);
  if (p < 0 || sole_consumer(g, v) < 0) return false;
  const ir::Node& n = g.node(p);
  if (is_elementwise(n, "pow")) {
    if (n.inputs[0] != x || !scalar_near(g, n.inputs[1], 3.0, 1e-6)) return false;
    nodes->push_back(p);
    return true;
  }
  if (!is_elementwise(n, "prod")) return false;
  int sq = other_operand(n, x);
  if (sq < 0) return false;
  int s = producer_of(g, sq);
  if (s < 0 || sole_consumer(g, sq) != p) return false;
  const ir::Node& sn = g.node(s);
  if (!is_elementwise(sn, "prod") || sn.inputs[0] != x || sn.inputs[1] != x) return false;
  nodes->insert(nodes->end(), {s, p});
  return true;
}

// Tanh activation node -> x of the tanh form, or -1.
int match_tanh(const ir::Graph& g, int tanh, std::vector<int>* nodes) {
  int u = g.node(tanh).inputs[0];
  int un = producer_of(g, u);
  if (un < 0 || sole_consumer(g, u) != tanh || !is_elementwise(g.node(un), "prod")) return -1;
  const double k = 0.7978845608028654;  // sqrt(2 / pi)
  int s = -1;
  if (scalar_near(g, g.node(un).inputs[1], k, kTol)) s = g.node(un).inputs[0];
  if (scalar_near(g, g.node(un).inputs[0], k, kTol)) s = g.node(un).inputs[1];
  int sn = producer_of(g, s);
  if (sn < 0 || sole_consumer(g, s) != un || !is_elementwise(g.node(sn), "sum")) return -1;
  for (int side = 0; side < 2; ++side) {
    int x = g.node(sn).inputs[side];
    int w = g.node(sn).inputs[1 - side];
    int wn = producer_of(g, w);
    if (g.is_constant(x) || wn < 0 || sole_consumer(g, w) != sn ||
        !is_elementwise(g.node(wn), "prod")) {
      continue;
    }
    int cube = -1;
    if (scalar_near(g, g.node(wn).inputs[1], 0.044715, kTol)) cube = g.node(wn).inputs[0];
    if (scalar_near(g, g.node(wn).inputs[0], 0.044715, kTol)) cube = g.node(wn).inputs[1];
    std::vector<int> found;
    if (cube < 0 || !match_cube(g, cube, x, &found)) continue;
    int a = match_plus_one(g, g.node(tanh).outputs[0]);
    if (a < 0) return -1;
    nodes->insert(nodes->end(), found.begin(), found.end());
    nodes->insert(nodes->end(), {wn, sn, un, tanh, a});
    return x;
  }
  return -1;
}

}  // namespace

Result<int> fuse_gelu(ir::Graph& g, const PassOptions& options) {
  (void)options;
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, g.topo_order());
  int fused = 0;
  for (int id : order) {
    if (g.node(id).removed) continue;
    const ir::Node& n = g.node(id);
    std::vector<int> nodes;
    int x = -1;
    const char* type = nullptr;
    if (is_unary(n, "erf")) {
      x = match_erf(g, id, &nodes);
      type = "gelu_erf";
    } else if (n.op == "Activation" && n.attrs.get_string("type") == "tanh") {
      x = match_tanh(g, id, &nodes);
      type = "gelu_tanh";
    }
    if (x < 0 || !is_float(g, x)) continue;
    int last = match_tail(g, x, g.node(nodes.back()).outputs[0], &nodes);
    if (last < 0) continue;
    // The fused op keeps x's shape: no broadcasting against the constants.
    if (!same_sym_shape(g.value(g.node(last).outputs[0]).shape, g.value(x).shape) ||
        g.value(g.node(last).outputs[0]).dtype != g.value(x).dtype) {
      continue;
    }
    ir::Attrs a;
    a.set("type", std::string(type));
    rewrite_node(g, last, "Activation", {x}, std::move(a), nodes);
    KILN_RETURN_IF_ERROR(g.infer_node(last));
    ++fused;
  }
  return fused;
}

}  // namespace kiln::passes
