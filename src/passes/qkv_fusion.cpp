// QKV fusion: the Q, K and V projections of an Attention node ("bsd" layouts) are three GEMMs
// on the same input; they become one GEMM with the three weight matrices side by side (and the
// biases concatenated), whose [B, S, 3*H*D] output the Attention reads as qkv_packed. One
// launch instead of three, and a GEMM three times wider (better use of the GPU at small batch).
// Runs after attention fusion. The projections must be MatMuls with constant weights of one
// shape and dtype, the same input and transposes, optional constant biases, no activation, and
// outputs used by the Attention alone. The merged weights are new constants (as bias folding's).
// Models that already compute Q, K and V with one GEMM and Split its output into three equal
// parts along the last axis (GPT-2's c_attn) get the Split read through the same way.
#include "backends/cpu/thread_pool.h"
#include "passes/pass.h"
#include "passes/pattern.h"

#include <algorithm>
#include <cstring>

namespace kiln::passes {

namespace {

// Concatenates constants along `axis` (rank 2 weights or rank 1 biases of one dtype); rows in
// parallel on `threads` (BERT-base: 85 MB of float32 weights).
HostTensor concat(const std::vector<const HostTensor*>& parts, int axis, ThreadPool* threads) {
  const Dims& d0 = parts[0]->shape();
  std::vector<int64_t> dims(d0.begin(), d0.end());
  dims[axis] = 0;
  for (const HostTensor* t : parts) dims[axis] += t->shape()[axis];
  // Every byte is written below.
  HostTensor out =
      HostTensor::uninitialized(parts[0]->dtype(), Dims(std::span<const int64_t>(dims)));
  const size_t es = dtype_size(out.dtype());
  // Rows of the outer dims (before axis) stay; each part contributes its block per row.
  int64_t outer = 1;
  for (int i = 0; i < axis; ++i) outer *= dims[i];
  outer = std::max<int64_t>(outer, 1);
  const size_t row_bytes = out.nbytes() / static_cast<size_t>(outer);
  char* base = static_cast<char*>(out.data());
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 18) / std::max<size_t>(row_bytes, 1));
  parallel_for(threads, outer, grain, [&](int64_t r0, int64_t r1) {
    char* dst = base + static_cast<size_t>(r0) * row_bytes;
    for (int64_t r = r0; r < r1; ++r) {
      for (const HostTensor* t : parts) {
        const size_t block = static_cast<size_t>(t->numel() / outer) * es;
        std::memcpy(dst, static_cast<const char*>(t->data()) + r * block, block);
        dst += block;
      }
    }
  });
  return out;
}

// A bias of N elements: the constant (expanded from [1]) or zeros when absent.
HostTensor bias_of(const ir::Graph& g, const ir::Node& mm, int64_t n, DataType dt) {
  HostTensor b(dt, Dims{n});
  if (mm.inputs.size() > 2 && mm.inputs[2] >= 0) {
    const HostTensor& c = *g.value(mm.inputs[2]).constant;
    for (int64_t i = 0; i < n; ++i) {
      store_from_double(b.data(), dt, i, c.get_double(c.numel() == 1 ? 0 : i));
    }
  }
  return b;
}

// Points the Attention at the input of a Split whose outputs 0, 1, 2 are its Q, K and V (equal
// thirds of the last axis, used by the Attention alone); true if done.
bool try_split(ir::Graph& g, int at, int sp) {
  const ir::Node& split = g.node(sp);
  const ir::Node& a = g.node(at);
  if (split.outputs.size() != 3) return false;
  for (int i = 0; i < 3; ++i) {
    if (split.outputs[i] != a.inputs[i] || sole_consumer(g, split.outputs[i]) != at) return false;
  }
  const int x = split.inputs[0];
  const ir::SymShape& xs = g.value(x).shape;
  int64_t axis = split.attrs.get_int("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(xs.size());
  if (xs.size() != 3 || axis != 2 || !xs[2].is_const() || xs[2].value() % 3 != 0) return false;
  for (int i = 0; i < 3; ++i) {
    const ir::SymShape& os = g.value(split.outputs[i]).shape;
    if (os.size() != 3 || !os[2].is_const() || os[2].value() * 3 != xs[2].value()) return false;
  }
  ir::Node& an = g.node(at);
  const std::vector<int> old_inputs = an.inputs;
  const ir::Attrs old_attrs = an.attrs;
  const ir::SymShape old_shape = g.value(an.outputs[0]).shape;
  an.inputs[0] = an.inputs[1] = an.inputs[2] = x;
  an.attrs.set("qkv_packed", int64_t{1});
  if (!g.infer_node(at).is_ok() ||
      !same_sym_shape(g.value(g.node(at).outputs[0]).shape, old_shape)) {
    g.node(at).inputs = old_inputs;
    g.node(at).attrs = old_attrs;
    (void)g.infer_node(at);
    return false;
  }
  g.node(at).fused.push_back(g.node(sp).name);
  g.node(sp).removed = true;
  return true;
}

}  // namespace

