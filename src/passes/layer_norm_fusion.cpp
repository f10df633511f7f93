// Layer norm fusion, two patterns:
//   decomposed  m = ReduceMean(x, trailing axes); d = x - m;
//               v = ReduceMean(Pow(d, 2) | d * d, same axes); s = v + eps;
//               n = d / Sqrt(s) | d * Reciprocal(Sqrt(s)) | d * Rsqrt(s);
//               [n * gamma] [+ beta]  (constants over the normalized dims; either operand order)
//               -> LayerNorm(x, gamma or [1] ones, beta; axis = first reduced axis, epsilon)
//   residual    LayerNorm(a + b, ...) with a and b of the output's shape and dtype, neither a
//               constant -> LayerNorm(a, ..., Residual = b): the residual add of transformer
//               blocks disappears into the norm kernel (one read of each operand, one write).
// Intermediates must have no other users and not be network outputs.
#include "ops/reduce/reduce.h"
#include "passes/pass.h"
#include "passes/pattern.h"

namespace kiln::passes {

namespace {

// A ReduceMean (keepdims) over the trailing axes [axis, rank): returns axis, or -1.
int trailing_mean_axis(const ir::Graph& g, const ir::Node& n) {
  if (n.op != "Reduce" || n.attrs.get_string("op") != "mean" ||
      n.attrs.get_int("keepdims", 1) == 0) {
    return -1;
  }
  auto axes = ops::reduce_axes(g, n);
  if (!axes.is_ok() || axes->empty()) return -1;
  const int rank = static_cast<int>(axes->size());
  int first = rank;
  while (first > 0 && (*axes)[first - 1]) --first;
  if (first == rank) return -1;
  for (int i = 0; i < first; ++i) {
    if ((*axes)[i]) return -1;
  }
  return first;
}

// A float constant usable as Scale/Bias over the normalized dims (the last `nd` dims of x): its
// dims beyond the last nd must be 1 (they would vary over unnormalized axes otherwise). Returns
// the value to use (the constant itself, or a copy without those leading 1s), or -1.
int norm_param(ir::Graph& g, int c, int nd, const std::string& name) {
  if (!g.is_constant(c) || !is_floating(g.value(c).dtype)) return -1;
  const HostTensor& t = *g.value(c).constant;
  const Dims& s = t.shape();
  if (s.rank() <= nd) return c;
  for (int i = 0; i < s.rank() - nd; ++i) {
    if (s[i] != 1) return -1;
  }
  std::vector<int64_t> dims(s.end() - nd, s.end());
  HostTensor copy =
      HostTensor::from_bytes(t.dtype(), Dims(std::span<const int64_t>(dims)), t.data());
  return g.add_constant(name, std::move(copy));
}

// Matches the decomposed form at ReduceMean node r1; rewrites on success.
Result<bool> fuse_decomposed(ir::Graph& g, int r1) {
  const int axis = trailing_mean_axis(g, g.node(r1));
  if (axis < 0) return false;
  const int x = g.node(r1).inputs[0];
  if (!is_floating(g.value(x).dtype) || g.is_constant(x)) return false;
  const int rank = static_cast<int>(g.value(x).shape.size());
  const int m = g.node(r1).outputs[0];
  const int sub = sole_consumer(g, m);
  if (sub < 0 || !is_elementwise(g.node(sub), "sub") || g.node(sub).inputs[0] != x ||
      g.node(sub).inputs[1] != m) {
    return false;
  }
  const int d = g.node(sub).outputs[0];
  if (g.value(d).is_output) return false;
  std::vector<int> users = g.consumers(d);
  if (users.size() != 2) return false;
  // Which user squares d.
  int sq = -1, other = -1;
  for (int i = 0; i < 2; ++i) {
    const ir::Node& u = g.node(users[i]);
    bool square =
        (is_elementwise(u, "pow") && u.inputs[0] == d && scalar_near(g, u.inputs[1], 2.0, 1e-6)) ||
        (is_elementwise(u, "prod") && u.inputs[0] == d && u.inputs[1] == d);
    if (square && sq < 0) {
      sq = users[i];
      other = users[1 - i];
    }
  }
  if (sq < 0) return false;
  const int r2 = sole_consumer(g, g.node(sq).outputs[0]);
  if (r2 < 0 || trailing_mean_axis(g, g.node(r2)) != axis) return false;
  const int v = g.node(r2).outputs[0];
  const int add = sole_consumer(g, v);
  if (add < 0 || !is_elementwise(g.node(add), "sum")) return false;
  double eps = 0;
  if (!scalar_constant(g, other_operand(g.node(add), v), &eps) || !(eps >= 0)) return false;
  const int s = g.node(add).outputs[0];
  std::vector<int> nodes = {r1, sub, sq, r2, add};
  // n = d / sqrt(s) | d * reciprocal(sqrt(s)) | d * rsqrt(s)
  int norm = -1;
  const int s_user = sole_consumer(g, s);
  if (s_user < 0) return false;
  if (is_unary(g.node(s_user), "sqrt")) {
    const int sd = g.node(s_user).outputs[0];
    const int u = sole_consumer(g, sd);
    if (u < 0) return false;
    nodes.push_back(s_user);
    if (is_elementwise(g.node(u), "div") && g.node(u).inputs[0] == d && g.node(u).inputs[1] == sd) {
      norm = u;
    } else if (is_unary(g.node(u), "reciprocal")) {
      const int rs = g.node(u).outputs[0];
      const int mul = sole_consumer(g, rs);
      if (mul < 0 || !is_elementwise(g.node(mul), "prod") || other_operand(g.node(mul), rs) != d) {
        return false;
      }
      nodes.push_back(u);
      norm = mul;
    }
  } else if (is_unary(g.node(s_user), "rsqrt")) {
    const int rs = g.node(s_user).outputs[0];
    const int mul = sole_consumer(g, rs);
    if (mul < 0 || !is_elementwise(g.node(mul), "prod") || other_operand(g.node(mul), rs) != d) {
      return false;
    }
    nodes.push_back(s_user);
    norm = mul;
  }
  if (norm < 0 || norm != other) return false;
  nodes.push_back(norm);
  // Optional gamma, then optional beta.
  const int nd = rank - axis;
  int last = norm, scale = -1, bias = -1;
  int out = g.node(norm).outputs[0];
  int u = sole_consumer(g, out);
  if (u >= 0 && is_elementwise(g.node(u), "prod")) {
    scale = norm_param(g, other_operand(g.node(u), out), nd, g.node(u).name + ".scale");
    if (scale >= 0) {
      nodes.push_back(u);
      last = u;
      out = g.node(u).outputs[0];
      u = sole_consumer(g, out);
    }
  }
  if (u >= 0 && is_elementwise(g.node(u), "sum")) {
    bias = norm_param(g, other_operand(g.node(u), out), nd, g.node(u).name + ".bias");
    if (bias >= 0) {
      nodes.push_back(u);
      last = u;
      out = g.node(u).outputs[0];
    }
  }
  if (!same_sym_shape(g.value(out).shape, g.value(x).shape) ||
      g.value(out).dtype != g.value(x).dtype) {
    return false;
  }
  if (scale < 0) {
    HostTensor one(DataType::kFloat32, Dims{1});
    one.as<float>()[0] = 1.f;
    scale = g.add_constant(g.node(last).name + ".scale", std::move(one));
  }
  ir::Attrs a;
  a.set("axis", int64_t{axis});
  a.set("epsilon", eps);
  std::vector<int> inputs = {x, scale};
  if (bias >= 0) inputs.push_back(bias);
  rewrite_node(g, last, "LayerNorm", std::move(inputs), std::move(a), nodes);
  KILN_RETURN_IF_ERROR(g.infer_node(last));
  return true;
}

// LayerNorm(a + b) -> LayerNorm(a, ..., Residual b).
Result<bool> fuse_residual(ir::Graph& g, int ln) {
  ir::Node& n = g.node(ln);
  if (n.inputs.size() > 3 && n.inputs[3] >= 0) return false;
  const int x = n.inputs[0];
  const int add = producer_of(g, x);
  if (add < 0 || !is_elementwise(g.node(add), "sum") || sole_consumer(g, x) != ln) return false;
  const int a = g.node(add).inputs[0], b = g.node(add).inputs[1];
  for (int v : {a, b}) {
    if (g.is_constant(v) || g.value(v).dtype != g.value(x).dtype ||
        !same_sym_shape(g.value(v).shape, g.value(x).shape)) {
      return false;
    }
  }
  std::vector<int> inputs = n.inputs;
  inputs.resize(4, -1);
  inputs[0] = a;
  inputs[3] = b;
  rewrite_node(g, ln, "LayerNorm", std::move(inputs), n.attrs, {add});
  KILN_RETURN_IF_ERROR(g.infer_node(ln));
  return true;
}

}  // namespace

Result<int> fuse_layer_norm(ir::Graph& g, const PassOptions& options) {
  (void)options;
  int fused = 0;
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, g.topo_order());
  for (int id : order) {
    if (g.node(id).removed || g.node(id).op != "Reduce") continue;
    KILN_ASSIGN_OR_RETURN(bool f, fuse_decomposed(g, id));
    fused += f;
  }
  KILN_ASSIGN_OR_RETURN(order, g.topo_order());
  for (int id : order) {
    if (g.node(id).removed || g.node(id).op != "LayerNorm") continue;
    KILN_ASSIGN_OR_RETURN(bool f, fuse_residual(g, id));
    fused += f;
  }
  return fused;
}

}  // namespace kiln::passes
