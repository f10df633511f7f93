// Element-wise ops: arithmetic (Add, Sub, Mul, Div, Pow, Mod), variadic Sum/Mean/Min/Max,
// comparisons and logic, unary math (Exp, Log, ..., Sign) with composites for the hyperbolic
// and inverse trigonometric functions, IsNaN, IsInf, BitShift, Where.
#include "onnx/translators/translators.h"

#include "ops/op.h"

#include <cmath>
#include <limits>

namespace kiln::onnx_import {

namespace {

Status check_same_dtype(NodeContext& c, int a, int b) {
  if (c.dtype(a) != c.dtype(b)) {
    return invalid_argument("inputs have different dtypes: " + std::string(dtype_name(c.dtype(a))) +
                            " and " + std::string(dtype_name(c.dtype(b))));
  }
  return Status::ok();
}

// A binary op of numeric inputs (bool is not arithmetic).
Status binary(NodeContext& c, std::string_view op) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  int a = c.input(0), b = c.input(1);
  KILN_RETURN_IF_ERROR(check_same_dtype(c, a, b));
  if (c.dtype(a) == DataType::kBool) {
    return unsupported("input has dtype bool; " + c.op_type() + " needs numbers");
  }
  KILN_ASSIGN_OR_RETURN(b, legacy_broadcast(c, a, b));
  KILN_ASSIGN_OR_RETURN(int y, c.elementwise(op, a, b));
  c.set_output(0, y);
  return Status::ok();
}

Status add(NodeContext& c) {
  return binary(c, "sum");
}
Status sub(NodeContext& c) {
  return binary(c, "sub");
}
Status mul(NodeContext& c) {
  return binary(c, "prod");
}
Status div(NodeContext& c) {
  return binary(c, "div");
}

// Pow's exponent may have another dtype than the base: it is cast to the base's dtype.
Status pow_(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  int a = c.input(0), b = c.input(1);
  if (c.dtype(a) == DataType::kBool || c.dtype(b) == DataType::kBool) {
    return unsupported("Pow of bool");
  }
  KILN_ASSIGN_OR_RETURN(b, c.cast(b, c.dtype(a)));
  KILN_ASSIGN_OR_RETURN(b, legacy_broadcast(c, a, b));
  KILN_ASSIGN_OR_RETURN(int y, c.elementwise("pow", a, b));
  c.set_output(0, y);
  return Status::ok();
}

Status mod(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  int a = c.input(0), b = c.input(1);
  KILN_RETURN_IF_ERROR(check_same_dtype(c, a, b));
  int64_t fmod = c.attr_int("fmod", 0);
  if (fmod != 0 && fmod != 1)
    return c.invalid_attr("fmod", std::to_string(fmod), "expected 0 or 1");
  if (fmod == 0 && is_floating(c.dtype(a))) {
    return invalid_argument("fmod=0 is only defined for integer inputs, got " +
                            std::string(dtype_name(c.dtype(a))));
  }
  ir::Attrs at;
  at.set("op", std::string("mod"));
  at.set("fmod", fmod);
  KILN_ASSIGN_OR_RETURN(int y, c.add1("ElementWise", {a, b}, std::move(at)));
  c.set_output(0, y);
  return Status::ok();
}

// Sum / Min / Max / Mean of one or more inputs: a chain of binary nodes.
Status variadic(NodeContext& c, std::string_view op, bool mean) {
  int n = c.num_inputs();
  if (n < 1) return invalid_argument("expects at least 1 input");
  for (int i = 0; i < n; ++i) {
    if (!c.has_input(i)) return invalid_argument("input " + std::to_string(i) + " is empty");
  }
  int y = c.input(0);
  if (c.dtype(y) == DataType::kBool) return unsupported(c.op_type() + " of bool");
  for (int i = 1; i < n; ++i) {
    KILN_RETURN_IF_ERROR(check_same_dtype(c, y, c.input(i)));
    KILN_ASSIGN_OR_RETURN(y, c.elementwise(op, y, c.input(i)));
  }
  if (mean && n > 1) {
    KILN_ASSIGN_OR_RETURN(y, c.elementwise("div", y, c.scalar(c.dtype(y), n)));
  }
  if (y == c.input(0)) {
    KILN_ASSIGN_OR_RETURN(y, c.add1("Identity", {y}));
  }
  c.set_output(0, y);
  return Status::ok();
}

Status sum(NodeContext& c) {
  return variadic(c, "sum", false);
}
Status mean(NodeContext& c) {
  return variadic(c, "sum", true);
}
Status min_(NodeContext& c) {
  return variadic(c, "min", false);
}
Status max_(NodeContext& c) {
  return variadic(c, "max", false);
}

Status compare(NodeContext& c, std::string_view op) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  int a = c.input(0), b = c.input(1);
  KILN_RETURN_IF_ERROR(check_same_dtype(c, a, b));
  if (c.dtype(a) == DataType::kBool && op != "equal") {
    return unsupported(c.op_type() + " of bool inputs");
  }
  KILN_ASSIGN_OR_RETURN(b, legacy_broadcast(c, a, b));
  KILN_ASSIGN_OR_RETURN(int y, c.elementwise(op, a, b));
  c.set_output(0, y);
  return Status::ok();
}

