#include "ops/common/channel_norm.h"

#include <string>

namespace kiln::ops {

Status infer_channel_norm(InferContext& ctx, const char* op, std::span<const char* const> params,
                          bool channels_last) {
  DataType dt = ctx.input_dtype(0);
  if (!is_floating(dt)) {
    return ctx.error(std::string(op) + " needs a floating-point X, got " +
                     std::string(dtype_name(dt)));
  }
  if (ctx.input_rank(0) < 2) {
    return ctx.error(std::string(op) + " needs X of rank >= 2 (" +
                     (channels_last ? "[N, ..., C]" : "[N, C, ...]") + "), got rank " +
                     std::to_string(ctx.input_rank(0)));
  }
  const ir::SymExpr& C = ctx.input_shape(0)[channels_last ? ctx.input_rank(0) - 1 : 1];
  for (int i = 1; i <= static_cast<int>(params.size()); ++i) {
    const ir::SymShape& p = ctx.input_shape(i);
    bool ok = p.size() == 1 &&
              (p[0].same_as(C) || !p[0].is_const() || !C.is_const() || p[0].value() == C.value());
    if (!ok) {
      return ctx.error(std::string(params[i - 1]) + " must have shape [C] = [" + C.to_string() +
                       "], got " + ir::shape_to_string(p));
    }
    if (!is_floating(ctx.input_dtype(i))) {
      return ctx.error(std::string(params[i - 1]) + " must be a float tensor, got " +
                       std::string(dtype_name(ctx.input_dtype(i))));
    }
  }
  double eps = ctx.attrs().get_float("epsilon", 1e-5);
  if (!(eps >= 0)) return ctx.error("epsilon must be >= 0, got " + std::to_string(eps));
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = ctx.input_shape(0);
  return Status::ok();
}

Result<NcsGeometry> ncs_geometry(const ExecArgs& args, const char* prefix,
                                 std::span<const char* const> labels, bool channels_last) {
  NcsGeometry g;
  const Dims& x = args.inputs[0].shape;
  g.N = x[0];
  g.channels_last = channels_last;
  g.C = x[channels_last ? x.rank() - 1 : 1];
  for (int i = channels_last ? 1 : 2; i < (channels_last ? x.rank() - 1 : x.rank()); ++i) {
    g.S *= x[i];
  }
  for (int i = 1; i <= static_cast<int>(labels.size()); ++i) {
    if (args.inputs[i].numel() != g.C) {
      return invalid_argument(std::string(prefix) + labels[i - 1] + " has shape " +
                              args.inputs[i].shape.to_string() + ", expected [" +
                              std::to_string(g.C) + "]");
    }
  }
  return g;
}

}  // namespace kiln::ops
