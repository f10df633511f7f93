#include "ops/squeeze/squeeze.h"

#include <algorithm>

namespace kiln::ops {

namespace {

Status infer_squeeze(InferContext& ctx) {
  if (ctx.num_inputs() < 1 || ctx.num_inputs() > 2 || !ctx.has_input(0)) {
    return ctx.error("expects 1 or 2 inputs (data, axes), got " + std::to_string(ctx.num_inputs()));
  }
  std::vector<int64_t> axes;
  bool present = false;
  KILN_RETURN_IF_ERROR(read_axes_input_or_attr(ctx, &axes, &present));
  const ir::SymShape& in = ctx.input_shape(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  const auto names = ctx.graph().symbol_names();
  std::vector<bool> drop(in.size(), false);
  if (present) {
    for (int64_t a : axes) {
      int64_t axis = a;
      Status s = normalize_axis(&axis, rank, "axis");
      if (!s.is_ok() || rank == 0) {
        return ctx.error("axis " + std::to_string(a) + " is out of range for input rank " +
                         std::to_string(rank));
      }
      if (drop[axis]) return ctx.error("axis " + std::to_string(a) + " is repeated");
      if (in[axis].is_const() && in[axis].value() != 1) {
        return ctx.error("cannot squeeze dim " + std::to_string(axis) + " of input " +
                         ir::shape_to_string(in, names) + ": its extent is " +
                         std::to_string(in[axis].value()) + ", not 1");
      }
      drop[axis] = true;
    }
  } else {
    for (size_t d = 0; d < in.size(); ++d) {
      if (!in[d].is_const()) {
        return ctx.error("without axes, squeeze must decide whether dim " + std::to_string(d) +
                         " (" + in[d].to_string(names) + ") of input " +
                         ir::shape_to_string(in, names) +
                         " is 1, but it is dynamic; give the axes explicitly");
      }
      drop[d] = in[d].value() == 1;
    }
  }
  auto& out = ctx.output(0);
  out.dtype = ctx.input_dtype(0);
  out.shape.clear();
  for (size_t d = 0; d < in.size(); ++d) {
    if (!drop[d]) out.shape.push_back(in[d]);
  }
  if (const auto* sv = ctx.shape_value(0)) out.shape_value = *sv;
  return Status::ok();
}

}  // namespace

Status read_axes_input_or_attr(const InferContext& ctx, std::vector<int64_t>* axes, bool* present) {
  axes->clear();
  *present = false;
  if (ctx.has_input(1)) {
    DataType dt = ctx.input_dtype(1);
    if (dt != DataType::kInt64 && dt != DataType::kInt32) {
      return ctx.error("axes input must be int64, got " + std::string(dtype_name(dt)));
    }
    if (ctx.input_rank(1) > 1) {
      return ctx.error("axes input must be 1-D, got rank " + std::to_string(ctx.input_rank(1)));
    }
    const auto* sv = ctx.shape_value(1);
    if (sv == nullptr ||
        !std::all_of(sv->begin(), sv->end(), [](const ir::SymExpr& e) { return e.is_const(); })) {
      return ctx.error("axes input '" + ctx.input(1)->name + "' must be a constant");
    }
    for (const ir::SymExpr& e : *sv) axes->push_back(e.value());
    *present = true;
  } else if (ctx.attrs().has("axes")) {
    *axes = ctx.attrs().get_ints("axes");
    *present = true;
  }
  return Status::ok();
}

const OpDef& squeeze_op() {
  static const OpDef def{"Squeeze", infer_squeeze, squeeze_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
