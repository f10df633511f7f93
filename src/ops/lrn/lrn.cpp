#include "ops/lrn/lrn.h"

#include <cmath>

namespace kiln::ops {

namespace {

Status infer_lrn(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return ctx.error("expects 1 input (X)");
  if (ctx.node().outputs.size() != 1) return ctx.error("expects 1 output");
  const DataType dt = ctx.input_dtype(0);
  if (!is_floating(dt)) {
    return ctx.error("X must be float32, float16 or bfloat16, got " + std::string(dtype_name(dt)));
  }
  if (ctx.input_rank(0) < 2) {
    return ctx.error("X must have rank >= 2 ([N, C, ...]), got " +
                     ir::shape_to_string(ctx.input_shape(0)));
  }
  if (!ctx.attrs().has("size")) return ctx.error("attribute 'size' is required");
  const int64_t size = ctx.attrs().get_int("size");
  if (size < 1) return ctx.error("attribute 'size' must be >= 1, got " + std::to_string(size));
  for (const char* name : {"alpha", "beta", "bias"}) {
    if (!std::isfinite(ctx.attrs().get_float(name, 0.0))) {
      return ctx.error(std::string("attribute '") + name + "' must be finite");
    }
  }
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = ctx.input_shape(0);
  return Status::ok();
}

}  // namespace

const OpDef& lrn_op() {
  static const OpDef def{"LRN", infer_lrn, lrn_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
