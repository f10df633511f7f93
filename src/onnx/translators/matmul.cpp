// MatMul, Gemm and Einsum.
#include "onnx/translators/translators.h"

namespace kiln::onnx_import {

namespace {

Status matmul(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(2, 2));
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kFloat32, DataType::kFloat16,
                                          DataType::kBFloat16, DataType::kInt32,
                                          DataType::kInt64}));
  int a = c.input(0), b = c.input(1);
  if (c.dtype(a) != c.dtype(b)) {
    return invalid_argument("A and B have different dtypes: " + std::string(dtype_name(c.dtype(a))) +
                            " and " + std::string(dtype_name(c.dtype(b))));
  }
  if (c.rank(a) == 0 || c.rank(b) == 0) return invalid_argument("MatMul inputs must have rank >= 1");
  KILN_ASSIGN_OR_RETURN(int y, c.add1("MatMul", {a, b}));
  c.set_output(0, y);
  return Status::ok();
}

// A constant scaled by `factor`, in its own dtype.
int scaled_constant(NodeContext& c, const HostTensor& t, double factor, std::string_view hint) {
  HostTensor out(t.dtype(), t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) {
    store_from_double(out.data(), t.dtype(), i, t.get_double(i) * factor);
  }
  return c.constant(std::move(out), hint);
}

// Y = alpha * A' B' + beta * C: one MatMul (transposes as attributes, a 1-D C as its bias),
// with alpha folded into a constant B, and beta into a constant C.
Status gemm(NodeContext& c) {
  KILN_RETURN_IF_ERROR(c.expect_inputs(c.opset() >= 11 ? 2 : 3, 3));
  KILN_RETURN_IF_ERROR(c.expect_dtype(0, {DataType::kFloat32, DataType::kFloat16,
                                          DataType::kBFloat16, DataType::kInt32,
                                          DataType::kInt64}));
  int a = c.input(0), b = c.input(1), cc = c.input(2);
  const DataType dt = c.dtype(a);
  for (int v : {b, cc}) {
    if (v >= 0 && c.dtype(v) != dt) {
      return invalid_argument("inputs have different dtypes: " + std::string(dtype_name(dt)) +
                              " and " + std::string(dtype_name(c.dtype(v))));
    }
  }
  if (c.rank(a) != 2 || c.rank(b) != 2) {
    return invalid_argument("A and B must be 2-D, got ranks " + std::to_string(c.rank(a)) + " and " +
                            std::to_string(c.rank(b)));
  }
  const double alpha = c.attr_float("alpha", 1.0), beta = c.attr_float("beta", 1.0);
  const int64_t trans_a = c.attr_int("transA", 0), trans_b = c.attr_int("transB", 0);
  bool alpha_done = alpha == 1.0;
  if (!alpha_done && c.constant(b)) {
    b = scaled_constant(c, *c.constant(b), alpha, "B_scaled");
    alpha_done = true;
  }

  // C: folded with beta when constant; a 1-D (or scalar) C becomes the MatMul bias.
  int bias = -1, addend = -1;
  if (cc >= 0 && beta != 0.0) {
    if (const HostTensor* ct = c.constant(cc)) {
      int scaled = beta == 1.0 ? cc : scaled_constant(c, *ct, beta, "C_scaled");
      if (ct->shape().rank() <= 1 && alpha_done && dt != DataType::kInt32 &&
          dt != DataType::kInt64) {
        bias = scaled;
        if (ct->shape().rank() == 0) {
          KILN_ASSIGN_OR_RETURN(bias, c.reshape(scaled, {1}));
        }
      } else {
        addend = scaled;
      }
    } else if (beta == 1.0) {
      addend = cc;
    } else {
      KILN_ASSIGN_OR_RETURN(addend, c.elementwise("prod", cc, c.scalar(dt, beta)));
    }
  }
  ir::Attrs at;
  at.set("transpose_a", trans_a != 0 ? int64_t{1} : int64_t{0});
  at.set("transpose_b", trans_b != 0 ? int64_t{1} : int64_t{0});
  std::vector<int> ins = {a, b};
  if (bias >= 0) ins.push_back(bias);
  KILN_ASSIGN_OR_RETURN(int y, c.add1("MatMul", ins, std::move(at)));
  if (!alpha_done) {
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
