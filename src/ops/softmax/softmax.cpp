#include "ops/softmax/softmax.h"

#include "ops/common/broadcast.h"

#include <cmath>

namespace kiln::ops {

namespace {
Status infer_softmax(InferContext& ctx) {
  if (ctx.num_inputs() < 1 || ctx.num_inputs() > 2 || !ctx.has_input(0)) {
    return ctx.error("expects inputs X and an optional Mask");
  }
  DataType dt = ctx.input_dtype(0);
  if (!is_floating(dt)) {
    return ctx.error("softmax needs a floating-point input, got " + std::string(dtype_name(dt)));
  }
  int64_t axis = ctx.attrs().get_int("axis", -1);
  Status s = normalize_axis(&axis, ctx.input_rank(0), "axis");
  if (!s.is_ok()) return ctx.error(s.message());
  for (const char* flag : {"log", "nan_to_zero"}) {
    int64_t v = ctx.attrs().get_int(flag, 0);
    if (v != 0 && v != 1) {
      return ctx.error(std::string("attribute '") + flag + "' must be 0 or 1, got " +
                       std::to_string(v));
    }
  }
  double scale = ctx.attrs().get_float("scale", 1.0);
  if (!std::isfinite(scale)) return ctx.error("attribute 'scale' must be finite");
  if (std::isnan(ctx.attrs().get_float("mask_fill", -INFINITY))) {
    return ctx.error("attribute 'mask_fill' must not be NaN");
  }
  if (ctx.has_input(1)) {
    DataType mt = ctx.input_dtype(1);
    if (!is_floating(mt) && mt != DataType::kBool) {
      return ctx.error("Mask must be a float or bool tensor, got " + std::string(dtype_name(mt)));
    }
    KILN_RETURN_IF_ERROR(check_broadcasts_to(ctx, ctx.input_shape(1), ctx.input_shape(0), "Mask"));
  }
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = ctx.input_shape(0);
  return Status::ok();
}
}  // namespace

const OpDef& softmax_op() {
  static const OpDef def{"Softmax", infer_softmax, softmax_cpu_tactics()};
  return def;
}

SoftmaxParams softmax_params(const KernelInfo& info) {
  SoftmaxParams p;
  int64_t axis = info.attrs().get_int("axis", -1);
  int64_t rank = static_cast<int64_t>(info.input(0).shape.size());
  p.axis = static_cast<int>(axis < 0 ? axis + rank : axis);
  p.log = info.attrs().get_int("log", 0) != 0;
  p.scale = static_cast<float>(info.attrs().get_float("scale", 1.0));
  p.nan_to_zero = info.attrs().get_int("nan_to_zero", 0) != 0;
  p.has_mask = info.has_input(1);
  p.mask_fill = static_cast<float>(info.attrs().get_float("mask_fill", -INFINITY));
  return p;
}

}  // namespace kiln::ops
