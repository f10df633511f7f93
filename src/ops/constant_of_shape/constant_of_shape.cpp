#include "ops/constant_of_shape/constant_of_shape.h"

#include <cmath>

namespace kiln::ops {

namespace {

constexpr int64_t kMaxShapeValue = 64;  // longest filled tensor that gets a shape value

Status infer_constant_of_shape(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) {
    return ctx.error("expects 1 input (shape), got " + std::to_string(ctx.num_inputs()));
  }
  const DataType sdt = ctx.input_dtype(0);
  if (sdt != DataType::kInt64 && sdt != DataType::kInt32) {
    return ctx.error("shape input must be int64, got " + std::string(dtype_name(sdt)));
  }
  if (ctx.input_rank(0) != 1) {
    return ctx.error("shape input must be 1-D, got rank " + std::to_string(ctx.input_rank(0)));
  }
  const auto* sv = ctx.shape_value(0);
  if (sv == nullptr) {
    return ctx.error("shape input '" + ctx.input(0)->name +
                     "' is computed from tensor data; data-dependent shapes are unsupported");
  }
  const ir::SymShape shape = *sv;
  if (shape.size() > static_cast<size_t>(Dims::kMaxDims)) {
    return ctx.error("shape has " + std::to_string(shape.size()) + " dims, more than " +
                     std::to_string(Dims::kMaxDims));
  }
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i].is_const() && shape[i].value() < 0) {
      return ctx.error("shape " + ir::shape_to_string(shape, ctx.graph().symbol_names()) +
                       " has negative extent at dim " + std::to_string(i));
    }
  }
  DataType dtype = DataType::kFloat32;
  const std::string name = ctx.attrs().get_string("dtype", "float32");
  if (!dtype_from_name(name, &dtype)) return ctx.error("unknown dtype '" + name + "'");
  const double value = ctx.attrs().get_float("value", 0.0);
  if (is_integer(dtype)) {
    // The fill converts the value with a cast, which must not overflow the integer type.
    double lo = 0, hi = 0;
    switch (dtype) {
      case DataType::kInt8:
        lo = -128, hi = 127;
        break;
      case DataType::kUInt8:
        lo = 0, hi = 255;
        break;
      case DataType::kInt32:
        lo = -2147483648.0, hi = 2147483647.0;
        break;
      default:
        lo = -9.2e18, hi = 9.2e18;
        break;
    }
    if (!(value >= lo && value <= hi)) {
      return ctx.error("value " + std::to_string(value) + " does not fit dtype " + name);
    }
  }
  auto& out = ctx.output(0);
  out.dtype = dtype;
  out.shape = shape;
  if ((dtype == DataType::kInt64 || dtype == DataType::kInt32) && shape.size() <= 1 &&
      std::fabs(value) < 9e18) {  // representable as int64
    const ir::SymExpr n = ir::sym_volume(shape);
    if (n.is_const() && n.value() <= kMaxShapeValue) {
      const int64_t v =
          dtype == DataType::kInt32 ? static_cast<int32_t>(value) : static_cast<int64_t>(value);
      out.shape_value = std::vector<ir::SymExpr>(n.value(), ir::SymExpr(v));
    }
  }
  return Status::ok();
}

}  // namespace

const OpDef& constant_of_shape_op() {
  // Tactic dtypes name the output's (input 0 is the int shape).
  static const OpDef def{"ConstantOfShape", infer_constant_of_shape,
                         constant_of_shape_cpu_tactics(), kDtypeOfOutput};
  return def;
}

}  // namespace kiln::ops
