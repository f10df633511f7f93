// Activations: Relu, LeakyRelu, Sigmoid, Tanh, Elu, Selu, Softplus, Softsign, Clip, Gelu,
// HardSigmoid, HardSwish, Celu, ThresholdedRelu, Mish, PRelu, Shrink.
#include "onnx/translators/translators.h"

#include <cmath>
#include <limits>

namespace kiln::onnx_import {

namespace {

Status one_in(NodeContext& c) { return c.expect_inputs(1, 1); }

// One Activation node of `type` with alpha/beta; the input must be floating point.
Status simple(NodeContext& c, std::string_view type, double alpha = 0, double beta = 0) {
  KILN_RETURN_IF_ERROR(one_in(c));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  KILN_ASSIGN_OR_RETURN(int y, c.activation(type, c.input(0), alpha, beta));
  c.set_output(0, y);
  return Status::ok();
}

Status relu(NodeContext& c) {
  KILN_RETURN_IF_ERROR(one_in(c));
  int x = c.input(0);
  if (is_floating(c.dtype(x))) {
    KILN_ASSIGN_OR_RETURN(int y, c.activation("relu", x, 0, 0));
    c.set_output(0, y);
    return Status::ok();
  }
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kInt8, DataType::kInt32, DataType::kInt64}));
  KILN_ASSIGN_OR_RETURN(int y, c.elementwise("max", x, c.scalar(c.dtype(x), 0)));
  c.set_output(0, y);
  return Status::ok();
}

Status leaky_relu(NodeContext& c) { return simple(c, "leaky_relu", c.attr_float("alpha", 0.01)); }
Status sigmoid(NodeContext& c) { return simple(c, "sigmoid"); }
Status tanh_(NodeContext& c) { return simple(c, "tanh"); }
Status elu(NodeContext& c) { return simple(c, "elu", c.attr_float("alpha", 1.0)); }
Status selu(NodeContext& c) {
  return simple(c, "selu", c.attr_float("alpha", 1.67326319217681884765625),
                c.attr_float("gamma", 1.05070102214813232421875));
}
Status softplus(NodeContext& c) { return simple(c, "softplus"); }
Status hard_sigmoid(NodeContext& c) {
  return simple(c, "hard_sigmoid", c.attr_float("alpha", 0.2), c.attr_float("beta", 0.5));
}
Status hard_swish(NodeContext& c) { return simple(c, "hard_swish"); }

Status gelu(NodeContext& c) {
  std::string approx = c.attr_string("approximate", "none");
  if (approx == "none") return simple(c, "gelu_erf");
  if (approx == "tanh") return simple(c, "gelu_tanh");
  return c.invalid_attr("approximate", approx, "expected 'none' or 'tanh'");
}

Status softsign(NodeContext& c) { return simple(c, "softsign"); }
Status mish(NodeContext& c) { return simple(c, "mish"); }
Status thresholded_relu(NodeContext& c) {
  return simple(c, "thresholded_relu", c.attr_float("alpha", 1.0));
}
Status celu(NodeContext& c) {
  double alpha = c.attr_float("alpha", 1.0);
  if (alpha == 0) return c.invalid_attr("alpha", "0", "must not be 0");
  return simple(c, "celu", alpha);
}

// y = x < 0 ? slope * x : x (the PRelu op broadcasts slope unidirectionally).
Status prelu(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kFloat32, DataType::kFloat16,
                                          DataType::kBFloat16, DataType::kInt32,
                                          DataType::kInt64}));
  int x = c.input(0), slope = c.input(1);
  if (c.opset() < 7 && c.rank(slope) == 1 && c.rank(x) >= 2 && c.shape(slope)[0].is_const() &&
      c.shape(slope)[0].value() != 1) {
    // PRelu-1/6: a 1-D slope holds one value per channel (dim 1).
    std::vector<int64_t> axes;
    for (int i = 1; i < c.rank(x) - 1; ++i) axes.push_back(i);
    if (!axes.empty()) {
      KILN_ASSIGN_OR_RETURN(slope, c.unsqueeze(slope, axes));
    }
  }
  KILN_ASSIGN_OR_RETURN(int y, c.add1("PRelu", {x, slope}));
  c.set_output(0, y);
  return Status::ok();
}