// Whether an expression over dims is >= 0 whatever the dims are.
bool known_non_negative(const ir::SymExpr& e) {
  using K = ir::SymExpr::Kind;
  switch (e.kind()) {
    case K::kConst:
      return e.value() >= 0;
    case K::kSymbol:
      return true;
    case K::kAdd:
    case K::kMul:
    case K::kFloorDiv:
    case K::kCeilDiv:
    case K::kMin:
    case K::kMax:
    case K::kBroadcast:
      return known_non_negative(e.lhs()) && known_non_negative(e.rhs());
    default:
      return false;
  }
}

std::optional<bool> decide_equal(const ir::SymExpr& a, const ir::SymExpr& b) {
  if (a.is_const() && b.is_const()) return a.value() == b.value();
  if (a.same_as(b)) return true;
  if (b.is_const() && b.value() < 0 && known_non_negative(a)) return false;
  if (a.is_const() && a.value() < 0 && known_non_negative(b)) return false;
  return std::nullopt;
}

// Equal of shape tensors (e.g. PyTorch's `shape == -1` test before an Expand): when every entry
// is decided by the symbolic content, the result is a constant, which keeps the shape program
// on the host.
Status equal(NodeContext& c) {
  if (c.num_inputs() == 2 && c.has_input(0) && c.has_input(1) && c.opset() >= 7) {
    int a = c.input(0), b = c.input(1);
    auto sa = c.shape_content(a), sb = c.shape_content(b);
    if (sa && sb && c.dtype(a) == c.dtype(b) &&
        (sa->size() == sb->size() || sa->size() == 1 || sb->size() == 1)) {
      const size_t n = std::max(sa->size(), sb->size());
      HostTensor t(DataType::kBool,
                   c.rank(a) == 0 && c.rank(b) == 0 ? Dims{} : Dims{static_cast<int64_t>(n)});
      bool decided = true;
      for (size_t i = 0; i < n && decided; ++i) {
        auto r = decide_equal((*sa)[sa->size() == 1 ? 0 : i], (*sb)[sb->size() == 1 ? 0 : i]);
        decided = r.has_value();
        if (decided) t.as<uint8_t>()[i] = *r ? 1 : 0;
      }
      if (decided) {
        c.set_output(0, c.constant(std::move(t), "equal"));
        return Status::ok();
      }
    }
  }
  return compare(c, "equal");
}
Status less(NodeContext& c) {
  return compare(c, "less");
}
Status greater(NodeContext& c) {
  return compare(c, "greater");
}
Status less_equal(NodeContext& c) {
  return compare(c, "less_equal");
}
Status greater_equal(NodeContext& c) {
  return compare(c, "greater_equal");
}

