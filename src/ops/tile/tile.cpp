#include "ops/tile/tile.h"

namespace kiln::ops {

namespace {

Status infer_tile(InferContext& ctx) {
  if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1)) {
    return ctx.error("expects 2 inputs (X, repeats), got " + std::to_string(ctx.num_inputs()));
  }
  const DataType dt = ctx.input_dtype(1);
  if (dt != DataType::kInt64 && dt != DataType::kInt32) {
    return ctx.error("repeats input must be int64 or int32, got " + std::string(dtype_name(dt)));
  }
  if (ctx.input_rank(1) != 1) {
    return ctx.error("repeats input must be 1-D, got rank " + std::to_string(ctx.input_rank(1)));
  }
  const ir::SymShape& in = ctx.input_shape(0);
  if (in.empty()) return ctx.error("cannot tile a scalar");
  const auto* sv = ctx.shape_value(1);
  if (sv == nullptr) {
    return ctx.error("repeats input '" + ctx.input(1)->name +
                     "' is computed from tensor data; data-dependent repeats are unsupported");
  }
  const std::vector<ir::SymExpr> repeats = *sv;
  if (repeats.size() != in.size()) {
    return ctx.error("repeats has " + std::to_string(repeats.size()) +
                     " entries but the input has rank " + std::to_string(in.size()));
  }
  ir::SymShape out(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (repeats[i].is_const() && repeats[i].value() < 0) {
      return ctx.error("repeat " + std::to_string(repeats[i].value()) + " of axis " +
                       std::to_string(i) + " is negative");
    }
    out[i] = in[i] * repeats[i];
  }
  auto& o = ctx.output(0);
  o.dtype = ctx.input_dtype(0);
  o.shape = std::move(out);
  const auto* xsv = ctx.shape_value(0);
  if (xsv != nullptr && in.size() == 1 && repeats[0].is_const() &&
      static_cast<int64_t>(xsv->size()) * repeats[0].value() <= Dims::kMaxDims * 4) {
    std::vector<ir::SymExpr> value;
    for (int64_t r = 0; r < repeats[0].value(); ++r) {
      value.insert(value.end(), xsv->begin(), xsv->end());
    }
    o.shape_value = std::move(value);
  }
  return Status::ok();
}

}  // namespace

const OpDef& tile_op() {
  static const OpDef def{"Tile", infer_tile, tile_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
