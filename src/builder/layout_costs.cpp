#include "builder/layout_costs.h"

#include "builder/build.h"
#include "ir/shape_eval.h"
#include "ops/common/layout.h"

#include <algorithm>
#include <cmath>

namespace kiln::builder {

namespace {

// Whether some enabled tactic implements the node (no timing).
bool any_tactic(const BuildConfig& config, const ops::KernelInfo& info) {
  const ops::OpDef* def = ops::find_op(info.node->op);
  if (def == nullptr) return false;
  std::span<const ops::TacticDef> all =
      info.backend == Backend::kCpu ? def->cpu_tactics : ops::cuda_tactics(info.node->op);
  return std::any_of(all.begin(), all.end(), [&](const ops::TacticDef& t) {
    return (config.tactic_sources & static_cast<uint32_t>(t.source)) != 0 && t.supports(info);
  });
}

int64_t bytes_of(const ir::Graph& g, int value, const Dims& d) {
  return d.volume() * static_cast<int64_t>(dtype_size(g.value(value).dtype));
}

// The untimed model, in milliseconds of an idealized GPU: reformats and pooling move their bytes
// at 1 TB/s; convolutions run at a rate that depends on the layout only for 16-bit types, whose
// tensor-core kernels want NHWC (float32 convs cost the same in both layouts, so they stay NCHW).
// LayoutPolicy::kNhwc instead prices every NHWC layer at 0 and every NCHW one at 1 (reformats at
// their bytes, far below 1), so every layer that can run NHWC does.
double model_time(const ops::KernelInfo& info, LayoutPolicy policy) {
  const ir::Node& n = *info.node;
  const ir::Graph& g = *info.graph;
  const bool last = ops::channels_last(n.attrs);
  if (n.op == "Transpose") {
    return 2.0 * static_cast<double>(bytes_of(g, n.inputs[0], info.opt.inputs[0])) * 1e-9;
  }
  if (policy == LayoutPolicy::kNhwc) return last ? 0.0 : 1.0;
  const double out_bytes = static_cast<double>(bytes_of(g, n.outputs[0], info.opt.outputs[0]));
  if (n.op == "Conv") {
    const Dims& w = info.opt.inputs[1];
    const double macs = static_cast<double>(info.opt.outputs[0].volume()) *
                        static_cast<double>(w.volume() / std::max<int64_t>(w[0], 1));
    const DataType dt = g.value(n.inputs[0]).dtype;
    const bool half = dt == DataType::kFloat16 || dt == DataType::kBFloat16;
    const double tflops = half ? (last ? 400.0 : 200.0) : 50.0;
    return 2.0 * macs / (tflops * 1e9) + out_bytes * 1e-9;
  }
  return 2.0 * out_bytes * 1e-9;
}

}  // namespace

Result<double> TunedLayoutCosts::node_time(const ir::Graph& graph, int node) {
  const ir::Node& n = graph.node(node);
  const bool timed = config_.optimization_level > 0 && config_.layouts == LayoutPolicy::kAuto;
  double total = 0;
  for (size_t profile = 0; profile < profiles_.size(); ++profile) {
    const ProfileSymbols& p = profiles_[profile];
    const std::vector<int64_t>* corners[3] = {&p.min, &p.opt, &p.max};
    std::vector<Dims> shapes[3];
    for (int c = 0; c < 3; ++c) {
      KILN_ASSIGN_OR_RETURN(shapes[c], ir::eval_all_shapes(graph, *corners[c]));
    }
    ops::KernelInfo info = kernel_info_at(graph, n, config_, shapes, p.opt);
    if (!timed) {
      if (!any_tactic(config_, info)) {
        return unsupported("no tactic").with_context(graph.describe_node(node));
      }
      total += model_time(info, config_.layouts);
      continue;
    }
    KILN_ASSIGN_OR_RETURN(tuner::TuneResult r, tuner_.tune(info, static_cast<int>(profile)));
    double best = INFINITY;
    for (const TacticCandidate& c : r.candidates) {
      if (c.timed()) best = std::min(best, c.time_ms);
    }
    if (!std::isfinite(best)) return unsupported("no timed tactic");
    total += best;
  }
  return total;
}

}  // namespace kiln::builder