Status logic(NodeContext& c, std::string_view op) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kBool}));
  KILN_RETURN_IF_ERROR(c.expect_dtype(1, {DataType::kBool}));
  int a = c.input(0);
  KILN_ASSIGN_OR_RETURN(int b, legacy_broadcast(c, a, c.input(1)));
  KILN_ASSIGN_OR_RETURN(int y, c.elementwise(op, a, b));
  c.set_output(0, y);
  return Status::ok();
}

Status and_(NodeContext& c) {
  return logic(c, "and");
}
Status or_(NodeContext& c) {
  return logic(c, "or");
}
Status xor_(NodeContext& c) {
  return logic(c, "xor");
}

Status not_(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kBool}));
  KILN_ASSIGN_OR_RETURN(int y, c.unary("not", c.input(0)));
  c.set_output(0, y);
  return Status::ok();
}

// Unary math on floating inputs.
Status unary_float(NodeContext& c, std::string_view op) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  KILN_ASSIGN_OR_RETURN(int y, c.unary(op, c.input(0)));
  c.set_output(0, y);
  return Status::ok();
}

Status exp_(NodeContext& c) {
  return unary_float(c, "exp");
}
Status log_(NodeContext& c) {
  return unary_float(c, "log");
}
Status sqrt_(NodeContext& c) {
  return unary_float(c, "sqrt");
}
Status reciprocal(NodeContext& c) {
  return unary_float(c, "reciprocal");
}
Status erf_(NodeContext& c) {
  return unary_float(c, "erf");
}
Status sin_(NodeContext& c) {
  return unary_float(c, "sin");
}
Status cos_(NodeContext& c) {
  return unary_float(c, "cos");
}
Status tan_(NodeContext& c) {
  return unary_float(c, "tan");
}
Status floor_(NodeContext& c) {
  return unary_float(c, "floor");
}
Status ceil_(NodeContext& c) {
  return unary_float(c, "ceil");
}
Status round_(NodeContext& c) {
  return unary_float(c, "round");
}

// Abs / Neg / Sign take integers too.
Status unary_numeric(NodeContext& c, std::string_view op, std::initializer_list<DataType> ints) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  int x = c.input(0);
  if (!is_floating(c.dtype(x))) {
    bool ok = false;
    for (DataType d : ints) ok |= d == c.dtype(x);
    if (!ok) return c.expect_dtype(0, ints);
  }
  KILN_ASSIGN_OR_RETURN(int y, c.unary(op, x));
  c.set_output(0, y);
  return Status::ok();
}

Status abs_(NodeContext& c) {
  return unary_numeric(c, "abs",
                       {DataType::kInt8, DataType::kUInt8, DataType::kInt32, DataType::kInt64});
}
Status neg(NodeContext& c) {
  return unary_numeric(c, "neg", {DataType::kInt8, DataType::kInt32, DataType::kInt64});
}
Status sign(NodeContext& c) {
  return unary_numeric(c, "sign",
                       {DataType::kInt8, DataType::kUInt8, DataType::kInt32, DataType::kInt64});
}

