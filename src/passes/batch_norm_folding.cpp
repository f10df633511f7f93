// Batch-norm folding: Conv (constant weights) -> BatchNorm (constant statistics) becomes one
// Conv with scaled weights and a new bias:
//   s = scale / sqrt(var + eps);  W' = W * s[m];  B' = (B - mean) * s + bias
#include "passes/pass.h"
#include "passes/pattern.h"

#include <cmath>

namespace kiln::passes {

namespace {

bool all_constant(const ir::Graph& g, const ir::Node& n, size_t from) {
  for (size_t i = from; i < n.inputs.size(); ++i) {
    if (n.inputs[i] < 0 || !g.is_constant(n.inputs[i])) return false;
  }
  return true;
}

}  // namespace

Result<int> fold_batch_norm(ir::Graph& g, const PassOptions& options) {
  (void)options;
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, g.topo_order());
  int folded = 0;
  for (int id : order) {
    if (g.node(id).removed || g.node(id).op != "Conv") continue;
    const ir::Node& conv = g.node(id);
    if (conv.inputs.size() < 2 || !g.is_constant(conv.inputs[1])) continue;
    if (conv.attrs.has("activation")) continue;                       // BN after the activation
    if (conv.inputs.size() > 3 && conv.inputs[3] >= 0) continue;      // residual already fused
    bool has_bias = conv.inputs.size() > 2 && conv.inputs[2] >= 0;
    if (has_bias && !g.is_constant(conv.inputs[2])) continue;
    int bn_id = sole_consumer(g, conv.outputs[0]);
    if (bn_id < 0 || g.node(bn_id).op != "BatchNorm") continue;
    const ir::Node& bn = g.node(bn_id);
    if (bn.inputs.size() != 5 || bn.inputs[0] != conv.outputs[0] || !all_constant(g, bn, 1)) continue;

    const HostTensor& w = *g.value(conv.inputs[1]).constant;
    if (w.dtype() != DataType::kFloat32 || w.shape().rank() < 1) continue;
    int64_t m = w.shape()[0];
    const HostTensor* stats[4];
    bool ok = true;
    for (int k = 0; k < 4; ++k) {
      stats[k] = &*g.value(bn.inputs[1 + k]).constant;
      ok &= stats[k]->numel() == m;
    }
    if (!ok) continue;
    double eps = bn.attrs.get_float("epsilon", 1e-5);
    HostTensor new_w(DataType::kFloat32, w.shape());
    HostTensor new_b(DataType::kFloat32, Dims{m});
    int64_t per_channel = w.numel() / std::max<int64_t>(m, 1);
    for (int64_t c = 0; c < m; ++c) {
      double s = stats[0]->get_double(c) / std::sqrt(stats[3]->get_double(c) + eps);
      for (int64_t k = 0; k < per_channel; ++k) {
        new_w.as<float>()[c * per_channel + k] =
            static_cast<float>(w.as<float>()[c * per_channel + k] * s);
      }
      double b = has_bias ? g.value(conv.inputs[2]).constant->get_double(c) : 0.0;
      new_b.as<float>()[c] = static_cast<float>((b - stats[2]->get_double(c)) * s +
                                                stats[1]->get_double(c));
    }
    std::string base = g.node(id).name;
    int w_id = g.add_constant(g.value(g.node(id).inputs[1]).name + ".bn_folded", std::move(new_w));
    int b_id = g.add_constant(base + ".bias.bn_folded", std::move(new_b));
    ir::Node& c = g.node(id);
    c.inputs[1] = w_id;
    if (c.inputs.size() < 3) c.inputs.resize(3, -1);
    c.inputs[2] = b_id;
    absorb_successor(g, id, bn_id);
    ++folded;
  }
  return folded;
}

}  // namespace kiln::passes
