#include "ops/unary/unary.h"

namespace kiln::ops {

namespace {

constexpr std::string_view kNames[] = {"exp",        "log",   "sqrt", "rsqrt", "abs", "neg",
                                       "reciprocal", "erf",   "sin",  "cos",   "tan", "floor",
                                       "ceil",       "round", "sign", "not"};

Status infer_unary(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) {
    return ctx.error("expects 1 input, got " + std::to_string(ctx.num_inputs()));
  }
  std::string name = ctx.attrs().get_string("op");
  UnaryOp op;
  if (!parse_unary_op(name, &op)) {
    return ctx.error("unknown unary op '" + name +
                     "' (exp, log, sqrt, rsqrt, abs, neg, reciprocal, erf, sin, cos, tan, floor, "
                     "ceil, round, sign, not)");
  }
  DataType dt = ctx.input_dtype(0);
  if (!unary_supports_dtype(op, dt)) {
    return ctx.error("'" + name + "' does not support dtype " + std::string(dtype_name(dt)));
  }
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = ctx.input_shape(0);
  return Status::ok();
}

}  // namespace

const OpDef& unary_op() {
  static const OpDef def{"Unary", infer_unary, unary_cpu_tactics()};
  return def;
}

bool parse_unary_op(std::string_view name, UnaryOp* out) {
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] == name) {
      *out = static_cast<UnaryOp>(i);
      return true;
    }
  }
  return false;
}

std::string_view unary_op_name(UnaryOp op) {
  return kNames[static_cast<int>(op)];
}

bool unary_supports_dtype(UnaryOp op, DataType dtype) {
  if (op == UnaryOp::kNot) return dtype == DataType::kBool;
  if (is_floating(dtype)) return true;
  bool signed_int =
      dtype == DataType::kInt8 || dtype == DataType::kInt32 || dtype == DataType::kInt64;
  switch (op) {
    case UnaryOp::kNeg:
      return signed_int;
    case UnaryOp::kAbs:
    case UnaryOp::kSign:
      return signed_int || dtype == DataType::kUInt8;
    default:
      return false;
  }
}

}  // namespace kiln::ops