// Hyperbolic functions from exp / log / sqrt.
Status hyperbolic(NodeContext& c, char which) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  int x = c.input(0);
  DataType dt = c.dtype(x);
  int y = -1;
  switch (which) {
    case 's':    // sinh = (e^x - e^-x) / 2
    case 'c': {  // cosh = (e^x + e^-x) / 2
      KILN_ASSIGN_OR_RETURN(int ep, c.unary("exp", x));
      KILN_ASSIGN_OR_RETURN(int nx, c.unary("neg", x));
      KILN_ASSIGN_OR_RETURN(int en, c.unary("exp", nx));
      KILN_ASSIGN_OR_RETURN(int t, c.elementwise(which == 's' ? "sub" : "sum", ep, en));
      KILN_ASSIGN_OR_RETURN(y, c.elementwise("prod", t, c.scalar(dt, 0.5)));
      break;
    }
    case 'S':    // asinh = log(x + sqrt(x^2 + 1))
    case 'C': {  // acosh = log(x + sqrt(x^2 - 1))
      KILN_ASSIGN_OR_RETURN(int sq, c.elementwise("prod", x, x));
      KILN_ASSIGN_OR_RETURN(int t,
                            c.elementwise(which == 'S' ? "sum" : "sub", sq, c.scalar(dt, 1)));
      KILN_ASSIGN_OR_RETURN(int r, c.unary("sqrt", t));
      KILN_ASSIGN_OR_RETURN(int s, c.elementwise("sum", x, r));
      KILN_ASSIGN_OR_RETURN(y, c.unary("log", s));
      break;
    }
    case 'T': {  // atanh = 0.5 * log((1 + x) / (1 - x))
      KILN_ASSIGN_OR_RETURN(int p, c.elementwise("sum", c.scalar(dt, 1), x));
      KILN_ASSIGN_OR_RETURN(int m, c.elementwise("sub", c.scalar(dt, 1), x));
      KILN_ASSIGN_OR_RETURN(int q, c.elementwise("div", p, m));
      KILN_ASSIGN_OR_RETURN(int l, c.unary("log", q));
      KILN_ASSIGN_OR_RETURN(y, c.elementwise("prod", l, c.scalar(dt, 0.5)));
      break;
    }
    default:
      return internal_error("unknown hyperbolic function");
  }
  c.set_output(0, y);
  return Status::ok();
}

Status sinh_(NodeContext& c) {
  return hyperbolic(c, 's');
}
Status cosh_(NodeContext& c) {
  return hyperbolic(c, 'c');
}
Status asinh_(NodeContext& c) {
  return hyperbolic(c, 'S');
}
Status acosh_(NodeContext& c) {
  return hyperbolic(c, 'C');
}
Status atanh_(NodeContext& c) {
  return hyperbolic(c, 'T');
}

// atan by Cephes' atanf: reduce |x| to [0, tan(pi/8)] with atan(x) = pi/2 + atan(-1/x) and
// atan(x) = pi/4 + atan((x-1)/(x+1)), then an odd polynomial (float accuracy); kiln's Unary has
// no inverse trigonometric functions.
Result<int> atan_of(NodeContext& c, int x) {
  const DataType dt = c.dtype(x);
  constexpr double kPi = 3.14159265358979323846;
  KILN_ASSIGN_OR_RETURN(int a, c.unary("abs", x));
  KILN_ASSIGN_OR_RETURN(int big, c.elementwise("greater", a, c.scalar(dt, 2.414213562373095)));
  KILN_ASSIGN_OR_RETURN(int mid, c.elementwise("greater", a, c.scalar(dt, 0.4142135623730950)));
  KILN_ASSIGN_OR_RETURN(int inv, c.unary("reciprocal", a));
  KILN_ASSIGN_OR_RETURN(int xr_big, c.unary("neg", inv));
  KILN_ASSIGN_OR_RETURN(int am1, c.elementwise("sub", a, c.scalar(dt, 1)));
  KILN_ASSIGN_OR_RETURN(int ap1, c.elementwise("sum", a, c.scalar(dt, 1)));
  KILN_ASSIGN_OR_RETURN(int xr_mid, c.elementwise("div", am1, ap1));
  KILN_ASSIGN_OR_RETURN(int xr_small, c.add1("Select", {mid, xr_mid, a}));
  KILN_ASSIGN_OR_RETURN(int xr, c.add1("Select", {big, xr_big, xr_small}));
  KILN_ASSIGN_OR_RETURN(int y0_small,
                        c.add1("Select", {mid, c.scalar(dt, kPi / 4), c.scalar(dt, 0)}));
  KILN_ASSIGN_OR_RETURN(int y0, c.add1("Select", {big, c.scalar(dt, kPi / 2), y0_small}));
  KILN_ASSIGN_OR_RETURN(int z, c.elementwise("prod", xr, xr));
  int poly = c.scalar(dt, 8.05374449538e-2);
  for (double coef : {-1.38776856032e-1, 1.99777106478e-1, -3.33329491539e-1}) {
    KILN_ASSIGN_OR_RETURN(poly, c.elementwise("prod", poly, z));
    KILN_ASSIGN_OR_RETURN(poly, c.elementwise("sum", poly, c.scalar(dt, coef)));
  }
  KILN_ASSIGN_OR_RETURN(poly, c.elementwise("prod", poly, z));
  KILN_ASSIGN_OR_RETURN(poly, c.elementwise("prod", poly, xr));
  KILN_ASSIGN_OR_RETURN(poly, c.elementwise("sum", poly, xr));
  KILN_ASSIGN_OR_RETURN(int y, c.elementwise("sum", poly, y0));
  KILN_ASSIGN_OR_RETURN(int sgn, c.unary("sign", x));
  return c.elementwise("prod", y, sgn);
}

