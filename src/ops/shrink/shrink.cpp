#include "ops/shrink/shrink.h"

#include <cmath>

namespace kiln::ops {

namespace {

Status infer_shrink(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return ctx.error("expects 1 input (X)");
  if (ctx.node().outputs.size() != 1) return ctx.error("expects 1 output");
  const DataType dt = ctx.input_dtype(0);
  if (dt == DataType::kBool) return ctx.error("X must be a numeric tensor, got bool");
  const double bias = ctx.attrs().get_float("bias", 0.0);
  const double lambd = ctx.attrs().get_float("lambd", 0.5);
  if (!std::isfinite(bias) || !std::isfinite(lambd)) {
    return ctx.error("attributes 'bias' and 'lambd' must be finite");
  }
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = ctx.input_shape(0);
  return Status::ok();
}

}  // namespace

const OpDef& shrink_op() {
  static const OpDef def{"Shrink", infer_shrink, shrink_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
