#include "ops/identity/identity.h"

namespace kiln::ops {

namespace {

Status infer_identity(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return ctx.error("expects 1 input");
  auto& out = ctx.output(0);
  out.dtype = ctx.input_dtype(0);
  out.shape = ctx.input_shape(0);
  if (const auto* sv = ctx.shape_value(0)) out.shape_value = *sv;
  return Status::ok();
}

}  // namespace

const OpDef& identity_op() {
  static const OpDef def{"Identity", infer_identity, identity_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
