#include "ops/depth_to_space/depth_to_space.h"

namespace kiln::ops {

namespace {

Status infer_depth_to_space(InferContext& ctx) {
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
  const std::string mode = ctx.attrs().get_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD") {
    return ctx.error("mode must be 'DCR' or 'CRD', got '" + mode + "'");
  }
  const ir::SymShape& in = ctx.input_shape(0);
  if (in[1].is_const() && in[1].value() % (b * b) != 0) {
    return ctx.error("channels " + std::to_string(in[1].value()) +
                     " are not divisible by blocksize^2 = " + std::to_string(b * b));
  }
  auto& o = ctx.output(0);
  o.dtype = ctx.input_dtype(0);
  o.shape = {in[0], ir::floor_div(in[1], b * b), in[2] * b, in[3] * b};
  return Status::ok();
}

}  // namespace

const OpDef& depth_to_space_op() {
  static const OpDef def{"DepthToSpace", infer_depth_to_space, depth_to_space_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