Result<int> fuse_qkv(ir::Graph& g, const PassOptions& options) {
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, g.topo_order());
  int fused = 0;
  for (int at : order) {
    const ir::Node& a = g.node(at);
    if (a.removed || a.op != "Attention" || a.attrs.get_int("qkv_packed", 0) != 0) continue;
    if (a.attrs.get_string("q_layout") != "bsd" || a.attrs.get_string("k_layout") != "bsd" ||
        a.attrs.get_string("v_layout") != "bsd" || a.inputs.size() < 3) {
      continue;
    }
    const int xq = a.inputs[0], xk = a.inputs[1], xv = a.inputs[2];
    if (xq == xk || xq == xv || xk == xv) continue;
    const int sp = producer_of(g, xq);
    if (sp >= 0 && g.node(sp).op == "Split" && try_split(g, at, sp)) {
      ++fused;
      continue;
    }
    int mm[3];
    bool ok = true;
    for (int i = 0; i < 3 && ok; ++i) {
      mm[i] = producer_of(g, a.inputs[i]);
      ok = mm[i] >= 0 && g.node(mm[i]).op == "MatMul" && sole_consumer(g, a.inputs[i]) == at;
    }
    if (!ok) continue;
    const ir::Node& m0 = g.node(mm[0]);
    const int input = m0.inputs[0];
    const int64_t tb = m0.attrs.get_int("transpose_b", 0);
    for (int i = 0; i < 3 && ok; ++i) {
      const ir::Node& m = g.node(mm[i]);
      ok = m.inputs[0] == input && m.inputs.size() >= 2 && g.is_constant(m.inputs[1]) &&
           !m.attrs.has("activation") && m.attrs.get_int("transpose_a", 0) == 0 &&
           m.attrs.get_int("transpose_b", 0) == tb &&
           (m.inputs.size() < 3 || m.inputs[2] < 0 || g.is_constant(m.inputs[2]));
      if (!ok) break;
      const HostTensor& w = *g.value(m.inputs[1]).constant;
      const HostTensor& w0 = *g.value(m0.inputs[1]).constant;
      ok = w.shape().rank() == 2 && w.shape() == w0.shape() && w.dtype() == w0.dtype() &&
           g.value(m.outputs[0]).dtype == g.value(m0.outputs[0]).dtype;
    }
    if (!ok) continue;
    const HostTensor& w0 = *g.value(m0.inputs[1]).constant;
    const int64_t n = tb ? w0.shape()[0] : w0.shape()[1];
    std::vector<const HostTensor*> ws;
    for (int i = 0; i < 3; ++i) ws.push_back(&*g.value(g.node(mm[i]).inputs[1]).constant);
    HostTensor weights = concat(ws, tb ? 0 : 1, options.threads);
    bool any_bias = false;
    for (int i = 0; i < 3; ++i) {
      const ir::Node& m = g.node(mm[i]);
      any_bias |= m.inputs.size() > 2 && m.inputs[2] >= 0;
    }
    std::vector<int> inputs = {input, g.add_constant(m0.name + ".qkv_weights", std::move(weights))};
    if (any_bias) {
      std::vector<HostTensor> bs;
      for (int i = 0; i < 3; ++i) bs.push_back(bias_of(g, g.node(mm[i]), n, w0.dtype()));
      inputs.push_back(
          g.add_constant(m0.name + ".qkv_bias", concat({&bs[0], &bs[1], &bs[2]}, 0, nullptr)));
    }
    const int merged = g.add_node("MatMul", g.node(mm[0]).name, inputs, 1, g.node(mm[0]).attrs);
    const Status s = g.infer_node(merged);
    const int packed = g.node(merged).outputs[0];
    // Point the Attention at the packed tensor; keep it only if its output is unchanged.
    ir::Node& an = g.node(at);
    const std::vector<int> old_inputs = an.inputs;
    const ir::Attrs old_attrs = an.attrs;
    const ir::SymShape old_shape = g.value(an.outputs[0]).shape;
    an.inputs[0] = an.inputs[1] = an.inputs[2] = packed;
    an.attrs.set("qkv_packed", int64_t{1});
    const Status sa = s.is_ok() ? g.infer_node(at) : s;
    if (!sa.is_ok() || !same_sym_shape(g.value(g.node(at).outputs[0]).shape, old_shape)) {
      ir::Node& back = g.node(at);
      back.inputs = old_inputs;
      back.attrs = old_attrs;
      KILN_RETURN_IF_ERROR(g.infer_node(at));
      g.node(merged).removed = true;
      continue;
    }
    for (int i = 0; i < 3; ++i) {
      g.node(merged).fused.push_back(g.node(mm[i]).name);
      g.node(mm[i]).removed = true;
    }
    ++fused;
  }
  return fused;
}

}  // namespace kiln::passes
