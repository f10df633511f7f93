#include "ops/pooling/pooling.h"

#include "ops/common/attr_utils.h"

#include <string>

namespace kiln::ops {

namespace {

Status infer_pooling(InferContext& ctx) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return ctx.error("expects 1 input");
  if (ctx.node().outputs.size() != 1) return ctx.error("expects 1 output");
  const ir::SymShape& x = ctx.input_shape(0);
  const int rank = static_cast<int>(x.size());
  const bool cl = channels_last(ctx.attrs());
  if (rank < 3) {
    return ctx.error(std::string("X must have rank >= 3 (") +
                     (cl ? "[N, spatial..., C]" : "[N, C, spatial...]") + "), got " +
                     ir::shape_to_string(x));
  }
  const int spatial = rank - 2;
  auto params = read_pool_params(ctx.attrs(), spatial);
  if (!params.is_ok()) return ctx.error(params.status().message());
  const PoolParams& p = *params;
  const DataType dt = ctx.input_dtype(0);
  const bool float_type =
      dt == DataType::kFloat32 || dt == DataType::kFloat16 || dt == DataType::kBFloat16;
  const bool byte_type = dt == DataType::kInt8 || dt == DataType::kUInt8;
  if (!float_type && !(p.is_max && byte_type)) {
    const char* kind = p.is_max ? "max" : (p.is_lp ? "lp" : "average");
    return ctx.error(std::string(kind) + " pooling does not support " +
                     std::string(dtype_name(dt)) +
                     (p.is_max ? " (float32, float16, bfloat16, int8, uint8)"
                               : " (float32, float16, bfloat16)"));
  }
  ir::SymShape out(rank);
  out[0] = x[0];
  out[channel_dim(cl, rank)] = x[channel_dim(cl, rank)];
  for (int d = 0; d < spatial; ++d) {
    const int sd = spatial_dim(cl, d);
    if (p.global) {
      out[sd] = 1;
      continue;
    }
    const int64_t eff_k = p.dilations[d] * (p.kernel[d] - 1) + 1;
    const int64_t pb = p.pads[d], pe = p.pads[spatial + d], s = p.strides[d];
    const ir::SymExpr span = x[sd] + (pb + pe - eff_k);
    if (p.ceil_mode && s > 1) {
      // Drop a last window that would start in the end padding.
      out[sd] = ir::sym_min(ir::ceil_div(span, s) + 1, ir::ceil_div(x[sd] + pb, s));
    } else {
      out[sd] = ir::floor_div(span, s) + 1;
    }
    if (out[sd].is_const() && out[sd].value() <= 0) {
      return ctx.error("output spatial dim " + std::to_string(d) + " would be " +
                       std::to_string(out[sd].value()) + " (input " + x[sd].to_string() +
                       ", pads " + std::to_string(pb) + "+" + std::to_string(pe) +
                       ", dilated kernel " + std::to_string(eff_k) + ", stride " +
                       std::to_string(s) + ")");
    }
  }
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = std::move(out);
  return Status::ok();
}

}  // namespace

Result<PoolParams> read_pool_params(const ir::Attrs& attrs, int spatial) {
  PoolParams p;
  p.spatial = spatial;
  const std::string type = attrs.get_string("type");
  if (type == "max") {
    p.is_max = true;
  } else if (type == "average") {
    p.is_max = false;
  } else if (type == "lp") {
    p.is_max = false;
    p.is_lp = true;
    p.p = attrs.get_int("p", 2);
    if (p.p < 1) return invalid_argument("attribute 'p' must be >= 1, got " + std::to_string(p.p));
  } else {
    return invalid_argument("attribute 'type' must be \"max\", \"average\" or \"lp\", got \"" +
                            type + "\"");
  }
  p.global = attrs.get_int("global", 0) != 0;
  p.ceil_mode = attrs.get_int("ceil_mode", 0) != 0;
  p.count_include_pad = attrs.get_int("count_include_pad", 0) != 0;
  p.channels_last = channels_last(attrs);
  if (p.global) return p;
  const size_t n = static_cast<size_t>(spatial);
  KILN_RETURN_IF_ERROR(read_int_list(attrs, "kernel", n, 1, 1, true, &p.kernel));
  KILN_RETURN_IF_ERROR(
      read_strides_pads_dilations(attrs, spatial, &p.strides, &p.pads, &p.dilations));
  for (size_t d = 0; d < n; ++d) {
    const int64_t eff_k = p.dilations[d] * (p.kernel[d] - 1) + 1;
    if (p.pads[d] >= eff_k || p.pads[n + d] >= eff_k) {
      return invalid_argument("pads " + ints_to_string(p.pads) +
                              " must be smaller than the dilated kernel extent " +
                              std::to_string(eff_k) + " of spatial dim " + std::to_string(d));
    }
  }
  return p;
}

const OpDef& pooling_op() {
  static const OpDef def{"Pooling", infer_pooling, pooling_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
