#include "ops/resize/resize.h"

#include <algorithm>
#include <cmath>

namespace kiln::ops {

namespace {

using ir::SymExpr;

template <typename E, size_t N>
bool parse_enum(std::string_view name, const std::string_view (&names)[N], E* out) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) {
      *out = static_cast<E>(i);
      return true;
    }
  }
  return false;
}

constexpr std::string_view kModes[] = {"nearest", "linear", "cubic"};
constexpr std::string_view kCoords[] = {
    "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",  "align_corners",
    "asymmetric", "tf_crop_and_resize",   "tf_half_pixel_for_nn"};
constexpr std::string_view kNearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                         "ceil"};
constexpr std::string_view kAspect[] = {"stretch", "not_larger", "not_smaller"};

// A float scale as m * 2^e with m odd (or 0).
void dyadic(float scale, int64_t* m, int* e) {
  int ex = 0;
  const double f = std::frexp(static_cast<double>(scale), &ex);
  *m = static_cast<int64_t>(std::ldexp(f, 24));  // exact: a float has 24 mantissa bits
  *e = ex - 24;
  while (*m != 0 && *m % 2 == 0) {
    *m /= 2;
    ++*e;
  }
}

// floor(d * scale) for a symbolic d; error for scales too extreme to express.
Result<SymExpr> sym_scaled_extent(const SymExpr& d, float scale) {
  if (d.is_const()) return SymExpr(resize_scaled_extent(d.value(), scale));
  int64_t m = 0;
  int e = 0;
  dyadic(scale, &m, &e);
  if (e >= 0) {
    if (e > 30) return invalid_argument("scale " + std::to_string(scale) + " is too large");
    return d * SymExpr(m << e);
  }
  if (-e > 62) return invalid_argument("scale " + std::to_string(scale) + " is too small");
  return ir::floor_div(d * SymExpr(m), SymExpr(int64_t{1} << -e));
}

bool is_empty_input(const InferContext& ctx, int i) {
  const ir::SymShape& s = ctx.input_shape(i);
  const SymExpr n = ir::sym_volume(s);
  return n.is_const() && n.value() == 0;
}