// asin(x) = atan(x / sqrt(1 - x^2)); acos(x) = pi/2 - asin(x).
Status inverse_trig(NodeContext& c, char which) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  int x = c.input(0);
  const DataType dt = c.dtype(x);
  int y = -1;
  if (which == 't') {
    KILN_ASSIGN_OR_RETURN(y, atan_of(c, x));
  } else {
    KILN_ASSIGN_OR_RETURN(int sq, c.elementwise("prod", x, x));
    KILN_ASSIGN_OR_RETURN(int om, c.elementwise("sub", c.scalar(dt, 1), sq));
    KILN_ASSIGN_OR_RETURN(int root, c.unary("sqrt", om));
    KILN_ASSIGN_OR_RETURN(int q, c.elementwise("div", x, root));
    KILN_ASSIGN_OR_RETURN(y, atan_of(c, q));
    if (which == 'c') {
      KILN_ASSIGN_OR_RETURN(y, c.elementwise("sub", c.scalar(dt, 1.57079632679489661923), y));
    }
  }
  c.set_output(0, y);
  return Status::ok();
}

Status atan_(NodeContext& c) {
  return inverse_trig(c, 't');
}
Status asin_(NodeContext& c) {
  return inverse_trig(c, 's');
}
Status acos_(NodeContext& c) {
  return inverse_trig(c, 'c');
}

