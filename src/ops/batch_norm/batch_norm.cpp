#include "ops/batch_norm/batch_norm.h"

namespace kiln::ops {

namespace {
constexpr const char* kParamNames[] = {"scale", "bias", "mean", "var"};

Status infer_batch_norm(InferContext& ctx) {
  if (ctx.num_inputs() != 5) return ctx.error("expects 5 inputs (X, scale, bias, mean, var)");
  for (int i = 0; i < 5; ++i) {
    if (!ctx.has_input(i)) {
      return ctx.error(std::string("input ") + (i == 0 ? "X" : kParamNames[i - 1]) + " is missing");
    }
  }
  DataType dt = ctx.input_dtype(0);
  if (!is_floating(dt)) {
    return ctx.error("BatchNorm needs a floating-point X, got " + std::string(dtype_name(dt)));
  }
  if (ctx.input_rank(0) < 2) {
    return ctx.error("BatchNorm needs X of rank >= 2 ([N, C, ...]), got rank " +
                     std::to_string(ctx.input_rank(0)));
  }
  const ir::SymExpr& C = ctx.input_shape(0)[1];
  for (int i = 1; i < 5; ++i) {
    const ir::SymShape& p = ctx.input_shape(i);
    bool ok = p.size() == 1 &&
              (p[0].same_as(C) || !p[0].is_const() || !C.is_const() || p[0].value() == C.value());
    if (!ok) {
      return ctx.error(std::string(kParamNames[i - 1]) + " must have shape [C] = [" +
                       C.to_string() + "], got " + ir::shape_to_string(p));
    }
    if (!is_floating(ctx.input_dtype(i))) {
      return ctx.error(std::string(kParamNames[i - 1]) + " must be a float tensor, got " +
                       std::string(dtype_name(ctx.input_dtype(i))));
    }
  }
  double eps = ctx.attrs().get_float("epsilon", 1e-5);
  if (!(eps >= 0)) return ctx.error("epsilon must be >= 0, got " + std::to_string(eps));
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = ctx.input_shape(0);
  return Status::ok();
}
}  // namespace

const OpDef& batch_norm_op() {
  static const OpDef def{"BatchNorm", infer_batch_norm, batch_norm_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
