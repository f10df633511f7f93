// Bias / residual / activation fusion into Conv and MatMul:
//   Conv -> Add(constant per-channel bias)    => Conv bias
//   Conv -> Add(tensor of the output's shape) => Conv residual input Z
//   MatMul -> Add(constant [N] / [1,N] bias)  => MatMul bias
//   Conv|MatMul -> Activation                 => "activation" attribute (epilogue)
// Only when the intermediate tensor has no other user and is not a network output.
#include "passes/pass.h"
#include "passes/pattern.h"

namespace kiln::passes {

namespace {

bool is_sum(const ir::Node& n) {
  return n.op == "ElementWise" && n.attrs.get_string("op") == "sum" && n.inputs.size() == 2;
}

// Dim by dim in canonical form (pattern.h): shapes that exporters build along different paths.
bool same_shape(const ir::SymShape& a, const ir::SymShape& b) {
  return same_sym_shape(a, b);
}

// A constant that is a per-channel vector for a conv output of rank `rank` with `m` channels:
// shapes [M], [M,1,...] (rank-1 dims) or [1,M,1,...] (rank dims).
bool per_channel_bias(const HostTensor& t, int64_t m, size_t rank) {
  if (t.dtype() != DataType::kFloat32 || t.numel() != m) return false;
  const Dims& d = t.shape();
  if (static_cast<size_t>(d.rank()) == rank) return d.rank() >= 2 && d[1] == m;
  if (static_cast<size_t>(d.rank()) == rank - 1) return d.rank() >= 1 && d[0] == m;
  return false;
}

// A constant broadcast along the last dim of a MatMul output: [N] or [1,...,1,N].
bool last_dim_bias(const HostTensor& t, int64_t n, size_t rank) {
  if (t.dtype() != DataType::kFloat32 || t.numel() != n) return false;
  const Dims& d = t.shape();
  if (d.rank() == 0 || static_cast<size_t>(d.rank()) > rank) return false;
  return d[d.rank() - 1] == n;
}

// Adds constant `bias` to input `slot` of node `id` (creating or summing into it).
void set_bias(ir::Graph& g, int id, size_t slot, const HostTensor& bias, int64_t count) {
  HostTensor b(DataType::kFloat32, Dims{count});
  ir::Node& n = g.node(id);
  if (n.inputs.size() <= slot) n.inputs.resize(slot + 1, -1);
  const HostTensor* old = n.inputs[slot] >= 0 ? &*g.value(n.inputs[slot]).constant : nullptr;
  for (int64_t i = 0; i < count; ++i) {
    b.as<float>()[i] = bias.as<float>()[i] + (old ? old->as<float>()[i] : 0.f);
  }
  std::string name = n.name + ".bias";
  int v = g.add_constant(name, std::move(b));
  g.node(id).inputs[slot] = v;
}

}  // namespace

Result<int> fuse_bias_activation(ir::Graph& g, const PassOptions& options) {
  (void)options;
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, g.topo_order());
  int fused = 0;
  for (int id : order) {
    if (g.node(id).removed) continue;
    const std::string op = g.node(id).op;
    if (op != "Conv" && op != "MatMul") continue;
    if (g.node(id).outputs.size() != 1) continue;
    // Greedily absorb successors while they match.
    for (;;) {
      ir::Node& n = g.node(id);
      if (n.attrs.has("activation")) break;  // nothing fuses after the activation
      int out = n.outputs[0];
      int next = sole_consumer(g, out);
      if (next < 0) break;
      const ir::Node& s = g.node(next);
      const ir::Value& out_v = g.value(out);
      if (out_v.dtype != DataType::kFloat32 && out_v.dtype != DataType::kFloat16 &&
          out_v.dtype != DataType::kBFloat16) {
        break;
      }
      if (s.op == "Activation") {
        n.attrs.set("activation", s.attrs.get_string("type"));
        if (s.attrs.has("alpha")) n.attrs.set("activation_alpha", s.attrs.get_float("alpha"));
        if (s.attrs.has("beta")) n.attrs.set("activation_beta", s.attrs.get_float("beta"));
        absorb_successor(g, id, next);
        ++fused;
        continue;
      }
      if (!is_sum(s)) break;
      int other = s.inputs[0] == out ? s.inputs[1] : s.inputs[0];
      const ir::Value& other_v = g.value(other);
      // The sum must not change the shape or dtype (no broadcasting of the conv output).
      if (!same_shape(g.value(s.outputs[0]).shape, out_v.shape) || other_v.dtype != out_v.dtype) break;
      if (op == "Conv") {
        int64_t m = out_v.shape.size() >= 2 && out_v.shape[1].is_const() ? out_v.shape[1].value() : -1;
        bool bias_ok = n.inputs.size() < 3 || n.inputs[2] < 0 || g.is_constant(n.inputs[2]);
        if (other_v.constant && m > 0 && bias_ok &&
            per_channel_bias(*other_v.constant, m, out_v.shape.size())) {
          HostTensor bias = *other_v.constant;
          set_bias(g, id, 2, bias, m);
          absorb_successor(g, id, next);
          ++fused;
          continue;
        }
        bool has_residual = n.inputs.size() > 3 && n.inputs[3] >= 0;
        if (!other_v.constant && !has_residual && same_shape(other_v.shape, out_v.shape)) {
          if (n.inputs.size() < 4) n.inputs.resize(4, -1);
          n.inputs[3] = other;
          absorb_successor(g, id, next);
          ++fused;
          continue;
        }
        break;
      }
      // MatMul
      int64_t cols = !out_v.shape.empty() && out_v.shape.back().is_const() ? out_v.shape.back().value() : -1;
      bool bias_ok = n.inputs.size() < 3 || n.inputs[2] < 0 || g.is_constant(n.inputs[2]);
      if (other_v.constant && cols > 0 && bias_ok &&
          last_dim_bias(*other_v.constant, cols, out_v.shape.size())) {
        HostTensor bias = *other_v.constant;
        set_bias(g, id, 2, bias, cols);
        absorb_successor(g, id, next);
        ++fused;
        continue;
      }
      break;
    }
  }
  return fused;
}

}  // namespace kiln::passes
