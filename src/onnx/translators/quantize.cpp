// Quantization ops as compositions of kiln ops: QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv.
// Arithmetic follows the ONNX reference: quantize = saturate(round_half_even(x / scale) + zp).
#include "onnx/translators/translators.h"

namespace kiln::onnx_import {

namespace {

// Lowest and highest value of an 8-bit quantized dtype.
Status quant_range(DataType dt, double* lo, double* hi) {
  if (dt == DataType::kUInt8) {
    *lo = 0, *hi = 255;
  } else if (dt == DataType::kInt8) {
    *lo = -128, *hi = 127;
  } else {
    return unsupported("quantized type " + std::string(dtype_name(dt)) +
                       " is not supported (uint8, int8)");
  }
  return Status::ok();
}

// A per-axis 1-D parameter (scale or zero point) reshaped to broadcast along `axis` of a tensor
// of rank `rank`; scalars and [1] pass unchanged.
Result<int> along_axis(NodeContext& c, int p, int64_t axis, int rank) {
  if (c.rank(p) == 0) return p;
  if (c.rank(p) != 1) return invalid_argument("scale and zero point must be scalars or 1-D");
  if (c.shape(p)[0].is_const() && c.shape(p)[0].value() == 1) return p;
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) {
    return c.invalid_attr("axis", std::to_string(axis), "out of range for rank " + std::to_string(rank));
  }
  std::vector<int64_t> axes;
  for (int i = 1; i < rank - axis; ++i) axes.push_back(i);
  if (axes.empty()) return p;
  return c.unsqueeze(p, axes);
}

// float(x) - float(zp)
Result<int> centered(NodeContext& c, int x, int zp, DataType ft) {
  KILN_ASSIGN_OR_RETURN(int xf, c.cast(x, ft));
  if (zp < 0) return xf;
  KILN_ASSIGN_OR_RETURN(int zf, c.cast(zp, ft));
  return c.elementwise("sub", xf, zf);
}

// saturate(round(v) + zp) cast to `qt`; v is float.
Result<int> requantize(NodeContext& c, int v, int zp, DataType qt) {
  double lo = 0, hi = 0;
  KILN_RETURN_IF_ERROR(quant_range(qt, &lo, &hi));
  DataType ft = c.dtype(v);
  KILN_ASSIGN_OR_RETURN(int r, c.unary("round", v));
  if (zp >= 0) {
    KILN_ASSIGN_OR_RETURN(int zf, c.cast(zp, ft));
    KILN_ASSIGN_OR_RETURN(r, c.elementwise("sum", r, zf));
  }
  KILN_ASSIGN_OR_RETURN(int clipped, c.activation("clip", r, lo, hi));
  return c.cast(clipped, qt);
}

Status dequantize_linear(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 3));
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kUInt8, DataType::kInt8, DataType::kInt32}));
  KILN_RETURN_IF_ERROR(c.expect_float(1));
  int x = c.input(0), scale = c.input(1), zp = c.input(2);
  if (zp >= 0 && c.dtype(zp) != c.dtype(x)) return invalid_argument("zero point must have x's dtype");
  const int64_t axis = c.attr_int("axis", 1);
  const DataType ft = c.dtype(scale);
  KILN_ASSIGN_OR_RETURN(scale, along_axis(c, scale, axis, c.rank(x)));
  if (zp >= 0) {
    KILN_ASSIGN_OR_RETURN(zp, along_axis(c, zp, axis, c.rank(x)));
  }
  KILN_ASSIGN_OR_RETURN(int v, centered(c, x, zp, ft));
  KILN_ASSIGN_OR_RETURN(int y, c.elementwise("prod", v, scale));
  c.set_output(0, y);
  return Status::ok();
}

