#include "ops/unsqueeze/unsqueeze.h"

#include "ops/squeeze/squeeze.h"

namespace kiln::ops {

namespace {

Status infer_unsqueeze(InferContext& ctx) {
  if (ctx.num_inputs() < 1 || ctx.num_inputs() > 2 || !ctx.has_input(0)) {
    return ctx.error("expects 1 or 2 inputs (data, axes), got " + std::to_string(ctx.num_inputs()));
  }
  std::vector<int64_t> axes;
  bool present = false;
  KILN_RETURN_IF_ERROR(read_axes_input_or_attr(ctx, &axes, &present));
  if (!present) return ctx.error("needs axes (input 1 or attribute 'axes')");
  const ir::SymShape& in = ctx.input_shape(0);
  const int64_t out_rank = static_cast<int64_t>(in.size() + axes.size());
  if (out_rank > Dims::kMaxDims) {
    return ctx.error("output rank " + std::to_string(out_rank) + " exceeds " +
                     std::to_string(Dims::kMaxDims));
  }
  std::vector<bool> inserted(out_rank, false);
  for (int64_t a : axes) {
    int64_t axis = a;
    if (!normalize_axis(&axis, out_rank, "axis").is_ok()) {
      return ctx.error("axis " + std::to_string(a) + " is out of range for output rank " +
                       std::to_string(out_rank));
    }
    if (inserted[axis]) return ctx.error("axis " + std::to_string(a) + " is repeated");
    inserted[axis] = true;
  }
  auto& out = ctx.output(0);
  out.dtype = ctx.input_dtype(0);
  out.shape.clear();
  size_t next = 0;
  for (int64_t d = 0; d < out_rank; ++d) {
    out.shape.push_back(inserted[d] ? ir::SymExpr(1) : in[next++]);
  }
  if (const auto* sv = ctx.shape_value(0)) out.shape_value = *sv;
  return Status::ok();
}

}  // namespace

const OpDef& unsqueeze_op() {
  static const OpDef def{"Unsqueeze", infer_unsqueeze, unsqueeze_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
