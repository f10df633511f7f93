// Element-wise ops: arithmetic (Add, Sub, Mul, Div, Pow, Mod), variadic Sum/Mean/Min/Max,
// comparisons and logic, unary math (Exp, Log, ..., Sign) with composites for the hyperbolic
// functions, IsNaN, IsInf, BitShift, Where.
#include "onnx/translators/translators.h"

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

Status add(NodeContext& c) { return binary(c, "sum"); }
Status sub(NodeContext& c) { return binary(c, "sub"); }
Status mul(NodeContext& c) { return binary(c, "prod"); }
Status div(NodeContext& c) { return binary(c, "div"); }

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
  if (fmod != 0 && fmod != 1) return c.invalid_attr("fmod", std::to_string(fmod), "expected 0 or 1");
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

Status sum(NodeContext& c) { return variadic(c, "sum", false); }
Status mean(NodeContext& c) { return variadic(c, "sum", true); }
Status min_(NodeContext& c) { return variadic(c, "min", false); }
Status max_(NodeContext& c) { return variadic(c, "max", false); }

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

Status equal(NodeContext& c) { return compare(c, "equal"); }
Status less(NodeContext& c) { return compare(c, "less"); }
Status greater(NodeContext& c) { return compare(c, "greater"); }
Status less_equal(NodeContext& c) { return compare(c, "less_equal"); }
Status greater_equal(NodeContext& c) { return compare(c, "greater_equal"); }

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

Status and_(NodeContext& c) { return logic(c, "and"); }
Status or_(NodeContext& c) { return logic(c, "or"); }
Status xor_(NodeContext& c) { return logic(c, "xor"); }

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

Status exp_(NodeContext& c) { return unary_float(c, "exp"); }
Status log_(NodeContext& c) { return unary_float(c, "log"); }
Status sqrt_(NodeContext& c) { return unary_float(c, "sqrt"); }
Status reciprocal(NodeContext& c) { return unary_float(c, "reciprocal"); }
Status erf_(NodeContext& c) { return unary_float(c, "erf"); }
Status sin_(NodeContext& c) { return unary_float(c, "sin"); }
Status cos_(NodeContext& c) { return unary_float(c, "cos"); }
Status tan_(NodeContext& c) { return unary_float(c, "tan"); }
Status floor_(NodeContext& c) { return unary_float(c, "floor"); }
Status ceil_(NodeContext& c) { return unary_float(c, "ceil"); }
Status round_(NodeContext& c) { return unary_float(c, "round"); }

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
  return unary_numeric(c, "abs", {DataType::kInt8, DataType::kUInt8, DataType::kInt32, DataType::kInt64});
}
Status neg(NodeContext& c) {
  return unary_numeric(c, "neg", {DataType::kInt8, DataType::kInt32, DataType::kInt64});
}
Status sign(NodeContext& c) {
  return unary_numeric(c, "sign", {DataType::kInt8, DataType::kUInt8, DataType::kInt32, DataType::kInt64});
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
      KILN_ASSIGN_OR_RETURN(int t, c.elementwise(which == 'S' ? "sum" : "sub", sq, c.scalar(dt, 1)));
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

Status sinh_(NodeContext& c) { return hyperbolic(c, 's'); }
Status cosh_(NodeContext& c) { return hyperbolic(c, 'c'); }
Status asinh_(NodeContext& c) { return hyperbolic(c, 'S'); }
Status acosh_(NodeContext& c) { return hyperbolic(c, 'C'); }
Status atanh_(NodeContext& c) { return hyperbolic(c, 'T'); }

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
                            {"IsNaN", 9, is_nan},
                            {"IsInf", 10, is_inf},
                            {"Where", 9, where},
                            {"BitShift", 11, bit_shift},
                        });
}

}  // namespace kiln::onnx_import
