#include "ops/conv_transpose/conv_transpose.h"

#include "ops/common/attr_utils.h"

#include <string>

namespace kiln::ops {

namespace {

int64_t floor_half(int64_t t) {
  return t >= 0 ? t / 2 : -((-t + 1) / 2);
}

Status infer_conv_transpose(InferContext& ctx) {
  if (ctx.num_inputs() < 2 || ctx.num_inputs() > 3) {
    return ctx.error("expects 2 or 3 inputs (X, W, optional B), got " +
                     std::to_string(ctx.num_inputs()));
  }
  if (ctx.node().outputs.size() != 1) return ctx.error("expects 1 output");
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("inputs X and W are required");
  const DataType dt = ctx.input_dtype(0);
  if (!is_floating(dt)) {
    return ctx.error("X must be float32, float16 or bfloat16, got " + std::string(dtype_name(dt)));
  }
  const char* names[] = {"X", "W", "B"};
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
  if (rank < 3) {
    return ctx.error("X must have rank >= 3 ([N, C, spatial...]), got " + ir::shape_to_string(x));
  }
  if (static_cast<int>(w.size()) != rank) {
    return ctx.error("W " + ir::shape_to_string(w) + " must have the rank of X " +
                     ir::shape_to_string(x));
  }
  if (!ir::is_static(w)) {
    return ctx.error("W's shape " + ir::shape_to_string(w) + " must be static");
  }
  const int spatial = rank - 2;
  auto params = read_conv_transpose_params(ctx.attrs(), spatial);
  if (!params.is_ok()) return ctx.error(params.status().message());
  const ConvTransposeParams& p = *params;
  const int64_t c = w[0].value(), m = w[1].value() * p.group;
  if (x[1].is_const() && x[1].value() != c) {
    return ctx.error("X has " + std::to_string(x[1].value()) + " channels but W " +
                     ir::shape_to_string(w) + " expects " + std::to_string(c) + " (W dim 0)");
  }
  if (c % p.group != 0) {
    return ctx.error("input channels " + std::to_string(c) + " are not divisible by group " +
                     std::to_string(p.group));
  }
  for (int d = 0; d < spatial; ++d) {
    if (w[2 + d].value() < 1) {
      return ctx.error("W " + ir::shape_to_string(w) + " has an empty kernel dim");
    }
  }
  ir::SymShape out(rank);
  out[0] = x[0];
  out[1] = m;
  for (int d = 0; d < spatial; ++d) {
    const int64_t eff_k = p.dilations[d] * (w[2 + d].value() - 1) + 1;
    if (!p.output_shape.empty()) {
      out[2 + d] = p.output_shape[d];
    } else if (p.same_shape) {
      out[2 + d] = x[2 + d] * p.strides[d];
    } else {
      out[2 + d] = (x[2 + d] - 1) * p.strides[d] +
                   (p.output_padding[d] + eff_k - p.pads[d] - p.pads[spatial + d]);
      if (out[2 + d].is_const() && out[2 + d].value() <= 0) {
        return ctx.error("output spatial dim " + std::to_string(d) + " would be " +
                         std::to_string(out[2 + d].value()) + " (input " + x[2 + d].to_string() +
                         ", stride " + std::to_string(p.strides[d]) + ", dilated kernel " +
                         std::to_string(eff_k) + ", pads " + std::to_string(p.pads[d]) + "+" +
                         std::to_string(p.pads[spatial + d]) + ")");
      }
    }
  }
  if (ctx.has_input(2)) {
    const ir::SymShape& b = ctx.input_shape(2);
    if (b.size() != 1 || !b[0].is_const() || b[0].value() != m) {
      return ctx.error("B " + ir::shape_to_string(b) + " must have shape [" + std::to_string(m) +
                       "] (M = W dim 1 * group)");
    }
  }
  ctx.output(0).dtype = dt;
  ctx.output(0).shape = std::move(out);
  return Status::ok();
}

}  // namespace

int64_t ConvTransposeParams::pad_begin(int d, int64_t in, int64_t k, int64_t out) const {
  if (pad_mode == ConvTransposePadMode::kExplicit) return pads[d];
  const int64_t total =
      strides[d] * (in - 1) + output_padding[d] + dilations[d] * (k - 1) + 1 - out;
  const int64_t half = floor_half(total);
  return pad_mode == ConvTransposePadMode::kSplitUpper ? half : total - half;
}

Result<ConvTransposeParams> read_conv_transpose_params(const ir::Attrs& attrs, int spatial) {
  ConvTransposeParams p;
  p.spatial = spatial;
  const size_t n = static_cast<size_t>(spatial);
  KILN_RETURN_IF_ERROR(
      read_strides_pads_dilations(attrs, spatial, &p.strides, &p.pads, &p.dilations));
  KILN_RETURN_IF_ERROR(read_int_list(attrs, "output_padding", n, 0, 0, false, &p.output_padding));
  for (size_t d = 0; d < n; ++d) {
    if (p.output_padding[d] >= p.strides[d] && p.output_padding[d] >= p.dilations[d]) {
      return invalid_argument("attribute 'output_padding' " + ints_to_string(p.output_padding) +
                              " must be smaller than the stride or the dilation of each dim "
                              "(strides " +
                              ints_to_string(p.strides) + ", dilations " +
                              ints_to_string(p.dilations) + ")");
    }
  }
  KILN_RETURN_IF_ERROR(read_group(attrs, &p.group));
  const std::string auto_pad = attrs.get_string("auto_pad", "NOTSET");
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (!same && auto_pad != "NOTSET" && auto_pad != "VALID") {
    return invalid_argument(
        "attribute 'auto_pad' must be NOTSET, SAME_UPPER, SAME_LOWER or "
        "VALID, got \"" +
        auto_pad + "\"");
  }
  if (auto_pad == "VALID") std::fill(p.pads.begin(), p.pads.end(), 0);
  if (attrs.has("output_shape")) {
    std::vector<int64_t> os = attrs.get_ints("output_shape");
    if (os.size() == n + 2) os.erase(os.begin(), os.begin() + 2);
    if (os.size() != n) {
      return invalid_argument("attribute 'output_shape' " +
                              ints_to_string(attrs.get_ints("output_shape")) + " must have " +
                              std::to_string(n) + " (or " + std::to_string(n + 2) + ") values");
    }
    for (int64_t v : os) {
      if (v < 1) {
        return invalid_argument("attribute 'output_shape' " + ints_to_string(os) +
                                " has a value below 1");
      }
    }
    p.output_shape = std::move(os);
  } else if (same) {
    p.same_shape = true;
  }
  if (!p.output_shape.empty() || p.same_shape) {
    p.pad_mode = auto_pad == "SAME_UPPER" ? ConvTransposePadMode::kSplitUpper
                                          : ConvTransposePadMode::kSplitLower;
  }
  KILN_RETURN_IF_ERROR(
      read_fused_activation(attrs, &p.has_activation, &p.activation, &p.alpha, &p.beta));
  return p;
}

const OpDef& conv_transpose_op() {
  static const OpDef def{"ConvTranspose", infer_conv_transpose, conv_transpose_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
