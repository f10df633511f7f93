#include "ops/layer_norm/layer_norm.h"

namespace kiln::ops {

namespace {

// Checks that `param` broadcasts (right-aligned) to `norm` (the normalized dims of X).
Status check_param_shape(InferContext& ctx, int input, const char* what, const ir::SymShape& norm) {
  const ir::SymShape& p = ctx.input_shape(input);
  bool ok = p.size() <= norm.size();
  for (size_t i = 0; ok && i < p.size(); ++i) {
    const ir::SymExpr& s = p[p.size() - 1 - i];
    const ir::SymExpr& d = norm[norm.size() - 1 - i];
    if (s.is_const() && s.value() == 1) continue;
    if (s.same_as(d)) continue;
    if (s.is_const() && d.is_const()) ok = false;  // constants that differ (and s != 1)
    // else: symbolic on one side; checked when run
  }
  if (!ok) {
    return ctx.error(std::string(what) + " shape " + ir::shape_to_string(p) +
                     " does not broadcast to the normalized shape " + ir::shape_to_string(norm));
  }
  if (!is_floating(ctx.input_dtype(input))) {
    return ctx.error(std::string(what) + " must be a float tensor, got " +
                     std::string(dtype_name(ctx.input_dtype(input))));
  }
  return Status::ok();
}

Status infer_layer_norm(InferContext& ctx) {
  if (ctx.num_inputs() < 2 || ctx.num_inputs() > 4 || !ctx.has_input(0) || !ctx.has_input(1)) {
    return ctx.error("expects inputs X, Scale, an optional Bias and an optional Residual");
  }
  size_t num_outputs = ctx.node().outputs.size();
  if (num_outputs != 1 && num_outputs != 3) {
    return ctx.error("expects 1 output (Y) or 3 (Y, Mean, InvStdDev), the node has " +
                     std::to_string(num_outputs));
  }
  DataType dt = ctx.input_dtype(0);
  if (!is_floating(dt)) {
    return ctx.error("LayerNorm needs a floating-point X, got " + std::string(dtype_name(dt)));
  }
  int64_t rank = ctx.input_rank(0);
  int64_t axis = ctx.attrs().get_int("axis", -1);
  Status s = normalize_axis(&axis, rank, "axis");
  if (!s.is_ok()) return ctx.error(s.message());
  double eps = ctx.attrs().get_float("epsilon", 1e-5);
  if (!(eps >= 0)) return ctx.error("epsilon must be >= 0, got " + std::to_string(eps));
  const ir::SymShape& x = ctx.input_shape(0);
  ir::SymShape norm(x.begin() + std::min<int64_t>(axis, rank), x.end());
  KILN_RETURN_IF_ERROR(check_param_shape(ctx, 1, "Scale", norm));
  if (ctx.has_input(2)) KILN_RETURN_IF_ERROR(check_param_shape(ctx, 2, "Bias", norm));
  if (ctx.has_input(3)) {
    if (ctx.input_dtype(3) != dt) {
      return ctx.error("Residual dtype " + std::string(dtype_name(ctx.input_dtype(3))) +
                       " differs from X's " + std::string(dtype_name(dt)));
    }
    const ir::SymShape& r = ctx.input_shape(3);
    bool same = r.size() == x.size();
    for (size_t i = 0; same && i < r.size(); ++i) {
      same = r[i].same_as(x[i]) || !(r[i].is_const() && x[i].is_const());
    }
    if (!same) {
      return ctx.error("Residual shape " + ir::shape_to_string(r) + " differs from X's " +
                       ir::shape_to_string(x));
    }
  }
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = x;
  if (num_outputs == 3) {
    ir::SymShape stat = x;
    for (int64_t i = axis; i < rank; ++i) stat[i] = 1;
    for (int o = 1; o <= 2; ++o) {
      ctx.output(o).dtype = DataType::kFloat32;
      ctx.output(o).shape = stat;
    }
  }
  return Status::ok();
}
}  // namespace

const OpDef& layer_norm_op() {
  static const OpDef def{"LayerNorm", infer_layer_norm, layer_norm_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