Status infer_resize(InferContext& ctx) {
  if (ctx.num_inputs() < 1 || ctx.num_inputs() > 4 || !ctx.has_input(0)) {
    return ctx.error("expects inputs (X[, roi[, scales[, sizes]]]), got " +
                     std::to_string(ctx.num_inputs()) + " inputs");
  }
  ResizeAttrs a;
  Status s = parse_resize_attrs(ctx.attrs(), &a);
  if (!s.is_ok()) return ctx.error(s.message());
  const DataType xdt = ctx.input_dtype(0);
  if (a.mode != ResizeMode::kNearest && xdt == DataType::kBool) {
    return ctx.error("mode " + std::string(kModes[static_cast<int>(a.mode)]) +
                     " does not support a bool input");
  }
  const ir::SymShape& in = ctx.input_shape(0);
  const int64_t rank = static_cast<int64_t>(in.size());
  if (rank == 0) return ctx.error("cannot resize a scalar");
  if (rank > Dims::kMaxDims) {
    return ctx.error("X has rank " + std::to_string(rank) + ", more than " +
                     std::to_string(Dims::kMaxDims));
  }
  ResizeAxes ra;
  s = resize_axes(a, rank, &ra);
  if (!s.is_ok()) return ctx.error(s.message());
  const std::vector<int64_t> axes(ra.axis, ra.axis + ra.n);
  const size_t na = axes.size();

  if (a.coord == ResizeCoord::kTfCropAndResize) {
    const HostTensor* roi = ctx.constant(1);
    if (!ctx.has_input(1) || roi == nullptr) {
      return ctx.error("coordinate_transformation_mode tf_crop_and_resize needs a constant roi");
    }
    if (!is_floating(roi->dtype()) || roi->numel() != static_cast<int64_t>(2 * na)) {
      return ctx.error("roi must be a floating tensor of " + std::to_string(2 * na) +
                       " values (starts and ends of the resized axes), got " +
                       std::to_string(roi->numel()) + " of " +
                       std::string(dtype_name(roi->dtype())));
    }
  }
  const bool has_scales = ctx.has_input(2) && !is_empty_input(ctx, 2);
  const bool has_sizes = ctx.has_input(3) && !is_empty_input(ctx, 3);
  if (has_scales == has_sizes) {
    return ctx.error(has_scales ? "scales and sizes are both given; exactly one is allowed"
                                : "needs one of the scales and sizes inputs");
  }
  ir::SymShape out = in;
  if (has_scales) {
    if (ctx.input_dtype(2) != DataType::kFloat32) {
      return ctx.error("scales must be float32, got " +
                       std::string(dtype_name(ctx.input_dtype(2))));
    }
    const HostTensor* sc = ctx.constant(2);
    if (sc == nullptr) {
      return ctx.error("scales input '" + ctx.input(2)->name +
                       "' must be a constant (data-dependent scales are unsupported)");
    }
    if (sc->shape().rank() != 1 || sc->numel() != static_cast<int64_t>(na)) {
      return ctx.error("scales has " + std::to_string(sc->numel()) + " values but " +
                       std::to_string(na) + " axes are resized");
    }
    for (size_t i = 0; i < na; ++i) {
      const float f = sc->as<const float>()[i];
      if (!(f > 0.f) || !std::isfinite(f)) {
        return ctx.error("scale " + std::to_string(f) + " of axis " + std::to_string(axes[i]) +
                         " must be positive and finite");
      }
      auto e = sym_scaled_extent(in[axes[i]], f);
      if (!e.is_ok()) return ctx.error(e.status().message());
      out[axes[i]] = *e;
    }
  } else {
    const DataType dt = ctx.input_dtype(3);
    if (dt != DataType::kInt64 && dt != DataType::kInt32) {
      return ctx.error("sizes must be int64 or int32, got " + std::string(dtype_name(dt)));
    }
    if (ctx.input_rank(3) != 1) {
      return ctx.error("sizes must be 1-D, got rank " + std::to_string(ctx.input_rank(3)));
    }
    const auto* sv = ctx.shape_value(3);
    if (sv == nullptr) {
      return ctx.error("sizes input '" + ctx.input(3)->name +
                       "' is computed from tensor data; data-dependent sizes are unsupported");
    }
    const std::vector<SymExpr> sizes = *sv;
    if (sizes.size() != na) {
      return ctx.error("sizes has " + std::to_string(sizes.size()) + " values but " +
                       std::to_string(na) + " axes are resized");
    }
    for (size_t i = 0; i < na; ++i) {
      const SymExpr& d = in[axes[i]];
      if (sizes[i].is_const()) {
        if (sizes[i].value() < 0) {
          return ctx.error("size " + std::to_string(sizes[i].value()) + " of axis " +
                           std::to_string(axes[i]) + " is negative");
        }
        if (sizes[i].value() > 0 && d.is_const() && d.value() == 0) {
          return ctx.error("cannot resize empty axis " + std::to_string(axes[i]) + " to " +
                           std::to_string(sizes[i].value()));
        }
      }
    }
    if (a.aspect == ResizeAspect::kStretch) {
      for (size_t i = 0; i < na; ++i) out[axes[i]] = sizes[i];
    } else {
      std::vector<int64_t> din(rank), dsz(na);
      for (size_t i = 0; i < na; ++i) {
        if (!sizes[i].is_const() || !in[axes[i]].is_const()) {
          return ctx.error(
              "keep_aspect_ratio_policy other than stretch needs static sizes and static "
              "extents of the resized axes");
        }
        din[axes[i]] = in[axes[i]].value();
        dsz[i] = sizes[i].value();
      }
      // The same computation as the kernel (resize_plan).
      double scale = a.aspect == ResizeAspect::kNotLarger ? INFINITY : 0.0;
      for (size_t i = 0; i < na; ++i) {
        const double r = static_cast<double>(dsz[i]) / static_cast<double>(din[axes[i]]);
        scale = a.aspect == ResizeAspect::kNotLarger ? std::min(scale, r) : std::max(scale, r);
      }
      for (size_t i = 0; i < na; ++i) {
        out[axes[i]] = static_cast<int64_t>(scale * static_cast<double>(din[axes[i]]) + 0.5);
      }
    }
  }
  auto& o = ctx.output(0);
  o.dtype = xdt;
  o.shape = std::move(out);
  return Status::ok();
}

}  // namespace

