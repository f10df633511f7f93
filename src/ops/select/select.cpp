#include "ops/select/select.h"

namespace kiln::ops {

namespace {
Status infer_select(InferContext& ctx) {
  if (ctx.num_inputs() != 3 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2)) {
    return ctx.error("expects 3 inputs (condition, A, B)");
  }
  if (ctx.input_dtype(0) != DataType::kBool) {
    return ctx.error("condition must be bool, got " + std::string(dtype_name(ctx.input_dtype(0))));
  }
  if (ctx.input_dtype(1) != ctx.input_dtype(2)) {
    return ctx.error("A and B must have the same dtype, got " +
                     std::string(dtype_name(ctx.input_dtype(1))) + " and " +
                     std::string(dtype_name(ctx.input_dtype(2))));
  }
  auto ca = broadcast_shapes(ctx.input_shape(0), ctx.input_shape(1));
  if (!ca.is_ok()) return ctx.error("condition and A: " + ca.status().message());
  auto out = broadcast_shapes(*ca, ctx.input_shape(2));
  if (!out.is_ok()) return ctx.error("condition, A and B: " + out.status().message());
  ctx.output(0).dtype = ctx.input_dtype(1);
  ctx.output(0).shape = std::move(*out);
  return Status::ok();
}
}  // namespace

const OpDef& select_op() {
  // Tactic dtypes name A and B (the condition is bool).
  static const OpDef def{"Select", infer_select, select_cpu_tactics(), 1};
  return def;
}

}  // namespace kiln::ops
