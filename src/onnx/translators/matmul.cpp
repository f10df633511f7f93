// MatMul, Gemm and Einsum.
#include "onnx/translators/translators.h"

namespace kiln::onnx_import {

namespace {

Status matmul(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  KILN_RETURN_IF_ERROR(
      c.expect_dtype(0, {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                         DataType::kInt32, DataType::kInt64}));
  int a = c.input(0), b = c.input(1);
  if (c.dtype(a) != c.dtype(b)) {
    return invalid_argument(
        "A and B have different dtypes: " + std::string(dtype_name(c.dtype(a))) + " and " +
        std::string(dtype_name(c.dtype(b))));
  }
  if (c.rank(a) == 0 || c.rank(b) == 0)
    return invalid_argument("MatMul inputs must have rank >= 1");
  KILN_ASSIGN_OR_RETURN(int y, c.add1("MatMul", {a, b}));
  c.set_output(0, y);
  return Status::ok();
}

// Y = alpha * A' B' + beta * C: one MatMul (transposes as attributes; a 1-D C as its bias),
// alpha and beta as multiplications. Initializers are used as they are, never replaced by scaled
// copies, so their names stay refittable; the builder folds what is constant.
Status gemm(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(c.opset() >= 11 ? 2 : 3, 3));
  KILN_RETURN_IF_ERROR(
      c.expect_dtype(0, {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                         DataType::kInt32, DataType::kInt64}));
  int a = c.input(0), b = c.input(1), cc = c.input(2);
  const DataType dt = c.dtype(a);
  for (int v : {b, cc}) {
    if (v >= 0 && c.dtype(v) != dt) {
      return invalid_argument("inputs have different dtypes: " + std::string(dtype_name(dt)) +
                              " and " + std::string(dtype_name(c.dtype(v))));
    }
  }
  if (c.rank(a) != 2 || c.rank(b) != 2) {
    return invalid_argument("A and B must be 2-D, got ranks " + std::to_string(c.rank(a)) +
                            " and " + std::to_string(c.rank(b)));
  }
  const double alpha = c.attr_float("alpha", 1.0), beta = c.attr_float("beta", 1.0);
  const int64_t trans_a = c.attr_int("transA", 0), trans_b = c.attr_int("transB", 0);
  const bool float_type = is_floating(dt);
  int bias = -1, addend = -1;
  if (cc >= 0 && beta != 0.0) {
    int scaled = cc;
    if (beta != 1.0) {
      KILN_ASSIGN_OR_RETURN(scaled, c.elementwise("prod", cc, c.scalar(dt, beta)));
    }
    if (c.rank(cc) <= 1 && float_type && alpha == 1.0) {
      bias = scaled;  // added along the last output dim by the MatMul itself
      if (c.rank(cc) == 0) {
        KILN_ASSIGN_OR_RETURN(bias, c.reshape(scaled, {1}));
      }
    } else {
      addend = scaled;
    }
  }
  ir::Attrs at;
  at.set("transpose_a", trans_a != 0 ? int64_t{1} : int64_t{0});
  at.set("transpose_b", trans_b != 0 ? int64_t{1} : int64_t{0});
  std::vector<int> ins = {a, b};
  if (bias >= 0) ins.push_back(bias);
  KILN_ASSIGN_OR_RETURN(int y, c.add1("MatMul", ins, std::move(at)));
  if (alpha != 1.0) {
    KILN_ASSIGN_OR_RETURN(y, c.elementwise("prod", y, c.scalar(dt, alpha)));
  }
  if (addend >= 0) {
    KILN_ASSIGN_OR_RETURN(y, c.elementwise("sum", y, addend));
  }
  c.set_output(0, y);
  return Status::ok();
}

Status einsum(NodeContext& c) {
  if (c.num_inputs() < 1) return invalid_argument("expects at least 1 input");
  std::vector<int> ins;
  for (int i = 0; i < c.num_inputs(); ++i) {
    if (!c.has_input(i)) return invalid_argument("input " + std::to_string(i) + " is empty");
    ins.push_back(c.input(i));
  }
  if (!c.has_attr("equation")) return invalid_argument("attribute equation is required");
  ir::Attrs a;
  a.set("equation", c.attr_string("equation"));
  KILN_ASSIGN_OR_RETURN(int y, c.add1("Einsum", ins, std::move(a)));
  c.set_output(0, y);
  return Status::ok();
}

}  // namespace

void add_matmul_translators(std::vector<Translator>& out) {
  out.insert(out.end(), {
                            {"MatMul", 1, matmul},
                            {"Gemm", 1, gemm},
                            {"Einsum", 12, einsum},
                        });
}

}  // namespace kiln::onnx_import
