#include "ops/group_norm/group_norm.h"

namespace kiln::ops {

namespace {

constexpr const char* kParamNames[] = {"scale", "bias"};

Status infer_group_norm(InferContext& ctx) {
  if (ctx.num_inputs() != 3 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2)) {
    return ctx.error("expects 3 inputs (X, scale, bias)");
  }
  if (ctx.node().outputs.size() != 1) return ctx.error("expects 1 output");
  const DataType dt = ctx.input_dtype(0);
  if (!is_floating(dt)) {
    return ctx.error("X must be float32, float16 or bfloat16, got " + std::string(dtype_name(dt)));
  }
  const ir::SymShape& x = ctx.input_shape(0);
  if (x.size() < 2) {
    return ctx.error("X must have rank >= 2 ([N, C, ...]), got " + ir::shape_to_string(x));
  }
  if (!ctx.attrs().has("num_groups")) return ctx.error("attribute 'num_groups' is required");
  const int64_t groups = ctx.attrs().get_int("num_groups");
  if (groups < 1) {
    return ctx.error("attribute 'num_groups' must be >= 1, got " + std::to_string(groups));
  }
  const ir::SymExpr& c = x[1];
  if (c.is_const() && c.value() % groups != 0) {
    return ctx.error("channels " + std::to_string(c.value()) + " are not divisible by num_groups " +
                     std::to_string(groups));
  }
  const bool per_group = ctx.attrs().get_int("per_group_affine", 0) != 0;
  const ir::SymExpr want = per_group ? ir::SymExpr(groups) : c;
  for (int i = 1; i < 3; ++i) {
    const ir::SymShape& p = ctx.input_shape(i);
    const bool ok = p.size() == 1 && (p[0].same_as(want) || !p[0].is_const() || !want.is_const() ||
                                      p[0].value() == want.value());
    if (!ok) {
      return ctx.error(std::string(kParamNames[i - 1]) + " must have shape [" +
                       (per_group ? "num_groups" : "C") + "] = [" + want.to_string() + "], got " +
                       ir::shape_to_string(p));
    }
    if (!is_floating(ctx.input_dtype(i))) {
      return ctx.error(std::string(kParamNames[i - 1]) + " must be a float tensor, got " +
                       std::string(dtype_name(ctx.input_dtype(i))));
    }
  }
  const double eps = ctx.attrs().get_float("epsilon", 1e-5);
  if (!(eps >= 0)) return ctx.error("epsilon must be >= 0, got " + std::to_string(eps));
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = x;
  return Status::ok();
}

}  // namespace

const OpDef& group_norm_op() {
  static const OpDef def{"GroupNormalization", infer_group_norm, group_norm_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
