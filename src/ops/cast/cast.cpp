#include "ops/cast/cast.h"

#include <limits>

namespace kiln::ops {

namespace {
Status infer_cast(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return ctx.error("expects 1 input (X)");
  if (!ctx.attrs().has("to")) return ctx.error("needs attribute 'to' (a dtype name)");
  std::string to = ctx.attrs().get_string("to");
  DataType dt;
  if (!dtype_from_name(to, &dt))
    return ctx.error("attribute 'to' names an unknown dtype '" + to + "'");
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = ctx.input_shape(0);
  const std::vector<ir::SymExpr>* sv = ctx.shape_value(0);
  if (sv != nullptr && is_integer(dt)) {
    bool keep = dt == DataType::kInt32 || dt == DataType::kInt64;
    if (!keep) {
      int64_t lo = dt == DataType::kInt8 ? std::numeric_limits<int8_t>::min() : 0;
      int64_t hi = dt == DataType::kInt8 ? std::numeric_limits<int8_t>::max()
                                         : std::numeric_limits<uint8_t>::max();
      keep = true;
      for (const ir::SymExpr& e : *sv) {
        keep = keep && e.is_const() && e.value() >= lo && e.value() <= hi;
      }
    }
    if (keep) ctx.output(0).shape_value = *sv;
  }
  return Status::ok();
}
}  // namespace

const OpDef& cast_op() {
  static const OpDef def{"Cast", infer_cast, cast_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
