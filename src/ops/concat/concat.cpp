#include "ops/concat/concat.h"

namespace kiln::ops {

namespace {

Status infer_concat(InferContext& ctx) {
  const int n = ctx.num_inputs();
  if (n < 1) return ctx.error("expects at least 1 input");
  for (int i = 0; i < n; ++i) {
    if (!ctx.has_input(i)) return ctx.error("input " + std::to_string(i) + " is missing");
  }
  if (!ctx.attrs().has("axis")) return ctx.error("needs attribute 'axis'");
  const auto names = ctx.graph().symbol_names();
  const ir::SymShape& first = ctx.input_shape(0);
  const int64_t rank = static_cast<int64_t>(first.size());
  if (rank == 0)
    return ctx.error("input '" + ctx.input(0)->name + "' is a scalar; concat needs rank >= 1");
  int64_t axis = ctx.attrs().get_int("axis");
  if (!normalize_axis(&axis, rank, "axis").is_ok()) {
    return ctx.error("axis " + std::to_string(ctx.attrs().get_int("axis")) +
                     " is out of range for rank " + std::to_string(rank));
  }
  const DataType dtype = ctx.input_dtype(0);
  ir::SymShape out = first;
  for (int i = 1; i < n; ++i) {
    const ir::Value& v = *ctx.input(i);
    if (v.dtype != dtype) {
      return ctx.error("input '" + v.name + "' is " + std::string(dtype_name(v.dtype)) +
                       " but input '" + ctx.input(0)->name + "' is " +
                       std::string(dtype_name(dtype)));
    }
    if (static_cast<int64_t>(v.shape.size()) != rank) {
      return ctx.error("input '" + v.name + "' " + ir::shape_to_string(v.shape, names) +
                       " has rank " + std::to_string(v.shape.size()) + " but input '" +
                       ctx.input(0)->name + "' " + ir::shape_to_string(first, names) +
                       " has rank " + std::to_string(rank));
    }
    for (int64_t d = 0; d < rank; ++d) {
      const ir::SymExpr& e = v.shape[d];
      if (d == axis) {
        out[d] = out[d] + e;
      } else if (out[d].is_const() && e.is_const()) {
        if (out[d].value() != e.value()) {
          return ctx.error("input '" + v.name + "' " + ir::shape_to_string(v.shape, names) +
                           " and input '" + ctx.input(0)->name + "' " +
                           ir::shape_to_string(first, names) + " differ in dim " +
                           std::to_string(d) + " (only the concat axis " + std::to_string(axis) +
                           " may differ)");
        }
      } else if (e.is_const()) {
        out[d] = e;  // a static extent is more informative than a symbol
      }
    }
  }
  auto& o = ctx.output(0);
  o.dtype = dtype;
  o.shape = out;
  if (rank == 1 && (dtype == DataType::kInt64 || dtype == DataType::kInt32)) {
    std::vector<ir::SymExpr> value;
    bool all = true;
    for (int i = 0; i < n && all; ++i) {
      const auto* sv = ctx.shape_value(i);
      all = sv != nullptr;
      if (all) value.insert(value.end(), sv->begin(), sv->end());
    }
    if (all && out[0].is_const() && out[0].value() == static_cast<int64_t>(value.size())) {
      o.shape_value = std::move(value);
    }
  }
  return Status::ok();
}

}  // namespace

const OpDef& concat_op() {
  static const OpDef def{"Concat", infer_concat, concat_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
