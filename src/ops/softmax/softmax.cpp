#include "ops/softmax/softmax.h"

namespace kiln::ops {

namespace {
Status infer_softmax(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return ctx.error("expects 1 input (X)");
  DataType dt = ctx.input_dtype(0);
  if (!is_floating(dt)) {
    return ctx.error("softmax needs a floating-point input, got " + std::string(dtype_name(dt)));
  }
  int64_t axis = ctx.attrs().get_int("axis", -1);
  Status s = normalize_axis(&axis, ctx.input_rank(0), "axis");
  if (!s.is_ok()) return ctx.error(s.message());
  int64_t log = ctx.attrs().get_int("log", 0);
  if (log != 0 && log != 1)
    return ctx.error("attribute 'log' must be 0 or 1, got " + std::to_string(log));
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = ctx.input_shape(0);
  return Status::ok();
}
}  // namespace

const OpDef& softmax_op() {
  static const OpDef def{"Softmax", infer_softmax, softmax_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
