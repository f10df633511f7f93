#include "ops/expand/expand.h"

namespace kiln::ops {

namespace {

Status infer_expand(InferContext& ctx) {
  if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1)) {
    return ctx.error("expects 2 inputs (data, shape), got " + std::to_string(ctx.num_inputs()));
  }
  const DataType sdt = ctx.input_dtype(1);
  if (sdt != DataType::kInt64 && sdt != DataType::kInt32) {
    return ctx.error("shape input must be int64, got " + std::string(dtype_name(sdt)));
  }
  if (ctx.input_rank(1) != 1) {
    return ctx.error("shape input must be 1-D, got rank " + std::to_string(ctx.input_rank(1)));
  }
  const auto* sv = ctx.shape_value(1);
  if (sv == nullptr) {
    return ctx.error("shape input '" + ctx.input(1)->name +
                     "' is computed from tensor data; data-dependent expand shapes are "
                     "unsupported");
  }
  const ir::SymShape target = *sv;
  const auto names = ctx.graph().symbol_names();
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i].is_const() && target[i].value() < 0) {
      return ctx.error("target shape " + ir::shape_to_string(target, names) +
                       " has negative extent at dim " + std::to_string(i));
    }
  }
  auto shape = broadcast_shapes(ctx.input_shape(0), target);
  if (!shape.is_ok()) return ctx.error(shape.status().message());
  auto& out = ctx.output(0);
  out.dtype = ctx.input_dtype(0);
  out.shape = std::move(*shape);
  if (const auto* xsv = ctx.shape_value(0)) {
    if (out.shape.size() == 1 && out.shape[0].is_const()) {
      const int64_t n = out.shape[0].value();
      if (xsv->size() == static_cast<size_t>(n)) {
        out.shape_value = *xsv;
      } else if (xsv->size() == 1) {
        out.shape_value = std::vector<ir::SymExpr>(n, (*xsv)[0]);
      }
    }
  }
  return Status::ok();
}

}  // namespace

const OpDef& expand_op() {
  static const OpDef def{"Expand", infer_expand, expand_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
