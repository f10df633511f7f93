#include "ops/cumsum/cumsum.h"

namespace kiln::ops {

namespace {

Status infer_cumsum(InferContext& ctx) {
  if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1)) {
    return ctx.error("expects 2 inputs (X, axis), got " + std::to_string(ctx.num_inputs()));
  }
  const DataType dt = ctx.input_dtype(0);
  if (!is_floating(dt) && dt != DataType::kInt32 && dt != DataType::kInt64) {
    return ctx.error("X must be float32, float16, bfloat16, int32 or int64, got " +
                     std::string(dtype_name(dt)));
  }
  const DataType adt = ctx.input_dtype(1);
  if (adt != DataType::kInt64 && adt != DataType::kInt32) {
    return ctx.error("axis must be int64 or int32, got " + std::string(dtype_name(adt)));
  }
  const ir::SymShape& as = ctx.input_shape(1);
  if (as.size() > 1 || (as.size() == 1 && !(as[0].is_const() && as[0].value() == 1))) {
    return ctx.error("axis must be a scalar or have shape [1], got " + ir::shape_to_string(as));
  }
  const auto* sv = ctx.shape_value(1);
  if (sv == nullptr || sv->size() != 1 || !(*sv)[0].is_const()) {
    return ctx.error("axis input '" + ctx.input(1)->name + "' must be a constant");
  }
  const int64_t rank = ctx.input_rank(0);
  if (rank == 0) return ctx.error("X must have rank >= 1");
  int64_t axis = (*sv)[0].value();
  if (!normalize_axis(&axis, rank, "axis").is_ok()) {
    return ctx.error("axis " + std::to_string((*sv)[0].value()) + " is out of range for rank " +
                     std::to_string(rank));
  }
  for (const char* name : {"exclusive", "reverse"}) {
    const int64_t v = ctx.attrs().get_int(name, 0);
    if (v != 0 && v != 1) {
      return ctx.error("attribute '" + std::string(name) + "' must be 0 or 1, got " +
                       std::to_string(v));
    }
  }
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = ctx.input_shape(0);
  return Status::ok();
}

}  // namespace

const OpDef& cumsum_op() {
  static const OpDef def{"CumSum", infer_cumsum, cumsum_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