Status quantize_linear(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 3));
  KILN_RETURN_IF_ERROR(c.expect_float(0));
  int x = c.input(0), scale = c.input(1), zp = c.input(2);
  const DataType qt = zp >= 0 ? c.dtype(zp) : DataType::kUInt8;
  const int64_t axis = c.attr_int("axis", 1);
  KILN_ASSIGN_OR_RETURN(scale, along_axis(c, scale, axis, c.rank(x)));
  KILN_ASSIGN_OR_RETURN(scale, c.cast(scale, c.dtype(x)));
  if (zp >= 0) {
    KILN_ASSIGN_OR_RETURN(zp, along_axis(c, zp, axis, c.rank(x)));
  }
  KILN_ASSIGN_OR_RETURN(int v, c.elementwise("div", x, scale));
  KILN_ASSIGN_OR_RETURN(int y, requantize(c, v, zp, qt));
  c.set_output(0, y);
  return Status::ok();
}

// scale = (max(0, max x) - min(0, min x)) / 255, zp = saturate(round(-min / scale)), uint8.
Status dynamic_quantize_linear(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(1, 1));
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kFloat32}));
  int x = c.input(0);
  const DataType ft = DataType::kFloat32;
  KILN_ASSIGN_OR_RETURN(int mx, c.reduce("max", x, {}, false));
  KILN_ASSIGN_OR_RETURN(int mn, c.reduce("min", x, {}, false));
  KILN_ASSIGN_OR_RETURN(mx, c.elementwise("max", mx, c.scalar(ft, 0)));
  KILN_ASSIGN_OR_RETURN(mn, c.elementwise("min", mn, c.scalar(ft, 0)));
  KILN_ASSIGN_OR_RETURN(int range, c.elementwise("sub", mx, mn));
  KILN_ASSIGN_OR_RETURN(int scale, c.elementwise("div", range, c.scalar(ft, 255)));
  KILN_ASSIGN_OR_RETURN(int neg_min, c.unary("neg", mn));
  KILN_ASSIGN_OR_RETURN(int zpf, c.elementwise("div", neg_min, scale));
  KILN_ASSIGN_OR_RETURN(int zp, requantize(c, zpf, -1, DataType::kUInt8));
  KILN_ASSIGN_OR_RETURN(int v, c.elementwise("div", x, scale));
  KILN_ASSIGN_OR_RETURN(int y, requantize(c, v, zp, DataType::kUInt8));
  c.set_output(0, y);
  c.set_output(1, scale);
  c.set_output(2, zp);
  return Status::ok();
}

// Integer matmul of (a - a_zp) and (b - b_zp) in int32 (exact).
Result<int> int_matmul(NodeContext& c, int a, int a_zp, int b, int b_zp) {
  KILN_ASSIGN_OR_RETURN(int ai, centered(c, a, -1, DataType::kInt32));
  if (a_zp >= 0) {
    // A per-row zero point of a 2-D A is [M]: make it [M, 1].
    if (c.rank(a_zp) == 1 && !(c.shape(a_zp)[0].is_const() && c.shape(a_zp)[0].value() == 1)) {
      KILN_ASSIGN_OR_RETURN(a_zp, c.unsqueeze(a_zp, {1}));
    }
    KILN_ASSIGN_OR_RETURN(int z, c.cast(a_zp, DataType::kInt32));
    KILN_ASSIGN_OR_RETURN(ai, c.elementwise("sub", ai, z));
  }
  KILN_ASSIGN_OR_RETURN(int bi, centered(c, b, -1, DataType::kInt32));
  if (b_zp >= 0) {
    KILN_ASSIGN_OR_RETURN(int z, c.cast(b_zp, DataType::kInt32));
    KILN_ASSIGN_OR_RETURN(bi, c.elementwise("sub", bi, z));
  }
  return c.add1("MatMul", {ai, bi});
}

Status matmul_integer(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 4));
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kUInt8, DataType::kInt8}));
  KILN_RETURN_IF_ERROR(c.expect_dtype(1, {DataType::kUInt8, DataType::kInt8}));
  KILN_ASSIGN_OR_RETURN(int y, int_matmul(c, c.input(0), c.input(2), c.input(1), c.input(3)));
  c.set_output(0, y);
  return Status::ok();
}

// Conv of (x - x_zp) and (w - w_zp) computed in float32 (exact while sums stay below 2^24).
Result<int> float_conv(NodeContext& c, int x, int x_zp, int w, int w_zp) {
  const DataType ft = DataType::kFloat32;
  KILN_ASSIGN_OR_RETURN(int xf, centered(c, x, x_zp, ft));
  if (w_zp >= 0) {
    KILN_ASSIGN_OR_RETURN(w_zp, along_axis(c, w_zp, 0, c.rank(w)));
  }
  KILN_ASSIGN_OR_RETURN(int wf, centered(c, w, w_zp, ft));
  return add_conv(c, xf, wf, -1);
}

