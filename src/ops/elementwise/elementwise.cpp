#include "ops/elementwise/elementwise.h"

namespace kiln::ops {

namespace {

constexpr std::string_view kNames[] = {
    "sum",   "sub",  "prod",    "div",        "min",           "max", "pow", "mod",
    "equal", "less", "greater", "less_equal", "greater_equal", "and", "or",  "xor"};

// Truncating integer division and sign-of-divisor mod of two constants (matching the kernels);
// nullopt for a zero divisor.
std::optional<int64_t> const_div(int64_t a, int64_t b) {
  if (b == 0) return std::nullopt;
  if (b == -1) return static_cast<int64_t>(0 - static_cast<uint64_t>(a));
  return a / b;
}

// Symbolic content of the output of sum/sub/prod/div/min/max/mod, or nullopt.
std::optional<std::vector<ir::SymExpr>> shape_value_result(ElementWiseOp op, bool fmod,
                                                           const std::vector<ir::SymExpr>& a,
                                                           const std::vector<ir::SymExpr>& b) {
  size_t n = a.size() == 1 ? b.size() : a.size();
  if (a.size() != n && a.size() != 1) return std::nullopt;
  if (b.size() != n && b.size() != 1) return std::nullopt;
  std::vector<ir::SymExpr> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const ir::SymExpr& x = a[a.size() == 1 ? 0 : i];
    const ir::SymExpr& y = b[b.size() == 1 ? 0 : i];
    switch (op) {
      case ElementWiseOp::kSum:
        out.push_back(x + y);
        break;
      case ElementWiseOp::kSub:
        out.push_back(x - y);
        break;
      case ElementWiseOp::kProd:
        out.push_back(x * y);
        break;
      case ElementWiseOp::kMin:
        out.push_back(ir::sym_min(x, y));
        break;
      case ElementWiseOp::kMax:
        out.push_back(ir::sym_max(x, y));
        break;
      case ElementWiseOp::kDiv:
        if (x.is_const() && y.is_const()) {
          // Exact kernel semantics (truncation) for constants, which may be negative.
          std::optional<int64_t> q = const_div(x.value(), y.value());
          if (!q) return std::nullopt;
          out.emplace_back(*q);
        } else {
          out.push_back(ir::floor_div(x, y));  // dims are non-negative: floor == truncation
        }
        break;
      case ElementWiseOp::kMod:
        if (fmod) {
          if (!(x.is_const() && y.is_const()) || y.value() == 0) return std::nullopt;
          out.emplace_back(y.value() == -1 ? 0 : x.value() % y.value());
        } else {
          if (y.is_const() && y.value() == 0) return std::nullopt;
          out.push_back(ir::sym_mod(x, y));  // floor mod: the divisor's sign, as fmod=0
        }
        break;
      default:
        return std::nullopt;
    }
  }
  return out;
}

Status infer_elementwise(InferContext& ctx) {
  if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1)) {
    return ctx.error("expects 2 inputs, got " + std::to_string(ctx.num_inputs()));
  }
  std::string name = ctx.attrs().get_string("op");
  ElementWiseOp op;
  if (!parse_elementwise_op(name, &op)) {
    return ctx.error("unknown elementwise op '" + name +
                     "' (sum, sub, prod, div, min, max, pow, mod, equal, less, greater, "
                     "less_equal, greater_equal, and, or, xor)");
  }
  DataType da = ctx.input_dtype(0), db = ctx.input_dtype(1);
  if (da != db) {
    return ctx.error("inputs must have the same dtype, got " + std::string(dtype_name(da)) +
                     " and " + std::string(dtype_name(db)));
  }
  int64_t fmod = ctx.attrs().get_int("fmod", 0);
  if (fmod != 0 && fmod != 1) {
    return ctx.error("attribute 'fmod' must be 0 or 1, got " + std::to_string(fmod));
  }
  bool is_bool = da == DataType::kBool;
  if (is_logic(op) && !is_bool) {
    return ctx.error("'" + name + "' needs bool inputs, got " + std::string(dtype_name(da)));
  }
  if (!is_logic(op) && is_bool && op != ElementWiseOp::kEqual) {
    return ctx.error("'" + name + "' does not accept bool inputs");
  }
  Result<ir::SymShape> shape = broadcast_shapes(ctx.input_shape(0), ctx.input_shape(1));
  if (!shape.is_ok()) return ctx.error(shape.status().message());

  auto& out = ctx.output(0);
  out.dtype = is_comparison(op) ? DataType::kBool : da;
  out.shape = std::move(*shape);

  bool int_shape = (da == DataType::kInt64 || da == DataType::kInt32) && ctx.input_rank(0) <= 1 &&
                   ctx.input_rank(1) <= 1;
  if (int_shape && !is_comparison(op) && op != ElementWiseOp::kPow) {
    // Copy: for constants, shape_value() reuses one buffer for every input.
    const std::vector<ir::SymExpr>* sa = ctx.shape_value(0);
    std::vector<ir::SymExpr> a = sa ? *sa : std::vector<ir::SymExpr>{};
    const std::vector<ir::SymExpr>* sb = sa ? ctx.shape_value(1) : nullptr;
    if (sb != nullptr) out.shape_value = shape_value_result(op, fmod != 0, a, *sb);
  }
  return Status::ok();
}

}  // namespace

const OpDef& elementwise_op() {
  static const OpDef def{"ElementWise", infer_elementwise, elementwise_cpu_tactics()};
  return def;
}

bool parse_elementwise_op(std::string_view name, ElementWiseOp* out) {
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] == name) {
      *out = static_cast<ElementWiseOp>(i);
      return true;
    }
  }
  return false;
}

std::string_view elementwise_op_name(ElementWiseOp op) {
  return kNames[static_cast<int>(op)];
}

}  // namespace kiln::ops
