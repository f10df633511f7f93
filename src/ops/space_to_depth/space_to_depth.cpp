#include "ops/space_to_depth/space_to_depth.h"

namespace kiln::ops {

namespace {

Status infer_space_to_depth(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) {
    return ctx.error("expects 1 input, got " + std::to_string(ctx.num_inputs()));
  }
  if (ctx.input_rank(0) != 4) {
    return ctx.error("X must have rank 4 (NCHW), got rank " + std::to_string(ctx.input_rank(0)));
  }
  if (!ctx.attrs().has("blocksize")) return ctx.error("needs attribute 'blocksize'");
  const int64_t b = ctx.attrs().get_int("blocksize");
  if (b < 1 || b > (int64_t{1} << 20)) {
    return ctx.error("blocksize must be >= 1, got " + std::to_string(b));
  }
  const ir::SymShape& in = ctx.input_shape(0);
  for (int d : {2, 3}) {
    if (in[d].is_const() && in[d].value() % b != 0) {
      return ctx.error(std::string(d == 2 ? "height " : "width ") + std::to_string(in[d].value()) +
                       " is not divisible by blocksize " + std::to_string(b));
    }
  }
  auto& o = ctx.output(0);
  o.dtype = ctx.input_dtype(0);
  o.shape = {in[0], in[1] * (b * b), ir::floor_div(in[2], b), ir::floor_div(in[3], b)};
  return Status::ok();
}

}  // namespace

const OpDef& space_to_depth_op() {
  static const OpDef def{"SpaceToDepth", infer_space_to_depth, space_to_depth_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
