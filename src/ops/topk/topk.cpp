#include "ops/topk/topk.h"

namespace kiln::ops {

namespace {
Status infer_topk(InferContext& ctx) {
  if (ctx.num_inputs() < 1 || ctx.num_inputs() > 2 || !ctx.has_input(0)) {
    return ctx.error("expects inputs X and an optional K");
  }
  if (ctx.node().outputs.size() != 2) {
    return ctx.error("expects 2 outputs (values, indices), the node has " +
                     std::to_string(ctx.node().outputs.size()));
  }
  DataType dt = ctx.input_dtype(0);
  if (dt == DataType::kBool) return ctx.error("TopK does not support a bool input");
  int64_t rank = ctx.input_rank(0);
  if (rank < 1) return ctx.error("TopK needs an input of rank >= 1");
  int64_t axis = ctx.attrs().get_int("axis", -1);
  Status s = normalize_axis(&axis, rank, "axis");
  if (!s.is_ok()) return ctx.error(s.message());
  for (const char* name : {"largest", "sorted"}) {
    int64_t v = ctx.attrs().get_int(name, 1);
    if (v != 0 && v != 1) {
      return ctx.error("attribute '" + std::string(name) + "' must be 0 or 1, got " +
                       std::to_string(v));
    }
  }

  ir::SymExpr k;
  if (ctx.has_input(1)) {
    if (ctx.input_dtype(1) != DataType::kInt64) {
      return ctx.error("input K must be int64, got " + std::string(dtype_name(ctx.input_dtype(1))));
    }
    const ir::SymShape& ks = ctx.input_shape(1);
    if (ks.size() > 1 || (ks.size() == 1 && ks[0].is_const() && ks[0].value() != 1)) {
      return ctx.error("input K must be a scalar or have shape [1], got " +
                       ir::shape_to_string(ks));
    }
    const std::vector<ir::SymExpr>* sv = ctx.shape_value(1);
    if (sv == nullptr || sv->size() != 1) {
      return ctx.error("input K must be a constant or a shape value known when building");
    }
    k = (*sv)[0];
  } else if (ctx.attrs().has("k")) {
    k = ctx.attrs().get_int("k");
  } else {
    return ctx.error("needs input K or attribute 'k'");
  }
  const ir::SymExpr& extent = ctx.input_shape(0)[axis];
  if (k.is_const()) {
    if (k.value() < 0) return ctx.error("k must be >= 0, got " + std::to_string(k.value()));
    if (extent.is_const() && k.value() > extent.value()) {
      return ctx.error("k " + std::to_string(k.value()) + " is larger than the extent " +
                       std::to_string(extent.value()) + " of axis " + std::to_string(axis));
    }
  }
  ir::SymShape shape = ctx.input_shape(0);
  shape[axis] = k;
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = shape;
  ctx.output(1).dtype = DataType::kInt64;
  ctx.output(1).shape = shape;
  return Status::ok();
}
}  // namespace

const OpDef& topk_op() {
  static const OpDef def{"TopK", infer_topk, topk_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
