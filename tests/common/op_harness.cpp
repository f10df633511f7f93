#include "common/op_harness.h"

#include <cmath>
#include <sstream>

namespace kiln::testing {

Result<ir::Graph> make_graph(const OpCase& c) {
  ir::Graph g;
  std::vector<int> ins;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const HostTensor& t = c.inputs[i];
    if (t.empty() && t.shape().rank() == 0 && t.nbytes() == 0 && t.data() == nullptr) {
      ins.push_back(-1);
      continue;
    }
    bool is_const = i < c.constant.size() && c.constant[i];
    std::string name = "in" + std::to_string(i);
    ins.push_back(is_const ? g.add_constant(name, t) : g.add_input(name, t.dtype(), t.shape()));
  }
  int node = g.add_node(c.op, "node", ins, c.num_outputs, c.attrs);
  KILN_RETURN_IF_ERROR(g.infer_node(node));
  for (int o : g.node(node).outputs) g.mark_output(o);
  return g;
}

Result<std::vector<TacticRun>> run_cpu_tactics(const OpCase& c) {
  KILN_ASSIGN_OR_RETURN(ir::Graph g, make_graph(c));
  const ir::Node& node = g.node(0);
  const ops::OpDef* def = ops::find_op(c.op);
  if (def == nullptr) return not_found("no op " + c.op);

  ops::KernelInfo info;
  info.graph = &g;
  info.node = &node;
  std::vector<TensorView> in_views;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (node.inputs[i] < 0) {
      info.opt.inputs.push_back(Dims{});
      in_views.push_back(TensorView{});
      continue;
    }
    info.opt.inputs.push_back(c.inputs[i].shape());
    in_views.push_back(c.inputs[i].view());
  }
  std::vector<Dims> out_dims;
  for (int o : node.outputs) {
    KILN_ASSIGN_OR_RETURN(auto dims, ir::eval_shape(g.value(o).shape, {}));
    out_dims.emplace_back(std::span<const int64_t>(dims));
  }
  info.opt.outputs = out_dims;
  info.min = info.opt;
  info.max = info.opt;

  std::vector<TacticRun> runs;
  for (const ops::TacticDef& t : def->cpu_tactics) {
    if (!t.supports(info)) continue;
    KILN_ASSIGN_OR_RETURN(auto kernel, t.create(info));
    TacticRun run;
    run.tactic = ops::tactic_id(c.op, t);
    std::vector<TensorView> out_views;
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      run.outputs.emplace_back(g.value(node.outputs[o]).dtype, out_dims[o]);
      out_views.push_back(run.outputs.back().view());
    }
    size_t ws = kernel->workspace_size(info.opt);
    HostTensor workspace(DataType::kUInt8, Dims{static_cast<int64_t>(ws)});
    ops::ExecArgs args;
    args.inputs = in_views;
    args.outputs = out_views;
    args.workspace = ws ? workspace.data() : nullptr;
    args.workspace_size = ws;
    KILN_RETURN_IF_ERROR(kernel->execute(args).with_context(run.tactic));
    runs.push_back(std::move(run));
  }
  if (runs.empty()) return unsupported("no CPU tactic supports this case of " + c.op);
  return runs;
}

HostTensor random_tensor(DataType dtype, Dims shape, std::mt19937& rng, double lo, double hi) {
  HostTensor t(dtype, shape);
  std::uniform_real_distribution<double> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = dist(rng);
    if (is_integer(dtype)) v = std::round(v);
    if (dtype == DataType::kBool) v = v > 0 ? 1 : 0;
    store_from_double(t.data(), dtype, i, v);
  }
  return t;
}

HostTensor make_tensor(DataType dtype, Dims shape, const std::vector<double>& values) {
  HostTensor t(dtype, shape);
  for (int64_t i = 0; i < t.numel() && i < static_cast<int64_t>(values.size()); ++i) {
    store_from_double(t.data(), dtype, i, values[i]);
  }
  return t;
}

::testing::AssertionResult all_close(const HostTensor& got, const HostTensor& want, double atol,
                                     double rtol) {
  if (!(got.shape() == want.shape())) {
    return ::testing::AssertionFailure()
           << "shape " << got.shape().to_string() << " != expected " << want.shape().to_string();
  }
  if (got.dtype() != want.dtype()) {
    return ::testing::AssertionFailure() << "dtype " << dtype_name(got.dtype()) << " != expected "
                                         << dtype_name(want.dtype());
  }
  std::ostringstream misses;
  int64_t bad = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = got.get_double(i), w = want.get_double(i);
    bool ok = (std::isnan(g) && std::isnan(w)) || (std::isinf(w) && g == w) ||
              std::fabs(g - w) <= atol + rtol * std::fabs(w);
    if (!ok) {
      if (bad < 5) misses << " [" << i << "] got " << g << " want " << w << ";";
      ++bad;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << got.numel() << " elements differ:"
                                       << misses.str();
}

}  // namespace kiln::testing
