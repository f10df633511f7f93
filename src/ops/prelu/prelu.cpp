#include "ops/prelu/prelu.h"

namespace kiln::ops {

namespace {

bool is_prelu_dtype(DataType t) {
  return is_floating(t) || t == DataType::kInt32 || t == DataType::kInt64;
}

Status infer_prelu(InferContext& ctx) {
  if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1)) {
    return ctx.error("expects 2 inputs (X, slope)");
  }
  if (ctx.node().outputs.size() != 1) return ctx.error("expects 1 output");
  const DataType dt = ctx.input_dtype(0);
  if (!is_prelu_dtype(dt)) {
    return ctx.error("X must be float32, float16, bfloat16, int32 or int64, got " +
                     std::string(dtype_name(dt)));
  }
  if (ctx.input_dtype(1) != dt) {
    return ctx.error("slope has dtype " + std::string(dtype_name(ctx.input_dtype(1))) +
                     ", expected X's " + std::string(dtype_name(dt)));
  }
  const ir::SymShape& x = ctx.input_shape(0);
  const ir::SymShape& s = ctx.input_shape(1);
  bool ok = s.size() <= x.size();
  for (size_t i = 0; ok && i < s.size(); ++i) {
    const ir::SymExpr& sd = s[s.size() - 1 - i];
    const ir::SymExpr& xd = x[x.size() - 1 - i];
    if (sd.is_const() && sd.value() == 1) continue;
    if (sd.same_as(xd)) continue;
    if (sd.is_const() && xd.is_const()) ok = false;
    // Symbolic on one side: checked by the kernels.
  }
  if (!ok) {
    return ctx.error("slope " + ir::shape_to_string(s) + " does not broadcast to X " +
                     ir::shape_to_string(x));
  }
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = x;
  return Status::ok();
}

}  // namespace

const OpDef& prelu_op() {
  static const OpDef def{"PRelu", infer_prelu, prelu_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
