#include "ops/shape/shape.h"

#include <algorithm>

namespace kiln::ops {

namespace {

Status infer_shape(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return ctx.error("expects 1 input");
  const ir::SymShape& in = ctx.input_shape(0);
  int64_t start, end;
  shape_dim_range(ctx.attrs(), static_cast<int64_t>(in.size()), &start, &end);
  auto& out = ctx.output(0);
  out.dtype = DataType::kInt64;
  out.shape = {ir::SymExpr(end - start)};
  out.shape_value = std::vector<ir::SymExpr>(in.begin() + start, in.begin() + end);
  return Status::ok();
}

}  // namespace

void shape_dim_range(const ir::Attrs& attrs, int64_t rank, int64_t* start, int64_t* end) {
  auto clamp_dim = [rank](int64_t v) {
    if (v < 0) v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  *start = clamp_dim(attrs.get_int("start", 0));
  *end = attrs.has("end") ? clamp_dim(attrs.get_int("end", rank)) : rank;
  *end = std::max(*end, *start);
}

const OpDef& shape_op() {
  static const OpDef def{"Shape", infer_shape, shape_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
