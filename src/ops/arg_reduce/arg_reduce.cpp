#include "ops/arg_reduce/arg_reduce.h"

namespace kiln::ops {

namespace {

Status infer_arg_reduce(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) {
    return ctx.error("expects 1 input, got " + std::to_string(ctx.num_inputs()));
  }
  const std::string op = ctx.attrs().get_string("op");
  if (op != "max" && op != "min") {
    return ctx.error("attribute 'op' must be 'max' or 'min', got '" + op + "'");
  }
  const DataType dt = ctx.input_dtype(0);
  if (dt == DataType::kBool) return ctx.error("does not support a bool input");
  const ir::SymShape& in = ctx.input_shape(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  if (rank == 0) return ctx.error("X must have rank >= 1");
  int64_t axis = ctx.attrs().get_int("axis", 0);
  if (!normalize_axis(&axis, rank, "axis").is_ok()) {
    return ctx.error("axis " + std::to_string(ctx.attrs().get_int("axis", 0)) +
                     " is out of range for rank " + std::to_string(rank));
  }
  for (const char* name : {"keepdims", "select_last_index"}) {
    const int64_t v = ctx.attrs().get_int(name, name[0] == 'k' ? 1 : 0);
    if (v != 0 && v != 1) {
      return ctx.error("attribute '" + std::string(name) + "' must be 0 or 1, got " +
                       std::to_string(v));
    }
  }
  if (in[axis].is_const() && in[axis].value() == 0) {
    return ctx.error("cannot take arg" + op + " over axis " + std::to_string(axis) +
                     " of extent 0");
  }
  ir::SymShape out;
  const bool keepdims = ctx.attrs().get_int("keepdims", 1) != 0;
  for (int64_t i = 0; i < rank; ++i) {
    if (i != axis) {
      out.push_back(in[i]);
    } else if (keepdims) {
      out.emplace_back(1);
    }
  }
  ctx.output(0).dtype = DataType::kInt64;
  ctx.output(0).shape = std::move(out);
  return Status::ok();
}

}  // namespace

const OpDef& arg_reduce_op() {
  static const OpDef def{"ArgReduce", infer_arg_reduce, arg_reduce_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
