#include "ops/conv/conv.h"

#include "ops/common/attr_utils.h"

#include <string>

namespace kiln::ops {

namespace {

bool is_conv_dtype(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16;
}

Status infer_conv(InferContext& ctx) {
  if (ctx.num_inputs() < 2 || ctx.num_inputs() > 4) {
    return ctx.error("expects 2 to 4 inputs (X, W, optional B, optional Z), got " +
                     std::to_string(ctx.num_inputs()));
  }
  if (ctx.node().outputs.size() != 1) return ctx.error("expects 1 output");
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("inputs X and W are required");
  const DataType dt = ctx.input_dtype(0);
  if (!is_conv_dtype(dt)) {
    return ctx.error("X must be float32, float16 or bfloat16, got " + std::string(dtype_name(dt)));
  }
  const char* names[] = {"X", "W", "B", "Z"};
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (ctx.has_input(i) && ctx.input_dtype(i) != dt) {
      return ctx.error(std::string(names[i]) + " has dtype " +
                       std::string(dtype_name(ctx.input_dtype(i))) + ", expected X's " +
                       std::string(dtype_name(dt)));
    }
  }
  const ir::SymShape& x = ctx.input_shape(0);
  const ir::SymShape& w = ctx.input_shape(1);
  const int rank = static_cast<int>(x.size());
  const bool cl = channels_last(ctx.attrs());
  if (rank < 3) {
    return ctx.error(std::string("X must have rank >= 3 (") +
                     (cl ? "[N, spatial..., C]" : "[N, C, spatial...]") + "), got " +
                     ir::shape_to_string(x));
  }
  if (static_cast<int>(w.size()) != rank) {
    return ctx.error("W " + ir::shape_to_string(w) + " must have the rank of X " +
                     ir::shape_to_string(x));
  }
  if (!ir::is_static(w))
    return ctx.error("W's shape " + ir::shape_to_string(w) + " must be static");
  const int cdim = channel_dim(cl, rank);
  if (!x[cdim].is_const())
    return ctx.error("X's channel dim must be static, X is " + ir::shape_to_string(x));
  const int spatial = rank - 2;
  auto params = read_conv_params(ctx.attrs(), spatial);
  if (!params.is_ok()) return ctx.error(params.status().message());
  const ConvParams& p = *params;

  const int64_t c = x[cdim].value(), m = w[0].value();
  if (c % p.group != 0) {
    return ctx.error("input channels " + std::to_string(c) + " are not divisible by group " +
                     std::to_string(p.group));
  }
  if (m % p.group != 0) {
    return ctx.error("output channels " + std::to_string(m) +
                     " (W dim 0) are not divisible by group " + std::to_string(p.group));
  }
  if (w[1].value() != c / p.group) {
    return ctx.error("W " + ir::shape_to_string(w) +
                     " dim 1 must be C/group = " + std::to_string(c / p.group) +
                     " (C=" + std::to_string(c) + ", group=" + std::to_string(p.group) + ")");
  }
  for (int d = 0; d < spatial; ++d) {
    if (w[2 + d].value() < 1) {
      return ctx.error("W " + ir::shape_to_string(w) + " has an empty kernel dim");
    }
  }

  ir::SymShape out(rank);
  out[0] = x[0];
  out[cdim] = m;
  for (int d = 0; d < spatial; ++d) {
    const ir::SymExpr& in_d = x[spatial_dim(cl, d)];
    const int64_t eff_k = p.dilations[d] * (w[2 + d].value() - 1) + 1;
    ir::SymExpr& o = out[spatial_dim(cl, d)];
    o = ir::floor_div(in_d + (p.pads[d] + p.pads[spatial + d] - eff_k), p.strides[d]) + 1;
    if (o.is_const() && o.value() <= 0) {
      return ctx.error("output spatial dim " + std::to_string(d) + " would be " +
                       std::to_string(o.value()) + " (input " + in_d.to_string() + ", pads " +
                       std::to_string(p.pads[d]) + "+" + std::to_string(p.pads[spatial + d]) +
                       ", dilated kernel " + std::to_string(eff_k) + ", stride " +
                       std::to_string(p.strides[d]) + ")");
    }
  }
  if (ctx.has_input(2)) {
    const ir::SymShape& b = ctx.input_shape(2);
    if (b.size() != 1 || !b[0].is_const() || b[0].value() != m) {
      return ctx.error("B " + ir::shape_to_string(b) + " must have shape [" + std::to_string(m) +
                       "]");
    }
  }
  if (ctx.has_input(3)) {
    const ir::SymShape& z = ctx.input_shape(3);
    bool ok = z.size() == out.size();
    for (size_t i = 0; ok && i < z.size(); ++i) {
      // Dims that are not both constant are checked by the kernels at run time.
      if (z[i].is_const() && out[i].is_const() && z[i].value() != out[i].value()) ok = false;
    }
    if (!ok) {
      return ctx.error("Z " + ir::shape_to_string(z) + " must have the output's shape " +
                       ir::shape_to_string(out));
    }
  }
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = std::move(out);
  return Status::ok();
}

}  // namespace

Result<ConvParams> read_conv_params(const ir::Attrs& attrs, int spatial) {
  ConvParams p;
  p.spatial = spatial;
  KILN_RETURN_IF_ERROR(
      read_strides_pads_dilations(attrs, spatial, &p.strides, &p.pads, &p.dilations));
  KILN_RETURN_IF_ERROR(read_group(attrs, &p.group));
  KILN_RETURN_IF_ERROR(
      read_fused_activation(attrs, &p.has_activation, &p.activation, &p.alpha, &p.beta));
  p.channels_last = channels_last(attrs);
  return p;
}

const OpDef& conv_op() {
  static const OpDef def{"Conv", infer_conv, conv_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