Status conv_integer(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 4));
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kUInt8, DataType::kInt8}));
  KILN_RETURN_IF_ERROR(c.expect_dtype(1, {DataType::kUInt8, DataType::kInt8}));
  KILN_ASSIGN_OR_RETURN(int yf, float_conv(c, c.input(0), c.input(2), c.input(1), c.input(3)));
  KILN_ASSIGN_OR_RETURN(int y, c.cast(yf, DataType::kInt32));
  c.set_output(0, y);
  return Status::ok();
}

// y = saturate(round(acc * (a_scale * b_scale / y_scale)) + y_zp)
Result<int> rescale(NodeContext& c, int acc, int a_scale, int b_scale, int y_scale, int y_zp) {
  const DataType ft = DataType::kFloat32;
  KILN_ASSIGN_OR_RETURN(int accf, c.cast(acc, ft));
  KILN_ASSIGN_OR_RETURN(int s, c.elementwise("prod", a_scale, b_scale));
  KILN_ASSIGN_OR_RETURN(s, c.elementwise("div", s, y_scale));
  KILN_ASSIGN_OR_RETURN(int v, c.elementwise("prod", accf, s));
  return requantize(c, v, y_zp, c.dtype(y_zp));
}

Status qlinear_matmul(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(8, 8));
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kUInt8, DataType::kInt8}));
  int a = c.input(0), a_scale = c.input(1), a_zp = c.input(2), b = c.input(3), b_scale = c.input(4),
      b_zp = c.input(5), y_scale = c.input(6), y_zp = c.input(7);
  KILN_ASSIGN_OR_RETURN(int acc, int_matmul(c, a, a_zp, b, b_zp));
  if (c.rank(a_scale) == 1 && !(c.shape(a_scale)[0].is_const() && c.shape(a_scale)[0].value() == 1)) {
    KILN_ASSIGN_OR_RETURN(a_scale, c.unsqueeze(a_scale, {1}));
  }
  KILN_ASSIGN_OR_RETURN(int y, rescale(c, acc, a_scale, b_scale, y_scale, y_zp));
  c.set_output(0, y);
  return Status::ok();
}

Status qlinear_conv(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(8, 9));
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kUInt8, DataType::kInt8}));
  int x = c.input(0), x_scale = c.input(1), x_zp = c.input(2), w = c.input(3), w_scale = c.input(4),
      w_zp = c.input(5), y_scale = c.input(6), y_zp = c.input(7), bias = c.input(8);
  KILN_ASSIGN_OR_RETURN(int acc, float_conv(c, x, x_zp, w, w_zp));
  if (bias >= 0) {
    KILN_ASSIGN_OR_RETURN(int bf, c.cast(bias, DataType::kFloat32));
    KILN_ASSIGN_OR_RETURN(bf, along_axis(c, bf, 1, c.rank(x)));
    KILN_ASSIGN_OR_RETURN(acc, c.elementwise("sum", acc, bf));
  }
  KILN_ASSIGN_OR_RETURN(w_scale, along_axis(c, w_scale, 1, c.rank(x)));
  KILN_ASSIGN_OR_RETURN(int y, rescale(c, acc, x_scale, w_scale, y_scale, y_zp));
  c.set_output(0, y);
  return Status::ok();
}

}  // namespace

void add_quantize_translators(std::vector<Translator>& out) {
  out.insert(out.end(), {
                            {"QuantizeLinear", 10, quantize_linear},
                            {"DequantizeLinear", 10, dequantize_linear},
                            {"DynamicQuantizeLinear", 11, dynamic_quantize_linear},
                            {"MatMulInteger", 10, matmul_integer},
                            {"ConvInteger", 10, conv_integer},
                            {"QLinearMatMul", 10, qlinear_matmul},
                            {"QLinearConv", 10, qlinear_conv},
                        });
}

}  // namespace kiln::onnx_import
