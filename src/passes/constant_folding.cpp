// Constant folding: a node whose inputs are all constants is evaluated once at build time with
// its reference kernel; its outputs become constants. Shape tensors whose symbolic content is
// fully static become int64 constants too.
#include "ops/op.h"
#include "passes/pass.h"

namespace kiln::passes {

namespace {

bool all_inputs_constant(const ir::Graph& g, const ir::Node& n) {
  for (int in : n.inputs) {
    if (in >= 0 && !g.is_constant(in)) return false;
  }
  return true;
}

bool static_shape_value(const ir::Value& v) {
  if (!v.shape_value || !ir::is_static(v.shape)) return false;
  for (const auto& e : *v.shape_value) {
    if (!e.is_const()) return false;
  }
  return true;
}

}  // namespace

Result<int> fold_constants(ir::Graph& g, const PassOptions& options) {
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, g.topo_order());
  int folded = 0;
  for (int id : order) {
    ir::Node& n = g.node(id);
    bool outputs_static_shape_values = true;
    for (int o : n.outputs) outputs_static_shape_values &= static_shape_value(g.value(o));

    if (outputs_static_shape_values) {
      for (int o : n.outputs) {
        ir::Value& v = g.value(o);
        KILN_ASSIGN_OR_RETURN(auto dims, ir::eval_shape(v.shape, {}));
        HostTensor t(v.dtype, Dims(std::span<const int64_t>(dims)));
        for (int64_t i = 0; i < t.numel(); ++i) {
          store_from_double(t.data(), v.dtype, i,
                            static_cast<double>((*v.shape_value)[i].value()));
        }
        v.constant = std::move(t);
        v.producer = -1;
      }
      n.removed = true;
      ++folded;
      continue;
    }
    if (!all_inputs_constant(g, n)) continue;
    // Outputs must have static shapes (they do when every input is constant, unless the op's
    // output depends on data in a way shape inference could not express).
    std::vector<Dims> out_dims;
    int64_t bytes = 0;
    bool ok = true;
    for (int o : n.outputs) {
      const ir::Value& v = g.value(o);
      if (!ir::is_static(v.shape)) {
        ok = false;
        break;
      }
      auto dims = ir::eval_shape(v.shape, {});
      if (!dims.is_ok()) return dims.status().with_context(g.describe_node(id));
      out_dims.emplace_back(std::span<const int64_t>(*dims));
      // Volume() saturates on overflow; a damaged model may claim any extents.
      const int64_t n_elems = out_dims.back().volume();
      const int64_t esize = static_cast<int64_t>(dtype_size(v.dtype));
      if (n_elems < 0 || n_elems > options.max_folded_bytes / esize) {
        ok = false;
        break;
      }
      bytes += n_elems * esize;
    }
    if (!ok || bytes > options.max_folded_bytes) continue;
    std::vector<TensorView> ins;
    for (int in : n.inputs) {
      ins.push_back(in >= 0 ? g.value(in).constant->view() : TensorView{});
    }
    std::vector<HostTensor> results;
    std::vector<TensorView> outs;
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      results.emplace_back(g.value(n.outputs[i]).dtype, out_dims[i]);
      outs.push_back(results.back().view());
    }
    Status s = ops::run_reference(g, n, ins, outs);
    if (s.code() == StatusCode::kUnsupported) continue;  // leave it to the runtime
    KILN_RETURN_IF_ERROR(s);
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      ir::Value& v = g.value(n.outputs[i]);
      v.constant = std::move(results[i]);
      v.producer = -1;
    }
    n.removed = true;
    ++folded;
  }
  return folded;
}

}  // namespace kiln::passes
