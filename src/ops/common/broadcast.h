// Broadcast helpers shared by ops that read an operand broadcast (numpy, right-aligned) to a
// larger shape without materializing it: Softmax and Attention masks, FusedElementwise inputs.
#pragma once

#include "ops/op.h"

#include <string>
#include <string_view>
#include <vector>

namespace kiln::ops {

// Shape inference check that `operand` broadcasts to `target` without enlarging it: rank <=
// target's, and every dim (right-aligned) is 1 or equals the target's. Dims that are symbolic on
// one side and not provably equal are accepted here and checked by the kernels at run time.
// `what` names the operand in the error.
inline Status check_broadcasts_to(const InferContext& ctx, const ir::SymShape& operand,
                                  const ir::SymShape& target, std::string_view what) {
  bool ok = operand.size() <= target.size();
  for (size_t i = 0; ok && i < operand.size(); ++i) {
    const ir::SymExpr& m = operand[operand.size() - 1 - i];
    const ir::SymExpr& t = target[target.size() - 1 - i];
    if (m.is_const() && m.value() == 1) continue;
    if (m.same_as(t)) continue;
    if (m.is_const() && t.is_const()) ok = false;
  }
  if (!ok) {
    return ctx.error(std::string(what) + " shape " + ir::shape_to_string(operand) +
                     " does not broadcast to " + ir::shape_to_string(target));
  }
  return Status::ok();
}

// Element strides of `in` broadcast to `out` (one per dim of `out`, 0 where broadcast); false if
// `in` does not broadcast to `out` without enlarging it.
inline bool broadcast_strides_to(const Dims& in, const Dims& out, int64_t* strides) {
  if (in.rank() > out.rank()) return false;
  const int off = out.rank() - in.rank();
  int64_t s = 1;
  for (int d = out.rank() - 1; d >= 0; --d) {
    const int id = d - off;
    if (id < 0) {
      strides[d] = 0;
      continue;
    }
    if (in[id] != out[d] && in[id] != 1) return false;
    strides[d] = in[id] == 1 ? 0 : s;
    s *= in[id];
  }
  return true;
}

// The run-time error of an operand that does not broadcast to the shape it is applied to.
inline Status broadcast_error(std::string_view what, const Dims& in, const Dims& out) {
  return invalid_argument(std::string(what) + " shape " + in.to_string() +
                          " does not broadcast to " + out.to_string());
}

}  // namespace kiln::ops
