#include "ops/mean_variance_norm/mean_variance_norm.h"

namespace kiln::ops {

namespace {

Status infer_mvn(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return ctx.error("expects 1 input (X)");
  if (ctx.node().outputs.size() != 1) return ctx.error("expects 1 output");
  const DataType dt = ctx.input_dtype(0);
  if (!is_floating(dt)) {
    return ctx.error("X must be float32, float16 or bfloat16, got " + std::string(dtype_name(dt)));
  }
  auto mask = mvn_axes_mask(ctx.attrs(), ctx.input_rank(0));
  if (!mask.is_ok()) return ctx.error(mask.status().message());
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = ctx.input_shape(0);
  return Status::ok();
}

}  // namespace

Result<std::vector<bool>> mvn_axes_mask(const ir::Attrs& attrs, int64_t rank) {
  const std::vector<int64_t> axes = attrs.get_ints("axes", {0, 2, 3});
  std::vector<bool> mask(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    int64_t axis = a;
    if (axis < -rank || axis >= rank) {
      return out_of_range("axes entry " + std::to_string(a) + " is out of range for X of rank " +
                          std::to_string(rank));
    }
    if (axis < 0) axis += rank;
    if (mask[axis]) return invalid_argument("axes repeat dim " + std::to_string(axis));
    mask[axis] = true;
  }
  return mask;
}

const OpDef& mean_variance_norm_op() {
  static const OpDef def{"MeanVarianceNormalization", infer_mvn, mean_variance_norm_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
