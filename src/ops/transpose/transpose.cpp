#include "ops/transpose/transpose.h"

#include "ops/common/attr_utils.h"

namespace kiln::ops {

namespace {

Status infer_transpose(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return ctx.error("expects 1 input");
  const ir::SymShape& in = ctx.input_shape(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> perm = transpose_perm(ctx.attrs(), rank);
  if (static_cast<int64_t>(perm.size()) != rank) {
    return ctx.error("perm " + ints_to_string(perm) + " has " + std::to_string(perm.size()) +
                     " entries, the input has rank " + std::to_string(rank));
  }
  std::vector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[p]) {
      return ctx.error("perm " + ints_to_string(perm) + " is not a permutation of [0, " +
                       std::to_string(rank) + ")");
    }
    seen[p] = true;
  }
  auto& out = ctx.output(0);
  out.dtype = ctx.input_dtype(0);
  out.shape.clear();
  for (int64_t p : perm) out.shape.push_back(in[p]);
  if (const auto* sv = ctx.shape_value(0)) out.shape_value = *sv;
  return Status::ok();
}

}  // namespace

std::vector<int64_t> transpose_perm(const ir::Attrs& attrs, int64_t rank) {
  if (attrs.has("perm")) return attrs.get_ints("perm");
  std::vector<int64_t> perm(rank);
  for (int64_t i = 0; i < rank; ++i) perm[i] = rank - 1 - i;
  return perm;
}

const OpDef& transpose_op() {
  static const OpDef def{"Transpose", infer_transpose, transpose_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
