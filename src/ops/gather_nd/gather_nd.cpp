#include "ops/gather_nd/gather_nd.h"

#include <algorithm>

namespace kiln::ops {

namespace {

Status infer_gather_nd(InferContext& ctx) {
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
  const int64_t r = static_cast<int64_t>(data.size());
  const int64_t q = static_cast<int64_t>(indices.size());
  if (r < 1) return ctx.error("data must have rank >= 1, got a scalar");
  if (q < 1) return ctx.error("indices must have rank >= 1, got a scalar");
  const int64_t b = ctx.attrs().get_int("batch_dims", 0);
  if (b < 0 || b >= std::min(q, r)) {
    return ctx.error("batch_dims " + std::to_string(b) + " must be in [0, min(rank(indices) " +
                     std::to_string(q) + ", rank(data) " + std::to_string(r) + "))");
  }
  const ir::SymExpr& last = indices[q - 1];
  if (!last.is_const()) {
    return ctx.error("the last dim of indices " + ir::shape_to_string(indices) +
                     " (the index tuple length) must be static");
  }
  const int64_t k = last.value();
  if (k < 1 || k > r - b) {
    return ctx.error("the last dim of indices " + ir::shape_to_string(indices) + " is " +
                     std::to_string(k) + ", must be in [1, rank(data) - batch_dims] = [1, " +
                     std::to_string(r - b) + "] for data " + ir::shape_to_string(data));
  }
  for (int64_t d = 0; d < b; ++d) {
    if (data[d].is_const() && indices[d].is_const() && data[d].value() != indices[d].value()) {
      return ctx.error("batch dim " + std::to_string(d) + " differs: data " +
                       ir::shape_to_string(data) + ", indices " + ir::shape_to_string(indices));
    }
  }
  auto& out = ctx.output(0);
  out.dtype = ctx.input_dtype(0);
  out.shape.assign(indices.begin(), indices.end() - 1);
  out.shape.insert(out.shape.end(), data.begin() + b + k, data.end());
  return Status::ok();
}

}  // namespace

Status gather_nd_geometry(const Dims& data, const Dims& idx, const Dims& out, int64_t b,
                          GatherNdGeometry* g) {
  const int r = data.rank(), q = idx.rank();
  if (q < 1 || b >= std::min(q, r)) return invalid_argument("GatherND: bad ranks");
  g->b = static_cast<int>(b);
  g->k = idx[q - 1];
  if (g->k < 1 || g->k > r - b) {
    return invalid_argument("GatherND: index tuple length " + std::to_string(g->k) +
                            " does not fit data " + data.to_string());
  }
  for (int d = 0; d < b; ++d) {
    if (data[d] != idx[d]) {
      return invalid_argument("GatherND: batch dim " + std::to_string(d) + " differs: data " +
                              data.to_string() + ", indices " + idx.to_string());
    }
    g->batches *= data[d];
  }
  for (int d = g->b; d < q - 1; ++d) g->tuples *= idx[d];
  for (int d = g->b + static_cast<int>(g->k); d < r; ++d) g->slice *= data[d];
  for (int d = g->b; d < r; ++d) g->batch_size *= data[d];
  if (out.volume() != g->batches * g->tuples * g->slice) {
    return invalid_argument("GatherND: output " + out.to_string() + " does not match data " +
                            data.to_string() + " and indices " + idx.to_string());
  }
  return Status::ok();
}

const OpDef& gather_nd_op() {
  static const OpDef def{"GatherND", infer_gather_nd, gather_nd_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
