#include "ops/one_hot/one_hot.h"

#include <cmath>

namespace kiln::ops {

namespace {

Status infer_one_hot(InferContext& ctx) {
  if (ctx.num_inputs() != 3 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2)) {
    return ctx.error("expects 3 inputs (indices, depth, values), got " +
                     std::to_string(ctx.num_inputs()));
  }
  if (ctx.input_dtype(0) == DataType::kBool) return ctx.error("indices must not be bool");
  const ir::SymShape& ds = ctx.input_shape(1);
  if (ds.size() > 1 || (ds.size() == 1 && !(ds[0].is_const() && ds[0].value() == 1))) {
    return ctx.error("depth must be a scalar or have shape [1], got " + ir::shape_to_string(ds));
  }
  if (ctx.input_dtype(1) == DataType::kBool) return ctx.error("depth must not be bool");
  const ir::SymShape& vs = ctx.input_shape(2);
  if (vs.size() != 1 || !(vs[0].is_const() && vs[0].value() == 2)) {
    return ctx.error("values must be 1-D with 2 elements [off, on], got shape " +
                     ir::shape_to_string(vs));
  }
  ir::SymExpr depth;
  if (const auto* sv = ctx.shape_value(1); sv != nullptr && sv->size() == 1) {
    depth = (*sv)[0];
  } else if (const HostTensor* c = ctx.constant(1); c != nullptr && c->numel() == 1) {
    const double v = c->get_double(0);
    if (!(std::fabs(v) < 1e15)) return ctx.error("depth " + std::to_string(v) + " is invalid");
    depth = static_cast<int64_t>(v);
  } else {
    return ctx.error("depth input '" + ctx.input(1)->name +
                     "' is computed from tensor data; data-dependent depth is unsupported");
  }
  if (depth.is_const() && depth.value() < 1) {
    return ctx.error("depth must be >= 1, got " + std::to_string(depth.value()));
  }
  const ir::SymShape& in = ctx.input_shape(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  if (rank + 1 > Dims::kMaxDims) {
    return ctx.error("output would have more than " + std::to_string(Dims::kMaxDims) + " dims");
  }
  int64_t axis = ctx.attrs().get_int("axis", -1);
  if (!normalize_axis(&axis, rank + 1, "axis").is_ok()) {
    return ctx.error("axis " + std::to_string(ctx.attrs().get_int("axis", -1)) +
                     " is out of range for output rank " + std::to_string(rank + 1));
  }
  auto& o = ctx.output(0);
  o.dtype = ctx.input_dtype(2);
  o.shape = in;
  o.shape.insert(o.shape.begin() + axis, depth);
  return Status::ok();
}

}  // namespace

const OpDef& one_hot_op() {
  // Tactic dtypes name the values (the output's dtype).
  static const OpDef def{"OneHot", infer_one_hot, one_hot_cpu_tactics(), 2};
  return def;
}

}  // namespace kiln::ops