Status is_nan(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  ir::Attrs a;
  a.set("op", std::string("isnan"));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("FloatClass", {c.input(0)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status is_inf(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  ir::Attrs a;
  a.set("op", std::string("isinf"));
  a.set("detect_positive", c.attr_int("detect_positive", 1) != 0 ? int64_t{1} : int64_t{0});
  a.set("detect_negative", c.attr_int("detect_negative", 1) != 0 ? int64_t{1} : int64_t{0});
  KILN_ASSIGN_OR_RETURN(int y, c.add1("FloatClass", {c.input(0)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status bit_shift(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kUInt8}));
  KILN_RETURN_IF_ERROR(c.expect_dtype(1, {DataType::kUInt8}));
  std::string dir = c.attr_string("direction", "");
  if (dir != "LEFT" && dir != "RIGHT") {
    return c.invalid_attr("direction", dir, "expected LEFT or RIGHT");
  }
  ir::Attrs a;
  a.set("direction", dir);
  KILN_ASSIGN_OR_RETURN(int y, c.add1("BitShift", {c.input(0), c.input(1)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status where(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(3, 3));
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kBool}));
  KILN_RETURN_IF_ERROR(check_same_dtype(c, c.input(1), c.input(2)));
  // A constant condition that is all true (all false) picks one input, if that input already
  // has the output's shape: an alias keeps its shape value (host shape programs stay on host).
  if (const HostTensor* cond = c.constant(c.input(0))) {
    bool all_true = true, all_false = true;
    for (int64_t i = 0; i < cond->numel(); ++i) {
      (cond->get_int(i) != 0 ? all_false : all_true) = false;
    }
    const int pick = all_true ? c.input(1) : all_false ? c.input(2) : -1;
    if (pick >= 0 && cond->numel() > 0) {
      const ir::SymShape ps = c.shape(pick);
      auto s01 = ops::broadcast_shapes(c.shape(c.input(0)), c.shape(c.input(1)));
      auto out = s01.is_ok() ? ops::broadcast_shapes(*s01, c.shape(c.input(2))) : s01;
      bool same = out.is_ok() && out->size() == ps.size();
      for (size_t i = 0; same && i < ps.size(); ++i) same = (*out)[i].same_as(ps[i]);
      if (same) {
        c.set_output(0, pick);
        return Status::ok();
      }
    }
    // Mixed, on shape tensors: x * cond + y * (1 - cond) with integer arithmetic, which carries
    // the symbolic content (ElementWise propagates shape values).
    const DataType dt = c.dtype(c.input(1));
    if (is_integer(dt) && c.shape_content(c.input(1)) && c.shape_content(c.input(2)) &&
        cond->shape().rank() <= 1) {
      HostTensor on(dt, cond->shape()), off(dt, cond->shape());
      for (int64_t i = 0; i < cond->numel(); ++i) {
        store_from_double(on.data(), dt, i, cond->get_int(i) != 0 ? 1.0 : 0.0);
        store_from_double(off.data(), dt, i, cond->get_int(i) != 0 ? 0.0 : 1.0);
      }
      KILN_ASSIGN_OR_RETURN(int xs,
                            c.elementwise("prod", c.input(1), c.constant(std::move(on), "on")));
      KILN_ASSIGN_OR_RETURN(int ys,
                            c.elementwise("prod", c.input(2), c.constant(std::move(off), "off")));
      KILN_ASSIGN_OR_RETURN(int y, c.elementwise("sum", xs, ys));
      c.set_output(0, y);
      return Status::ok();
    }
  }
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Select", {c.input(0), c.input(1), c.input(2)}));
  c.set_output(0, y);
  return Status::ok();
}

}  // namespace

void add_elementwise_translators(std::vector<Translator>& out) {
  out.insert(out.end(), {
                            {"Add", 1, add},
                            {"Sub", 1, sub},
                            {"Mul", 1, mul},
                            {"Div", 1, div},
                            {"Pow", 1, pow_},
                            {"Mod", 10, mod},
                            {"Sum", 1, sum},
                            {"Mean", 1, mean},
                            {"Min", 1, min_},
                            {"Max", 1, max_},
                            {"Equal", 1, equal},
                            {"Less", 1, less},
                            {"Greater", 1, greater},
                            {"LessOrEqual", 12, less_equal},
                            {"GreaterOrEqual", 12, greater_equal},
                            {"And", 1, and_},
                            {"Or", 1, or_},
                            {"Xor", 1, xor_},
                            {"Not", 1, not_},
                            {"Exp", 1, exp_},
                            {"Log", 1, log_},
                            {"Sqrt", 1, sqrt_},
                            {"Reciprocal", 1, reciprocal},
                            {"Abs", 1, abs_},
                            {"Neg", 1, neg},
                            {"Erf", 9, erf_},
                            {"Sin", 7, sin_},
                            {"Cos", 7, cos_},
                            {"Tan", 7, tan_},
                            {"Floor", 1, floor_},
                            {"Ceil", 1, ceil_},
                            {"Round", 11, round_},
                            {"Sign", 9, sign},
                            {"Sinh", 9, sinh_},
                            {"Cosh", 9, cosh_},
                            {"Asinh", 9, asinh_},
                            {"Acosh", 9, acosh_},
                            {"Atanh", 9, atanh_},
                            {"Atan", 7, atan_},
                            {"Asin", 7, asin_},
                            {"Acos", 7, acos_},
                            {"IsNaN", 9, is_nan},
                            {"IsInf", 10, is_inf},
                            {"Where", 9, where},
                            {"BitShift", 11, bit_shift},
                        });
}

}  // namespace kiln::onnx_import
