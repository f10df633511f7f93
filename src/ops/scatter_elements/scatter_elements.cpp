#include "ops/scatter_elements/scatter_elements.h"

namespace kiln::ops {

namespace {

Status infer_scatter_elements(InferContext& ctx) {
  if (ctx.num_inputs() != 3 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2)) {
    return ctx.error("expects 3 inputs (data, indices, updates), got " +
                     std::to_string(ctx.num_inputs()));
  }
  if (ctx.node().outputs.size() != 1) return ctx.error("expects 1 output");
  const DataType idt = ctx.input_dtype(1);
  if (idt != DataType::kInt32 && idt != DataType::kInt64) {
    return ctx.error("indices must be int32 or int64, got " + std::string(dtype_name(idt)));
  }
  if (ctx.input_dtype(2) != ctx.input_dtype(0)) {
    return ctx.error("updates has dtype " + std::string(dtype_name(ctx.input_dtype(2))) +
                     ", expected data's " + std::string(dtype_name(ctx.input_dtype(0))));
  }
  ScatterReduction red;
  const std::string rname = ctx.attrs().get_string("reduction", "none");
  if (!parse_scatter_reduction(rname, &red)) {
    return ctx.error("attribute 'reduction' must be none, add, mul, max or min, got \"" + rname +
                     "\"");
  }
  const ir::SymShape& data = ctx.input_shape(0);
  const ir::SymShape& indices = ctx.input_shape(1);
  const ir::SymShape& updates = ctx.input_shape(2);
  const int64_t rank = static_cast<int64_t>(data.size());
  if (rank == 0) return ctx.error("data must have rank >= 1, got a scalar");
  if (static_cast<int64_t>(indices.size()) != rank) {
    return ctx.error("indices " + ir::shape_to_string(indices) + " must have data's rank " +
                     std::to_string(rank) + " (data " + ir::shape_to_string(data) + ")");
  }
  bool same = updates.size() == indices.size();
  for (size_t d = 0; same && d < updates.size(); ++d) {
    if (updates[d].is_const() && indices[d].is_const() &&
        updates[d].value() != indices[d].value()) {
      same = false;
    }
  }
  if (!same) {
    return ctx.error("updates " + ir::shape_to_string(updates) + " must have indices' shape " +
                     ir::shape_to_string(indices));
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
  ctx.output(0).shape = data;
  return Status::ok();
}

}  // namespace

bool parse_scatter_reduction(std::string_view name, ScatterReduction* out) {
  static constexpr std::pair<std::string_view, ScatterReduction> kNames[] = {
      {"none", ScatterReduction::kNone},
      {"add", ScatterReduction::kAdd},
      {"mul", ScatterReduction::kMul},
      {"max", ScatterReduction::kMax},
      {"min", ScatterReduction::kMin}};
  for (const auto& [n, r] : kNames) {
    if (n == name) {
      *out = r;
      return true;
    }
  }
  return false;
}

Status scatter_elements_check_shapes(const Dims& dd, const Dims& id, const Dims& updates,
                                     int axis) {
  const int rank = dd.rank();
  if (id.rank() != rank || axis >= rank || !(updates == id)) {
    return invalid_argument("ScatterElements: indices " + id.to_string() + " and updates " +
                            updates.to_string() + " must have one shape of data's rank " +
                            dd.to_string());
  }
  for (int d = 0; d < rank; ++d) {
    if (d != axis && id[d] > dd[d]) {
      return invalid_argument("ScatterElements: indices " + id.to_string() + " dim " +
                              std::to_string(d) + " exceeds data " + dd.to_string());
    }
  }
  return Status::ok();
}

const OpDef& scatter_elements_op() {
  static const OpDef def{"ScatterElements", infer_scatter_elements, scatter_elements_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