Status parse_resize_attrs(const ir::Attrs& attrs, ResizeAttrs* out) {
  const std::string mode = attrs.get_string("mode", "nearest");
  if (!parse_enum(mode, kModes, &out->mode)) {
    return invalid_argument("mode must be nearest, linear or cubic, got '" + mode + "'");
  }
  const std::string coord = attrs.get_string("coordinate_transformation_mode", "half_pixel");
  if (!parse_enum(coord, kCoords, &out->coord)) {
    return invalid_argument("unknown coordinate_transformation_mode '" + coord + "'");
  }
  const std::string nearest = attrs.get_string("nearest_mode", "round_prefer_floor");
  if (!parse_enum(nearest, kNearest, &out->nearest)) {
    return invalid_argument("unknown nearest_mode '" + nearest + "'");
  }
  const std::string aspect = attrs.get_string("keep_aspect_ratio_policy", "stretch");
  if (!parse_enum(aspect, kAspect, &out->aspect)) {
    return invalid_argument("unknown keep_aspect_ratio_policy '" + aspect + "'");
  }
  if (attrs.get_int("antialias", 0) != 0) {
    return invalid_argument("antialias=" + std::to_string(attrs.get_int("antialias", 0)) +
                            " is unsupported (only 0)");
  }
  const int64_t ex = attrs.get_int("exclude_outside", 0);
  if (ex != 0 && ex != 1) {
    return invalid_argument("exclude_outside must be 0 or 1, got " + std::to_string(ex));
  }
  out->exclude_outside = ex != 0;
  out->cubic_a = attrs.get_float("cubic_coeff_a", -0.75);
  out->extrapolation = attrs.get_float("extrapolation_value", 0.0);
  out->axes = attrs.has("axes") ? attrs.get_ints("axes") : std::vector<int64_t>{};
  if (attrs.has("axes") && out->axes.empty()) {
    return invalid_argument("attribute 'axes' is empty");
  }
  return Status::ok();
}

Status resize_axes(const ResizeAttrs& attrs, int64_t rank, ResizeAxes* axes) {
  axes->n = 0;
  if (rank > Dims::kMaxDims) return invalid_argument("resize supports up to 8 dims");
  if (attrs.axes.empty()) {
    for (int64_t i = 0; i < rank; ++i) axes->axis[axes->n++] = i;
    return Status::ok();
  }
  uint32_t seen = 0;
  for (int64_t v : attrs.axes) {
    int64_t axis = v;
    if (rank == 0 || !normalize_axis(&axis, rank, "axis").is_ok()) {
      return invalid_argument("axis " + std::to_string(v) + " is out of range for rank " +
                              std::to_string(rank));
    }
    if (seen & (1u << axis)) return invalid_argument("axis " + std::to_string(v) + " is repeated");
    seen |= 1u << axis;
    axes->axis[axes->n++] = axis;
  }
  return Status::ok();
}

int64_t resize_scaled_extent(int64_t d, float scale) {
  int64_t m = 0;
  int e = 0;
  dyadic(scale, &m, &e);
  const __int128 p = static_cast<__int128>(d) * m;
  __int128 q;
  if (e >= 0) {
    q = e > 62 ? (p == 0 ? 0 : (static_cast<__int128>(1) << 100)) : p << e;
  } else if (-e >= 120) {
    q = p >= 0 ? 0 : -1;
  } else {
    const __int128 den = static_cast<__int128>(1) << -e;
    q = p / den;
    if (p % den != 0 && p < 0) --q;
  }
  const __int128 kLimit = static_cast<__int128>(1) << 62;
  return static_cast<int64_t>(std::clamp<__int128>(q, -kLimit, kLimit));
}