Status shrink(NodeContext& c) {
  KILN_RETURN_IF_ERROR(one_in(c));
  ir::Attrs a;
  a.set("lambd", c.attr_float("lambd", 0.5));
  a.set("bias", c.attr_float("bias", 0.0));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Shrink", {c.input(0)}, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

Status clip(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, c.opset() >= 11 ? 3 : 1));
  int x = c.input(0);
  DataType dt = c.dtype(x);
  if (dt == DataType::kBool) return unsupported("Clip of bool");
  const double inf = std::numeric_limits<double>::infinity();
  if (c.opset() < 11) {
    double lo = c.attr_float("min", -std::numeric_limits<float>::max());
    double hi = c.attr_float("max", std::numeric_limits<float>::max());
    KILN_RETURN_IF_ERROR(c.expect_float(0));
    KILN_ASSIGN_OR_RETURN(int y, c.activation("clip", x, lo, hi));
    c.set_output(0, y);
    return Status::ok();
  }
  int lo = c.input(1), hi = c.input(2);
  for (int b : {lo, hi}) {
    if (b >= 0 && c.dtype(b) != dt) {
      return invalid_argument("min/max have dtype " + std::string(dtype_name(c.dtype(b))) +
                              ", input has " + std::string(dtype_name(dt)));
    }
    if (b >= 0 && c.rank(b) != 0 && !(c.rank(b) == 1 && c.shape(b)[0].is_const() &&
                                      c.shape(b)[0].value() == 1)) {
      return invalid_argument("min/max must be scalars");
    }
  }
  const bool const_bounds = (lo < 0 || c.constant(lo)) && (hi < 0 || c.constant(hi));
  if (is_floating(dt) && const_bounds) {
    double a = lo < 0 ? -inf : c.constant(lo)->get_double(0);
    double b = hi < 0 ? inf : c.constant(hi)->get_double(0);
    KILN_ASSIGN_OR_RETURN(int y, c.activation("clip", x, a, b));
    c.set_output(0, y);
    return Status::ok();
  }
  // Integer inputs or run-time bounds: max then min (min > max gives max, as ONNX).
  int y = x;
  if (lo >= 0) {
    KILN_ASSIGN_OR_RETURN(y, c.elementwise("max", y, lo));
  }
  if (hi >= 0) {
    KILN_ASSIGN_OR_RETURN(y, c.elementwise("min", y, hi));
  }
  if (y == x) {
    KILN_ASSIGN_OR_RETURN(y, c.add1("Identity", {x}));
  }
  c.set_output(0, y);
  return Status::ok();
}

}  // namespace

void add_activation_translators(std::vector<Translator>& out) {
  out.insert(out.end(), {
                            {"Relu", 1, relu},
                            {"LeakyRelu", 1, leaky_relu},
                            {"Sigmoid", 1, sigmoid},
                            {"Tanh", 1, tanh_},
                            {"Elu", 1, elu},
                            {"Selu", 1, selu},
                            {"Softplus", 1, softplus},
                            {"Softsign", 1, softsign},
                            {"Clip", 1, clip},
                            {"Gelu", 20, gelu},
                            {"HardSigmoid", 1, hard_sigmoid},
                            {"HardSwish", 14, hard_swish},
                            {"Celu", 12, celu},
                            {"ThresholdedRelu", 10, thresholded_relu},
                            {"PRelu", 1, prelu},
                            {"Shrink", 9, shrink},
                            {"Mish", 18, mish},
                        });
}

}  // namespace kiln::onnx_import
