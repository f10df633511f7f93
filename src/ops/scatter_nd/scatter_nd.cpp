#include "ops/scatter_nd/scatter_nd.h"

#include "ops/scatter_elements/scatter_elements.h"

namespace kiln::ops {

namespace {

Status infer_scatter_nd(InferContext& ctx) {
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
  const int64_t r = static_cast<int64_t>(data.size());
  const int64_t q = static_cast<int64_t>(indices.size());
  if (r < 1) return ctx.error("data must have rank >= 1, got a scalar");
  if (q < 1) return ctx.error("indices must have rank >= 1, got a scalar");
  if (!indices[q - 1].is_const()) {
    return ctx.error("the last dim of indices " + ir::shape_to_string(indices) +
                     " (the index tuple length) must be static");
  }
  const int64_t k = indices[q - 1].value();
  if (k < 1 || k > r) {
    return ctx.error("the last dim of indices " + ir::shape_to_string(indices) + " is " +
                     std::to_string(k) + ", must be in [1, rank(data)] = [1, " + std::to_string(r) +
                     "]");
  }
  ir::SymShape want(indices.begin(), indices.end() - 1);
  want.insert(want.end(), data.begin() + k, data.end());
  bool ok = updates.size() == want.size();
  for (size_t d = 0; ok && d < want.size(); ++d) {
    if (updates[d].is_const() && want[d].is_const() && updates[d].value() != want[d].value()) {
      ok = false;
    }
  }
  if (!ok) {
    return ctx.error(
        "updates " + ir::shape_to_string(updates) +
        " must have shape indices.shape[:-1] ++ data.shape[k:] = " + ir::shape_to_string(want));
  }
  ctx.output(0).dtype = ctx.input_dtype(0);
  ctx.output(0).shape = data;
  return Status::ok();
}

}  // namespace

Status scatter_nd_geometry(const Dims& dd, const Dims& id, const Dims& updates, int* k_out,
                           int64_t* tuples, int64_t* slice) {
  const int r = dd.rank(), q = id.rank();
  if (q < 1 || id[q - 1] < 1 || id[q - 1] > r) {
    return invalid_argument("ScatterND: indices " + id.to_string() + " do not fit data " +
                            dd.to_string());
  }
  const int k = static_cast<int>(id[q - 1]);
  std::vector<int64_t> want(id.begin(), id.end() - 1);
  want.insert(want.end(), dd.begin() + k, dd.end());
  if (!(updates == Dims(std::span<const int64_t>(want)))) {
    return invalid_argument("ScatterND: updates " + updates.to_string() + " must have shape " +
                            Dims(std::span<const int64_t>(want)).to_string());
  }
  *k_out = k;
  *tuples = 1;
  *slice = 1;
  for (int d = 0; d < q - 1; ++d) *tuples *= id[d];
  for (int d = k; d < r; ++d) *slice *= dd[d];
  return Status::ok();
}

const OpDef& scatter_nd_op() {
  static const OpDef def{"ScatterND", infer_scatter_nd, scatter_nd_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
