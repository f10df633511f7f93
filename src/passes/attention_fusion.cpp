// Attention fusion: MatMul(Q, Kᵀ) -> Softmax(scale, Mask, nan_to_zero) -> MatMul(P, V) becomes
// one Attention node (run softmax_fusion first: it folds the scale, the additive mask and the
// NaN guard into the Softmax). The head split / merge around it is read through, so the kernel
// addresses the projections' outputs directly and the Reshape / Transpose copies disappear:
//   Q, V   Transpose(X4, [0,2,1,3])                         -> layout "bshd" on X4 [B, S, H, D]
//   Kᵀ     any chain of Transposes equivalent to X4 permuted by [0,2,3,1] (TorchScript:
//          Transpose(X4, [0,2,3,1]); torch.export: Transpose [0,2,1,3], Reshape [B*H, S, D],
//          Transpose [0,2,1], Reshape [B, H, D, S])         -> "bshd" on X4
//   X4     Reshape(X3 [B, S, H*D], [B, S, H, D]), H known   -> "bsd" on X3 (num_heads = H)
//   Y      Transpose(Y, [0,2,1,3]) -> [B, S, H, Dv], then Reshape to [B, S, H*Dv]
//                                                           -> "bshd" / "bsd"
// Anything else keeps the heads-major layout ("bhsd"; Kᵀ as "bhds"). The MatMuls must have no
// bias, activation or transpose of A; P and the scores must have no other users.
#include "passes/pass.h"
#include "passes/pattern.h"

#include <algorithm>
#include <array>
#include <string>

