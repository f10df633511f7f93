#include "ops/gather_elements/gather_elements.h"

namespace kiln::ops {

namespace {

Status infer_gather_elements(InferContext& ctx) {
  if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1)) {
    return ctx.error("expects 2 inputs (data, indices), got " + std::to_string(ctx.num_inputs()));
  }
  if (ctx.node().outputs.size() != 1) return ctx.error("expects 1 output");
  const DataType idt = ctx.input_dtype(1);
  if (idt != DataType::kInt32 && idt != DataType::kInt64) {
    return ctx.error("indices must be int32 or int64, got " + std::string(dtype_name(idt)));
  }
  const ir::SymShape& data = ctx.input_shape(0);
  const ir::SymShape& indices = ctx.input_shape(1);
  const int64_t rank = static_cast<int64_t>(data.size());
  if (rank == 0) return ctx.error("data must have rank >= 1, got a scalar");
  if (static_cast<int64_t>(indices.size()) != rank) {
    return ctx.error("indices " + ir::shape_to_string(indices) + " must have data's rank " +
                     std::to_string(rank) + " (data " + ir::shape_to_string(data) + ")");
  }
  int64_t axis = ctx.attrs().get_int("axis", 0);
  Status s = normalize_axis(&axis, rank, "axis");
  if (!s.is_ok()) return ctx.error(s.message());
  for (int64_t d = 0; d < rank; ++d) {
    if (d == axis) continue;
    if (indices[d].is_const() && data[d].is_const() && indices[d].value() > data[d].value()) {
      return ctx.error("indices " + ir::shape_to_string(indices) + " dim " + std::to_string(d) +
                       " exceeds data " + ir::shape_to_string(data));
    }
  }
  ctx.output(0).dtype = ctx.input_dtype(0);
  ctx.output(0).shape = indices;
  return Status::ok();
}

}  // namespace

const OpDef& gather_elements_op() {
  static const OpDef def{"GatherElements", infer_gather_elements, gather_elements_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
