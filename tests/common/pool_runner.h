// Like run_cpu_tactics (op_harness.h), but passes a ThreadPool to the kernels so that their
// threaded paths run (the shared harness runs them serially).
#pragma once

#include "backends/cpu/thread_pool.h"
#include "common/op_harness.h"

namespace kiln::testing {

inline Result<std::vector<TacticRun>> run_cpu_tactics_threaded(const OpCase& c, ThreadPool* pool) {
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
    } else {
      info.opt.inputs.push_back(c.inputs[i].shape());
      in_views.push_back(c.inputs[i].view());
    }
  }
  for (int o : node.outputs) {
    KILN_ASSIGN_OR_RETURN(auto dims, ir::eval_shape(g.value(o).shape, {}));
    info.opt.outputs.emplace_back(std::span<const int64_t>(dims));
  }
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
      run.outputs.emplace_back(g.value(node.outputs[o]).dtype, info.opt.outputs[o]);
      out_views.push_back(run.outputs.back().view());
    }
    size_t ws = kernel->workspace_size(info.opt);
    HostTensor workspace(DataType::kUInt8, Dims{static_cast<int64_t>(ws)});
    ops::ExecArgs args;
    args.inputs = in_views;
    args.outputs = out_views;
    args.workspace = ws ? workspace.data() : nullptr;
    args.workspace_size = ws;
    args.threads = pool;
    KILN_RETURN_IF_ERROR(kernel->execute(args).with_context(run.tactic));
    runs.push_back(std::move(run));
  }
  if (runs.empty()) return unsupported("no CPU tactic supports this case of " + c.op);
  return runs;
}

// Tactic ids of the runs, for asserting which tactics ran.
inline std::vector<std::string> tactic_names(const std::vector<TacticRun>& runs) {
  std::vector<std::string> names;
  for (const auto& r : runs) names.push_back(r.tactic);
  return names;
}

}  // namespace kiln::testing