namespace kiln::passes {

namespace {

using Perm = std::array<int64_t, 4>;
constexpr Perm kIdentity = {0, 1, 2, 3};

// value == Transpose(base, perm) with base of rank 4 (base == value, identity, when nothing is
// traced).
struct View {
  int base = -1;
  Perm perm = kIdentity;
};

const ir::SymShape& shape_of(const ir::Graph& g, int v) {
  return g.value(v).shape;
}

bool transpose_perm(const ir::Graph& g, int node, size_t rank, std::vector<int64_t>* perm) {
  const ir::Node& n = g.node(node);
  if (n.op != "Transpose" || n.inputs.size() != 1) return false;
  *perm = n.attrs.get_ints("perm");
  if (perm->empty()) {
    for (size_t i = 0; i < rank; ++i) perm->push_back(static_cast<int64_t>(rank - 1 - i));
  }
  return perm->size() == rank;
}

// Follows Transposes (and the torch.export merge/split detour) back from `v`.
View trace(const ir::Graph& g, int v) {
  View view;
  if (shape_of(g, v).size() != 4) return view;
  view.base = v;
  for (int guard = 0; guard < 8; ++guard) {
    const int p = producer_of(g, view.base);
    if (p < 0) break;
    std::vector<int64_t> q;
    if (transpose_perm(g, p, 4, &q)) {
      Perm c;
      for (int i = 0; i < 4; ++i) c[i] = q[view.perm[i]];
      view.perm = c;
      view.base = g.node(p).inputs[0];
      continue;
    }
    // Reshape([z0, z1, ...]) of Transpose([0, a, b]) of Reshape([z0*z1, z2, z3]) of z (rank 4).
    if (g.node(p).op != "Reshape") break;
    const int u = g.node(p).inputs[0];
    const int un = producer_of(g, u);
    std::vector<int64_t> p3;
    if (un < 0 || shape_of(g, u).size() != 3 || !transpose_perm(g, un, 3, &p3) || p3[0] != 0) {
      break;
    }
    const int w = g.node(un).inputs[0];
    const int wn = producer_of(g, w);
    if (wn < 0 || g.node(wn).op != "Reshape" || shape_of(g, w).size() != 3) break;
    const int z = g.node(wn).inputs[0];
    const ir::SymShape& zs = shape_of(g, z);
    const ir::SymShape& ws = shape_of(g, w);
    const ir::SymShape& us = shape_of(g, u);
    const ir::SymShape& bs = shape_of(g, view.base);
    if (zs.size() != 4 || !same_dim(ws[1], zs[2]) || !same_dim(ws[2], zs[3]) ||
        !same_dim(bs[0], zs[0]) || !same_dim(bs[1], zs[1]) || !same_dim(bs[2], us[1]) ||
        !same_dim(bs[3], us[2])) {
      break;
    }
    const Perm q4 = {0, 1, 1 + p3[1], 1 + p3[2]};
    Perm c;
    for (int i = 0; i < 4; ++i) c[i] = q4[view.perm[i]];
    view.perm = c;
    view.base = z;
  }
  return view;
}

// X4 = Reshape(X3 [B, S, H*D]) with X4 [B, S, H, D] and H constant: X3, else -1.
int unsplit_heads(const ir::Graph& g, int x4, int64_t* heads) {
  const int p = producer_of(g, x4);
  if (p < 0 || g.node(p).op != "Reshape") return -1;
  const int x3 = g.node(p).inputs[0];
  const ir::SymShape& s3 = shape_of(g, x3);
  const ir::SymShape& s4 = shape_of(g, x4);
  if (s3.size() != 3 || s4.size() != 4 || !same_dim(s3[0], s4[0]) || !same_dim(s3[1], s4[1]) ||
      !canonical_dim(s4[2]).is_const() || canonical_dim(s4[2]).value() < 1) {
    return -1;
  }
  *heads = canonical_dim(s4[2]).value();
  return x3;
}

bool plain_matmul(const ir::Node& n) {
  return n.op == "MatMul" && n.inputs.size() == 2 && !n.attrs.has("activation") &&
         n.attrs.get_int("transpose_a", 0) == 0;
}

struct Operand {
  int value = -1;
  std::string layout = "bhsd";
  int64_t heads = 0;  // > 0 for "bsd"
  int split = -1;     // for "bsd": the [B, S, H, D] tensor (layout "bshd")
};

// A [B, S, H, D] tensor in layout bshd, or its unsplit [B, S, H*D] source in bsd.
Operand packed_operand(const ir::Graph& g, int x4) {
  Operand o{x4, "bshd", 0, -1};
  int64_t heads = 0;
  const int x3 = unsplit_heads(g, x4, &heads);
  if (x3 >= 0) o = Operand{x3, "bsd", heads, x4};
  return o;
}

}  // namespace

Result<int> fuse_attention(ir::Graph& g, const PassOptions& options) {
  (void)options;
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, g.topo_order());
  int fused = 0;
  for (int sm : order) {
    if (g.node(sm).removed || g.node(sm).op != "Softmax") continue;
    if (g.node(sm).attrs.get_int("log", 0) != 0) continue;
    const int scores = g.node(sm).inputs[0];
    const int rank = static_cast<int>(shape_of(g, scores).size());
    int64_t axis = g.node(sm).attrs.get_int("axis", -1);
    if (axis < 0) axis += rank;
    if (rank < 2 || axis != rank - 1) continue;
    const int mm1 = producer_of(g, scores);
    if (mm1 < 0 || !plain_matmul(g.node(mm1)) || sole_consumer(g, scores) != sm) continue;
    const int probs = g.node(sm).outputs[0];
    const int mm2 = sole_consumer(g, probs);
    if (mm2 < 0 || !plain_matmul(g.node(mm2)) || g.node(mm2).inputs[0] != probs ||
        g.node(mm2).attrs.get_int("transpose_b", 0) != 0) {
      continue;
    }
    const int q = g.node(mm1).inputs[0];
    const int kx = g.node(mm1).inputs[1];
    const bool k_plain = g.node(mm1).attrs.get_int("transpose_b", 0) != 0;  // kx is K, not Kᵀ
    const int v = g.node(mm2).inputs[1];
    const int y = g.node(mm2).outputs[0];
    // Same rank and the same batch dims everywhere (no MatMul batch broadcasting).
    bool same_lead = shape_of(g, q).size() == static_cast<size_t>(rank) &&
                     shape_of(g, kx).size() == static_cast<size_t>(rank) &&
                     shape_of(g, v).size() == static_cast<size_t>(rank);
    for (int i = 0; same_lead && i < rank - 2; ++i) {
      same_lead = same_dim(shape_of(g, kx)[i], shape_of(g, q)[i]) &&
                  same_dim(shape_of(g, v)[i], shape_of(g, q)[i]);
    }
    const DataType dt = g.value(q).dtype;
    if (!same_lead || !is_floating(dt) || g.value(kx).dtype != dt || g.value(v).dtype != dt) {
      continue;
    }

    Operand oq{q, "bhsd", 0, -1}, ok{kx, k_plain ? "bhsd" : "bhds", 0, -1}, ov{v, "bhsd", 0, -1};
    int y_value = y;
    std::string y_layout = "bhsd";
    std::vector<int> y_nodes;
    if (rank == 4) {
      const View vq = trace(g, q), vk = trace(g, kx), vv = trace(g, v);
      if (vq.perm == Perm{0, 2, 1, 3}) oq = packed_operand(g, vq.base);
      if (vv.perm == Perm{0, 2, 1, 3}) ov = packed_operand(g, vv.base);
      if (vk.perm == (k_plain ? Perm{0, 2, 1, 3} : Perm{0, 2, 3, 1})) {
        ok = packed_operand(g, vk.base);
      } else if (!k_plain && vk.perm == Perm{0, 1, 3, 2}) {
        ok = Operand{vk.base, "bhsd", 0, -1};
      }
      // Output: Transpose [0,2,1,3] (then Reshape to [B, S, H*Dv]) consuming Y alone.
      const int t = sole_consumer(g, y);
      std::vector<int64_t> perm;
      if (t >= 0 && transpose_perm(g, t, 4, &perm) && perm == std::vector<int64_t>{0, 2, 1, 3}) {
        y_value = g.node(t).outputs[0];
        y_layout = "bshd";
        y_nodes.push_back(t);
        const int r = sole_consumer(g, y_value);
        const ir::SymShape& y4 = shape_of(g, y_value);
        if (r >= 0 && g.node(r).op == "Reshape") {
          const ir::SymShape& y3 = shape_of(g, g.node(r).outputs[0]);
          if (y3.size() == 3 && same_dim(y3[0], y4[0]) && same_dim(y3[1], y4[1]) &&
              canonical_dim(y4[2]).is_const()) {
            y_value = g.node(r).outputs[0];
            y_layout = "bsd";
            y_nodes.push_back(r);
          }
        }
      }
      // One num_heads for every "bsd" tensor (Y's first): others keep their split form.
      int64_t heads = y_layout == "bsd"
                          ? canonical_dim(shape_of(g, g.node(y_nodes[0]).outputs[0])[2]).value()
                          : 0;
      for (Operand* o : {&oq, &ok, &ov}) {
        if (o->layout != "bsd") continue;
        if (heads == 0) heads = o->heads;
        if (o->heads != heads) *o = Operand{o->split, "bshd", 0, -1};
      }
    }

    ir::Attrs a;
    a.set("q_layout", oq.layout);
    a.set("k_layout", ok.layout);
    a.set("v_layout", ov.layout);
    a.set("y_layout", y_layout);
    int64_t heads = y_layout == "bsd"
                        ? canonical_dim(shape_of(g, g.node(y_nodes[0]).outputs[0])[2]).value()
                        : 0;
    for (const Operand* o : {&oq, &ok, &ov}) heads = std::max(heads, o->heads);
    if (heads > 0) a.set("num_heads", heads);
    a.set("scale", g.node(sm).attrs.get_float("scale", 1.0));
    if (g.node(sm).attrs.get_int("nan_to_zero", 0) != 0) a.set("nan_to_zero", int64_t{1});
    if (g.node(sm).attrs.has("mask_fill"))
      a.set("mask_fill", g.node(sm).attrs.get_float("mask_fill"));
    std::vector<int> inputs = {oq.value, ok.value, ov.value};
    if (g.node(sm).inputs.size() > 1 && g.node(sm).inputs[1] >= 0) {
      inputs.push_back(g.node(sm).inputs[1]);
    }
    // Build the node, check that it reproduces the output exactly, then swap it in.
    const int attn = g.add_node("Attention", g.node(mm1).name, inputs, 1, a);
    Status s = g.infer_node(attn);
    const int out = g.node(attn).outputs[0];
    // The output must be y_value's shape: dim by dim, except the last one of a "bsd" Y, which
    // the Reshape computed from the volume (H * Dv whenever the first two dims agree).
    bool match = s.is_ok() && g.value(out).dtype == g.value(y_value).dtype &&
                 shape_of(g, out).size() == shape_of(g, y_value).size();
    for (size_t i = 0; match && i < shape_of(g, out).size(); ++i) {
      const bool packed_last = y_layout == "bsd" && i == 2;
      match = packed_last || same_dim(shape_of(g, out)[i], shape_of(g, y_value)[i]);
    }
    if (!match) {
      if (options.logger) {
        options.logger->log(Severity::kVerbose,
                            "attention fusion: skipped at " + g.describe_node(mm1) + ": " +
                                (s.is_ok() ? std::string("shape mismatch") : s.message()));
      }
      g.node(attn).removed = true;
      continue;
    }
    // The Attention node produces y_value itself (keeps its name for users and outputs).
    g.value(y_value).producer = attn;
    g.node(attn).outputs[0] = y_value;
    g.value(out).producer = -1;
    std::vector<int> absorbed = {sm, mm2};
    absorbed.insert(absorbed.end(), y_nodes.begin(), y_nodes.end());
    for (int n : absorbed) {
      g.node(attn).fused.push_back(g.node(n).name);
      for (const std::string& f : g.node(n).fused) g.node(attn).fused.push_back(f);
      g.node(n).removed = true;
    }
    for (const std::string& f : g.node(mm1).fused) g.node(attn).fused.push_back(f);
    g.node(mm1).removed = true;
    ++fused;
  }
  return fused;
}

}  // namespace kiln::passes