Status resize_plan(const ResizeAttrs& attrs, const Dims& in, const Dims& out, const TensorView& roi,
                   const TensorView& scales, const TensorView& sizes, ResizePlan* plan) {
  const int r = in.rank();
  if (out.rank() != r) {
    return invalid_argument("resize output " + out.to_string() + " does not match input " +
                            in.to_string());
  }
  ResizeAxes ra;
  KILN_RETURN_IF_ERROR(resize_axes(attrs, r, &ra));
  const int64_t* axes = ra.axis;
  const int64_t na = ra.n;
  plan->fill(ResizeAxis{});
  for (int d = 0; d < r; ++d) {
    ResizeAxis& a = (*plan)[d];
    a.in = a.out = in[d];
    a.out_f = static_cast<double>(in[d]);
  }
  const bool has_scales = scales.data != nullptr && scales.numel() > 0;
  const bool has_sizes = sizes.data != nullptr && sizes.numel() > 0;
  if (has_scales == has_sizes) {
    return invalid_argument("resize needs exactly one of scales and sizes on the host");
  }
  if (attrs.coord == ResizeCoord::kTfCropAndResize &&
      (roi.data == nullptr || roi.numel() != 2 * na)) {
    return invalid_argument("resize tf_crop_and_resize needs " + std::to_string(2 * na) +
                            " roi values on the host");
  }
  if (has_scales) {
    if (scales.numel() != na || scales.dtype != DataType::kFloat32) {
      return invalid_argument("resize scales must be " + std::to_string(na) + " float32 values");
    }
    for (int64_t i = 0; i < na; ++i) {
      ResizeAxis& a = (*plan)[axes[i]];
      const float f = scales.as<const float>()[i];
      if (!(f > 0.f) || !std::isfinite(f)) {
        return invalid_argument("resize scale " + std::to_string(f) + " is not positive");
      }
      a.resized = true;
      a.scale = f;
      a.out = resize_scaled_extent(a.in, f);
      a.out_f = static_cast<double>(a.in) * static_cast<double>(f);
    }
  } else {
    if (sizes.numel() != na) {
      return invalid_argument("resize sizes must have " + std::to_string(na) + " values");
    }
    double common = attrs.aspect == ResizeAspect::kNotLarger ? INFINITY : 0.0;
    for (int64_t i = 0; i < na; ++i) {
      ResizeAxis& a = (*plan)[axes[i]];
      const int64_t size = load_as_int(sizes.data, sizes.dtype, i);
      if (size < 0) return invalid_argument("resize size " + std::to_string(size) + " is negative");
      if (a.in == 0 && size > 0) {
        return invalid_argument("cannot resize empty axis " + std::to_string(axes[i]) + " to " +
                                std::to_string(size));
      }
      a.resized = true;
      a.out = size;
      a.out_f = static_cast<double>(size);
      a.scale = a.in == 0 ? 1.0 : static_cast<double>(size) / static_cast<double>(a.in);
      common = attrs.aspect == ResizeAspect::kNotLarger ? std::min(common, a.scale)
                                                        : std::max(common, a.scale);
    }
    if (attrs.aspect != ResizeAspect::kStretch) {
      for (int64_t i = 0; i < na; ++i) {
        ResizeAxis& a = (*plan)[axes[i]];
        a.scale = common;
        a.out_f = common * static_cast<double>(a.in);
        a.out = static_cast<int64_t>(a.out_f + 0.5);
      }
    }
  }
  if (attrs.coord == ResizeCoord::kTfCropAndResize) {
    for (int64_t i = 0; i < na; ++i) {
      ResizeAxis& a = (*plan)[axes[i]];
      a.roi_start = load_as_double(roi.data, roi.dtype, i);
      a.roi_end = load_as_double(roi.data, roi.dtype, na + i);
    }
  }
  for (int d = 0; d < r; ++d) {
    if ((*plan)[d].out != out[d]) {
      return invalid_argument("resize of input " + in.to_string() + " gives extent " +
                              std::to_string((*plan)[d].out) + " on axis " + std::to_string(d) +
                              " but the output is " + out.to_string());
    }
  }
  return Status::ok();
}

const OpDef& resize_op() {
  static const OpDef def{"Resize", infer_resize, resize_cpu_tactics()};
  return def;
}

}  // namespace kiln::ops
