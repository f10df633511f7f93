#include "ops/lp_norm/lp_norm.h"

namespace kiln::ops {

namespace {

Status infer_lp_norm(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return ctx.error("expects 1 input (X)");
  if (ctx.node().outputs.size() != 1) return ctx.error("expects 1 output");
  const DataType dt = ctx.input_dtype(0);
  if (!is_floating(dt)) {
    return ctx.error("X must be float32, float16 or bfloat16, got " + std::string(dtype_name(dt)));
  }
  const int64_t rank = ctx.input_rank(0);
  if (rank == 0) return ctx.error("X must have rank >= 1, got a scalar");
  int64_t axis = ctx.attrs().get_int("axis", -1);
  Status s = normalize_axis(&axis, rank, "axis");
  if (!s.is_ok()) return ctx.error(s.message());
  const int64_t p = ctx.attrs().get_int("p", 2);
  if (p != 1 && p != 2) return ctx.error("attribute 'p' must be 1 or 2, got " + std::to_string(p));
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = ctx.input_shape(0);
  return Status::ok();
}

}  // namespace

const OpDef& lp_norm_op() {
  static const OpDef def{"LpNormalization", infer_lp_norm, lp_norm_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
