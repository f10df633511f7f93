#include "ops/bit_shift/bit_shift.h"

namespace kiln::ops {

namespace {

Status infer_bit_shift(InferContext& ctx) {
  if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1)) {
    return ctx.error("expects 2 inputs (X, Y)");
  }
  if (ctx.node().outputs.size() != 1) return ctx.error("expects 1 output");
  for (int i = 0; i < 2; ++i) {
    if (ctx.input_dtype(i) != DataType::kUInt8) {
      return ctx.error(std::string(i == 0 ? "X" : "Y") + " must be uint8, got " +
                       std::string(dtype_name(ctx.input_dtype(i))));
    }
  }
  const std::string dir = ctx.attrs().get_string("direction");
  if (dir != "LEFT" && dir != "RIGHT") {
    return ctx.error("attribute 'direction' must be \"LEFT\" or \"RIGHT\", got \"" + dir + "\"");
  }
  auto shape = broadcast_shapes(ctx.input_shape(0), ctx.input_shape(1));
  if (!shape.is_ok()) return ctx.error(shape.status().message());
  ctx.output(0).dtype = DataType::kUInt8;
  ctx.output(0).shape = std::move(*shape);
  return Status::ok();
}

}  // namespace

const OpDef& bit_shift_op() {
  static const OpDef def{"BitShift", infer_bit_shift, bit_shift_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
