#include "ops/float_class/float_class.h"

namespace kiln::ops {

namespace {

Status infer_float_class(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return ctx.error("expects 1 input (X)");
  if (ctx.node().outputs.size() != 1) return ctx.error("expects 1 output");
  const std::string op = ctx.attrs().get_string("op");
  if (op != "isnan" && op != "isinf") {
    return ctx.error("attribute 'op' must be \"isnan\" or \"isinf\", got \"" + op + "\"");
  }
  const DataType dt = ctx.input_dtype(0);
  if (!is_floating(dt)) {
    return ctx.error("X must be float32, float16 or bfloat16, got " + std::string(dtype_name(dt)));
  }
  ctx.output(0).dtype = DataType::kBool;
  ctx.output(0).shape = ctx.input_shape(0);
  return Status::ok();
}

}  // namespace

const OpDef& float_class_op() {
  static const OpDef def{"FloatClass", infer_float_class, float_class_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
