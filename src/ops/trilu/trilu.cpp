#include "ops/trilu/trilu.h"

namespace kiln::ops {

namespace {

Status infer_trilu(InferContext& ctx) {
  if (ctx.num_inputs() < 1 || ctx.num_inputs() > 2 || !ctx.has_input(0)) {
    return ctx.error("expects inputs (X[, k]), got " + std::to_string(ctx.num_inputs()) +
                     " inputs");
  }
  if (ctx.input_rank(0) < 2) {
    return ctx.error("X must have rank >= 2, got rank " + std::to_string(ctx.input_rank(0)));
  }
  const int64_t upper = ctx.attrs().get_int("upper", 1);
  if (upper != 0 && upper != 1) {
    return ctx.error("attribute 'upper' must be 0 or 1, got " + std::to_string(upper));
  }
  if (ctx.has_input(1)) {
    const DataType dt = ctx.input_dtype(1);
    if (dt != DataType::kInt64 && dt != DataType::kInt32) {
      return ctx.error("k must be int64 or int32, got " + std::string(dtype_name(dt)));
    }
    const ir::SymShape& ks = ctx.input_shape(1);
    if (ks.size() > 1 || (ks.size() == 1 && !(ks[0].is_const() && ks[0].value() == 1))) {
      return ctx.error("k must be a scalar or have shape [1], got " + ir::shape_to_string(ks));
    }
    if (ctx.shape_value(1) == nullptr) {
      return ctx.error("k input '" + ctx.input(1)->name +
                       "' must be a constant or a shape value known when building");
    }
  }
  ctx.output(0).dtype = ctx.input_dtype(0);
  ctx.output(0).shape = ctx.input_shape(0);
  return Status::ok();
}

}  // namespace

const OpDef& trilu_op() {
  static const OpDef def{"Trilu", infer_trilu, trilu_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
