#include "ops/matmul/matmul.h"

namespace kiln::ops {

namespace {

bool matmul_dtype(DataType dt) {
  return dt == DataType::kFloat32 || dt == DataType::kFloat16 || dt == DataType::kBFloat16 ||
         dt == DataType::kInt32 || dt == DataType::kInt64;
}

Status check_flag(InferContext& ctx, const char* name) {
  int64_t v = ctx.attrs().get_int(name, 0);
  if (v != 0 && v != 1) {
    return ctx.error(std::string("attribute '") + name + "' must be 0 or 1, got " +
                     std::to_string(v));
  }
  return Status::ok();
}

Status infer_matmul(InferContext& ctx) {
  if (ctx.num_inputs() < 2 || ctx.num_inputs() > 3 || !ctx.has_input(0) || !ctx.has_input(1)) {
    return ctx.error("expects inputs A, B and an optional Bias, got " +
                     std::to_string(ctx.num_inputs()) + " inputs");
  }
  DataType dt = ctx.input_dtype(0);
  if (ctx.input_dtype(1) != dt) {
    return ctx.error("A and B must have the same dtype, got " + std::string(dtype_name(dt)) +
                     " and " + std::string(dtype_name(ctx.input_dtype(1))));
  }
  if (!matmul_dtype(dt)) {
    return ctx.error("dtype " + std::string(dtype_name(dt)) +
                     " is not supported (float32, float16, bfloat16, int32, int64)");
  }
  KILN_RETURN_IF_ERROR(check_flag(ctx, "transpose_a"));
  KILN_RETURN_IF_ERROR(check_flag(ctx, "transpose_b"));
  if (ctx.attrs().has("activation")) {
    std::string act = ctx.attrs().get_string("activation");
    ActivationKind kind;
    if (!parse_activation(act, &kind)) return ctx.error("unknown activation '" + act + "'");
    if (!is_floating(dt)) {
      return ctx.error("a fused activation needs a floating-point dtype, got " +
                       std::string(dtype_name(dt)));
    }
  }

  const ir::SymShape& a = ctx.input_shape(0);
  const ir::SymShape& b = ctx.input_shape(1);
  if (a.empty() || b.empty()) {
    return ctx.error("A and B must have rank >= 1, got " + ir::shape_to_string(a) + " and " +
                     ir::shape_to_string(b));
  }
  bool ta = ctx.attrs().get_int("transpose_a", 0) != 0 && a.size() >= 2;
  bool tb = ctx.attrs().get_int("transpose_b", 0) != 0 && b.size() >= 2;
  size_t ra = a.size(), rb = b.size();
  ir::SymExpr m = 1, ka, kb, n = 1;
  if (ra == 1) {
    ka = a[0];
  } else {
    m = ta ? a[ra - 1] : a[ra - 2];
    ka = ta ? a[ra - 2] : a[ra - 1];
  }
  if (rb == 1) {
    kb = b[0];
  } else {
    n = tb ? b[rb - 2] : b[rb - 1];
    kb = tb ? b[rb - 1] : b[rb - 2];
  }
  if (ka.is_const() && kb.is_const() && ka.value() != kb.value()) {
    return ctx.error("inner dimensions differ: A " + ir::shape_to_string(a) +
                     (ta ? " (transposed)" : "") + " has K=" + std::to_string(ka.value()) + ", B " +
                     ir::shape_to_string(b) + (tb ? " (transposed)" : "") +
                     " has K=" + std::to_string(kb.value()));
  }
  ir::SymShape a_batch(a.begin(), a.end() - std::min<size_t>(ra, 2));
  ir::SymShape b_batch(b.begin(), b.end() - std::min<size_t>(rb, 2));
  Result<ir::SymShape> batch = broadcast_shapes(a_batch, b_batch);
  if (!batch.is_ok()) {
    return ctx.error("batch dimensions of A " + ir::shape_to_string(a) + " and B " +
                     ir::shape_to_string(b) + " do not broadcast: " + batch.status().message());
  }
  if (ctx.has_input(2)) {
    if (ctx.input_dtype(2) != dt) {
      return ctx.error("Bias dtype " + std::string(dtype_name(ctx.input_dtype(2))) +
                       " differs from A's " + std::string(dtype_name(dt)));
    }
    const ir::SymShape& bias = ctx.input_shape(2);
    if (bias.size() != 1) {
      return ctx.error("Bias must be 1-D [N], got " + ir::shape_to_string(bias));
    }
    if (bias[0].is_const() && n.is_const() && bias[0].value() != n.value() &&
        bias[0].value() != 1) {
      return ctx.error("Bias " + ir::shape_to_string(bias) +
                       " does not match N=" + std::to_string(n.value()));
    }
  }

  ir::SymShape out = std::move(*batch);
  if (ra >= 2) out.push_back(m);
  if (rb >= 2) out.push_back(n);
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = std::move(out);
  return Status::ok();
}

}  // namespace

const OpDef& matmul_op() {
  static const OpDef def{"MatMul", infer_matmul, matmul_cpu_tactics()};
  return def;
}

Result<MatMulGeometry> matmul_geometry(const Dims& a, const Dims& b, bool trans_a, bool trans_b) {
  MatMulGeometry g;
  int ra = a.rank(), rb = b.rank();
  if (ra < 1 || rb < 1) return invalid_argument("MatMul operands must have rank >= 1");
  g.trans_a = trans_a && ra >= 2;
  g.trans_b = trans_b && rb >= 2;
  int64_t ka, kb;
  if (ra == 1) {
    g.m = 1;
    ka = a[0];
  } else {
    g.m = g.trans_a ? a[ra - 1] : a[ra - 2];
    ka = g.trans_a ? a[ra - 2] : a[ra - 1];
  }
  if (rb == 1) {
    g.n = 1;
    kb = b[0];
  } else {
    g.n = g.trans_b ? b[rb - 2] : b[rb - 1];
    kb = g.trans_b ? b[rb - 1] : b[rb - 2];
  }
  if (ka != kb) {
    return invalid_argument("MatMul inner dimensions differ: A " + a.to_string() + " and B " +
                            b.to_string());
  }
  g.k = ka;
  int ba = std::max(ra - 2, 0), bb = std::max(rb - 2, 0);
  g.batch_rank = std::max(ba, bb);
  int64_t a_step = g.m * g.k, b_step = g.k * g.n;
  for (int i = g.batch_rank - 1; i >= 0; --i) {
    int ia = i - (g.batch_rank - ba), ib = i - (g.batch_rank - bb);
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      return invalid_argument("MatMul batch dimensions of A " + a.to_string() + " and B " +
                              b.to_string() + " do not broadcast");
    }
    int64_t d = da == 1 ? db : da;
    g.batch_dims[i] = d;
    g.a_batch_stride[i] = da == 1 ? 0 : a_step;
    g.b_batch_stride[i] = db == 1 ? 0 : b_step;
    a_step *= da;
    b_step *= db;
    g.batch *= d;
    g.a_batches *= da;
    g.b_batches *= db;
  }
  return g;
}

void MatMulGeometry::offsets(int64_t index, int64_t* a_off, int64_t* b_off) const {
  int64_t ao = 0, bo = 0;
  for (int i = batch_rank - 1; i >= 0 && index > 0; --i) {
    int64_t d = batch_dims[i];
    int64_t idx = index % d;
    index /= d;
    ao += idx * a_batch_stride[i];
    bo += idx * b_batch_stride[i];
  }
  *a_off = ao;
  *b_off = bo;
}

MatMulEpilogue matmul_epilogue(const ir::Attrs& attrs) {
  MatMulEpilogue e;
  if (!attrs.has("activation")) return e;
  e.has_activation = parse_activation(attrs.get_string("activation"), &e.kind);
  double a, b;
  activation_defaults(e.kind, &a, &b);
  e.alpha = static_cast<float>(attrs.get_float("activation_alpha", a));
  e.beta = static_cast<float>(attrs.get_float("activation_beta", b));
  return e;
}

}  // namespace kiln::ops
