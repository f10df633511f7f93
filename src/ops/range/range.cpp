#include "ops/range/range.h"

#include <cmath>

namespace kiln::ops {

namespace {

constexpr int64_t kMaxShapeValue = Dims::kMaxDims * 4;

Status infer_range(InferContext& ctx) {
  if (ctx.num_inputs() != 3 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2)) {
    return ctx.error("expects 3 inputs (start, limit, delta), got " +
                     std::to_string(ctx.num_inputs()));
  }
  const DataType dt = ctx.input_dtype(0);
  if (!is_floating(dt) && dt != DataType::kInt32 && dt != DataType::kInt64) {
    return ctx.error("inputs must be float32, float16, bfloat16, int32 or int64, got " +
                     std::string(dtype_name(dt)));
  }
  static const char* const kNames[] = {"start", "limit", "delta"};
  for (int i = 0; i < 3; ++i) {
    if (ctx.input_dtype(i) != dt) {
      return ctx.error(std::string(kNames[i]) + " has dtype " +
                       std::string(dtype_name(ctx.input_dtype(i))) + " but start has " +
                       std::string(dtype_name(dt)));
    }
    const ir::SymShape& s = ctx.input_shape(i);
    if (s.size() > 1 || (s.size() == 1 && !(s[0].is_const() && s[0].value() == 1))) {
      return ctx.error(std::string(kNames[i]) + " must be a scalar, got shape " +
                       ir::shape_to_string(s));
    }
  }
  auto& o = ctx.output(0);
  o.dtype = dt;
  if (!is_floating(dt)) {
    ir::SymExpr v[3];
    for (int i = 0; i < 3; ++i) {
      const auto* sv = ctx.shape_value(i);
      if (sv == nullptr || sv->size() != 1) {
        return ctx.error(std::string(kNames[i]) + " input '" + ctx.input(i)->name +
                         "' is computed from tensor data; a data-dependent range length is "
                         "unsupported");
      }
      v[i] = (*sv)[0];
    }
    if (!v[2].is_const()) return ctx.error("delta must be a constant");
    const int64_t delta = v[2].value();
    if (delta == 0) return ctx.error("delta is 0");
    // ceil((limit - start) / delta) as an exact integer expression.
    const ir::SymExpr n =
        delta > 0 ? ir::ceil_div(v[1] - v[0], delta) : ir::ceil_div(v[0] - v[1], -delta);
    const ir::SymExpr len = ir::sym_max(n, 0);
    o.shape = {len};
    if (len.is_const() && len.value() <= kMaxShapeValue) {
      std::vector<ir::SymExpr> value;
      for (int64_t i = 0; i < len.value(); ++i) value.push_back(v[0] + i * delta);
      o.shape_value = std::move(value);
    }
    return Status::ok();
  }
  double v[3];
  for (int i = 0; i < 3; ++i) {
    const HostTensor* c = ctx.constant(i);
    if (c == nullptr || c->numel() != 1) {
      return ctx.error(std::string(kNames[i]) + " input '" + ctx.input(i)->name +
                       "' is not a constant; a data-dependent range length is unsupported");
    }
    v[i] = c->get_double(0);
  }
  if (v[2] == 0) return ctx.error("delta is 0");
  auto len = range_length_float(dt, v[0], v[1], v[2]);
  if (!len.is_ok()) return ctx.error(len.status().message());
  o.shape = {ir::SymExpr(*len)};
  return Status::ok();
}

}  // namespace

Result<int64_t> range_length_float(DataType dt, double start, double limit, double delta) {
  double diff = limit - start;
  if (dt == DataType::kFloat32)
    diff = static_cast<float>(static_cast<float>(limit) - static_cast<float>(start));
  const double n = std::ceil(diff / delta);
  if (std::isnan(n) || n > static_cast<double>(int64_t{1} << 40)) {
    return invalid_argument("range length ceil((" + std::to_string(limit) + " - " +
                            std::to_string(start) + ") / " + std::to_string(delta) +
                            ") is not a valid extent");
  }
  return n > 0 ? static_cast<int64_t>(n) : int64_t{0};
}

const OpDef& range_op() {
  static const OpDef def{"Range", infer_range, range_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
