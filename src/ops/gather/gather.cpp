#include "ops/gather/gather.h"

#include <algorithm>

namespace kiln::ops {

namespace {

Status infer_gather(InferContext& ctx) {
  if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1)) {
    return ctx.error("expects 2 inputs (data, indices), got " + std::to_string(ctx.num_inputs()));
  }
  const DataType idt = ctx.input_dtype(1);
  if (idt != DataType::kInt32 && idt != DataType::kInt64) {
    return ctx.error("indices must be int32 or int64, got " + std::string(dtype_name(idt)));
  }
  const ir::SymShape& data = ctx.input_shape(0);
  const ir::SymShape& indices = ctx.input_shape(1);
  const int64_t rank = static_cast<int64_t>(data.size());
  if (rank == 0)
    return ctx.error("data '" + ctx.input(0)->name + "' is a scalar; gather needs rank >= 1");
  int64_t axis = ctx.attrs().get_int("axis", 0);
  if (!normalize_axis(&axis, rank, "axis").is_ok()) {
    return ctx.error("axis " + std::to_string(ctx.attrs().get_int("axis", 0)) +
                     " is out of range for data rank " + std::to_string(rank));
  }
  auto& out = ctx.output(0);
  out.dtype = ctx.input_dtype(0);
  out.shape.assign(data.begin(), data.begin() + axis);
  out.shape.insert(out.shape.end(), indices.begin(), indices.end());
  out.shape.insert(out.shape.end(), data.begin() + axis + 1, data.end());

  // Shape value: picked entries of a 1-D shape tensor. (Copy data's first: shape_value() of a
  // constant reuses one buffer.)
  const auto* dsv = ctx.shape_value(0);
  if (dsv == nullptr || rank != 1) return Status::ok();
  const std::vector<ir::SymExpr> dvalue = *dsv;
  const auto* isv = ctx.shape_value(1);
  if (isv == nullptr || indices.size() > 1) return Status::ok();
  const int64_t len = static_cast<int64_t>(dvalue.size());
  std::vector<ir::SymExpr> value;
  for (const ir::SymExpr& e : *isv) {
    if (!e.is_const()) return Status::ok();
    int64_t i = e.value();
    if (i < -len || i >= len) {
      return ctx.error("index " + std::to_string(i) + " is out of range for axis 0 of extent " +
                       std::to_string(len));
    }
    value.push_back(dvalue[i < 0 ? i + len : i]);
  }
  out.shape_value = std::move(value);
  return Status::ok();
}

}  // namespace

const OpDef& gather_op() {
  static const OpDef def{"Gather", infer_gather, gather_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
