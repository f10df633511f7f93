#include "ops/reshape/reshape.h"

#include <algorithm>
#include <limits>

namespace kiln::ops {

namespace {

// Splits a product into its constant part and its non-constant factors; false when the
// constant part overflows int64 (extents from a malformed model can be anything).
bool flatten_product(const ir::SymExpr& e, int64_t* c, std::vector<ir::SymExpr>* factors) {
  if (e.is_const()) return !__builtin_mul_overflow(*c, e.value(), c);
  if (e.kind() == ir::SymExpr::Kind::kMul) {
    return flatten_product(e.lhs(), c, factors) && flatten_product(e.rhs(), c, factors);
  }
  factors->push_back(e);
  return true;
}

Status infer_reshape(InferContext& ctx) {
  if (ctx.num_inputs() < 1 || ctx.num_inputs() > 2 || !ctx.has_input(0)) {
    return ctx.error("expects 1 or 2 inputs (data, shape), got " +
                     std::to_string(ctx.num_inputs()));
  }
  const auto names = ctx.graph().symbol_names();
  std::vector<ir::SymExpr> target;
  if (ctx.has_input(1)) {
    DataType dt = ctx.input_dtype(1);
    if (dt != DataType::kInt64 && dt != DataType::kInt32) {
      return ctx.error("shape input must be int64, got " + std::string(dtype_name(dt)));
    }
    if (ctx.input_rank(1) != 1) {
      return ctx.error("shape input must be 1-D, got rank " + std::to_string(ctx.input_rank(1)));
    }
    const auto* sv = ctx.shape_value(1);
    if (sv == nullptr) {
      return ctx.error("shape input '" + ctx.input(1)->name +
                       "' is computed from tensor data; data-dependent reshape shapes are "
                       "unsupported");
    }
    target = *sv;
  } else if (ctx.attrs().has("shape")) {
    for (int64_t v : ctx.attrs().get_ints("shape")) target.emplace_back(v);
  } else {
    return ctx.error("needs a shape input or a 'shape' attribute");
  }
  if (target.size() > static_cast<size_t>(Dims::kMaxDims)) {
    return ctx.error("target shape " + ir::shape_to_string(target, names) + " has more than " +
                     std::to_string(Dims::kMaxDims) + " dims");
  }
  const bool allowzero = ctx.attrs().get_int("allowzero", 0) != 0;
  const ir::SymShape& in = ctx.input_shape(0);
  const std::string target_str = ir::shape_to_string(target, names);
  const std::string in_str = ir::shape_to_string(in, names);

  ir::SymShape out(target.size());
  int infer_at = -1;
  bool has_zero = false;
  ir::SymExpr known = int64_t{1};
  for (size_t i = 0; i < target.size(); ++i) {
    const ir::SymExpr& t = target[i];
    if (t.is_const()) {
      int64_t v = t.value();
      if (v == -1) {
        if (infer_at >= 0) return ctx.error("target shape " + target_str + " has more than one -1");
        infer_at = static_cast<int>(i);
        continue;
      }
      if (v < -1) {
        return ctx.error("target shape " + target_str + " has invalid extent " + std::to_string(v) +
                         " at dim " + std::to_string(i));
      }
      if (v == 0 && !allowzero) {
        if (i >= in.size()) {
          return ctx.error("target shape " + target_str + " copies dim " + std::to_string(i) +
                           " (a 0) but the input " + in_str + " has rank " +
                           std::to_string(in.size()));
        }
        out[i] = in[i];
      } else {
        out[i] = t;
        has_zero = has_zero || v == 0;
      }
    } else {
      out[i] = t;  // symbolic extents come from dims: assumed >= 0
    }
    known = known * out[i];
  }
  if (allowzero && has_zero && infer_at >= 0) {
    return ctx.error("target shape " + target_str +
                     " combines 0 and -1, which allowzero=1 forbids");
  }
  const ir::SymExpr volume = ir::sym_volume(in);
  if (infer_at >= 0) {
    if (known.is_const() && known.value() == 0) {
      return ctx.error("cannot infer the -1 of target shape " + target_str + " for input " +
                       in_str + ": the other extents multiply to 0");
    }
    if (known.is_const() && volume.is_const() && volume.value() % known.value() != 0) {
      return ctx.error("cannot reshape input " + in_str + " (" + std::to_string(volume.value()) +
                       " elements) to " + target_str + ": not a multiple of " +
                       std::to_string(known.value()));
    }
    out[infer_at] = divide_extents(volume, known);
  } else if (known.is_const() && volume.is_const() && known.value() != volume.value()) {
    return ctx.error("cannot reshape input " + in_str + " (" + std::to_string(volume.value()) +
                     " elements) to " + target_str + " (" + std::to_string(known.value()) +
                     " elements)");
  }

  auto& o = ctx.output(0);
  o.dtype = ctx.input_dtype(0);
  o.shape = std::move(out);
  if (const auto* sv = ctx.shape_value(0)) {
    ir::SymExpr n = ir::sym_volume(o.shape);
    if (o.shape.size() <= 1 && n.is_const() && n.value() == static_cast<int64_t>(sv->size())) {
      o.shape_value = *sv;
    }
  }
  return Status::ok();
}

}  // namespace

ir::SymExpr divide_extents(const ir::SymExpr& a, const ir::SymExpr& b) {
  int64_t ca = 1, cb = 1;
  std::vector<ir::SymExpr> fa, fb;
  if (!flatten_product(a, &ca, &fa) || !flatten_product(b, &cb, &fb)) return ir::floor_div(a, b);
  for (const ir::SymExpr& f : fb) {
    auto it =
        std::find_if(fa.begin(), fa.end(), [&](const ir::SymExpr& x) { return x.same_as(f); });
    if (it == fa.end()) return ir::floor_div(a, b);
    fa.erase(it);
  }
  if (cb == 0 || (cb == -1 && ca == std::numeric_limits<int64_t>::min()) || ca % cb != 0) {
    return ir::floor_div(a, b);
  }
  ir::SymExpr q = ca / cb;
  for (const ir::SymExpr& f : fa) q = q * f;
  return q;
}

const OpDef& reshape_op() {
  static const OpDef def{"Reshape", infer_reshape, reshape_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
