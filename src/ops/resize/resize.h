// Resize (ONNX-19 semantics without antialiasing): samples X at transformed coordinates.
// Inputs:  0 X (any dtype for mode nearest; float32 / float16 / bfloat16 / int8 / uint8 / int32
//            / int64 for linear and cubic, computed in double; integers are rounded half away
//            from zero and saturated),
//          1 roi (optional; floating 1-D constant [starts..., ends...] of the resized axes; only
//            read by coordinate_transformation_mode tf_crop_and_resize, which requires it),
//          2 scales (optional; float32 1-D constant, one per resized axis, each > 0),
//          3 sizes (optional; int64/int32 1-D, one per resized axis; a constant or a host shape
//            value, possibly symbolic).
//          Exactly one of scales / sizes must be given; an empty tensor counts as absent.
// Output:  X's dtype. Resized axis extents are floor(d * scale) with scales (roi does not enter,
//          as in the ONNX reference and shape inference; exact for symbolic d: a float scale
//          is a dyadic rational), or sizes[i] with sizes (keep_aspect_ratio_policy stretch).
// Attributes:
//   "mode": "nearest" (default) | "linear" (separable: bilinear, trilinear, ...) | "cubic".
//   "coordinate_transformation_mode": "half_pixel" (default) | "half_pixel_symmetric" |
//     "pytorch_half_pixel" | "align_corners" | "asymmetric" | "tf_crop_and_resize" |
//     "tf_half_pixel_for_nn" (opset 11). Where a formula uses the output length it is the real
//     length d * scale (= the integer extent when sizes are given), as in the ONNX reference;
//     pytorch_half_pixel maps to 0 when the integer extent is 1 (the spec).
//   "nearest_mode": "round_prefer_floor" (default) | "round_prefer_ceil" | "floor" | "ceil".
//   "cubic_coeff_a" (float, default -0.75); "exclude_outside" (int 0/1, default 0; linear and
//   cubic: taps outside the input get weight 0 and the rest are renormalized).
//   "extrapolation_value" (float, default 0): tf_crop_and_resize output for source coordinates
//   outside [0, d-1] on any axis.
//   "antialias" (int, default 0; 1 is unsupported and an error).
//   "axes" (ints; the axes roi / scales / sizes refer to; default all; negative counts from the
//   back; no repeats). Other axes are copied.
//   "keep_aspect_ratio_policy" (sizes only): "stretch" (default) | "not_larger" | "not_smaller":
//   one scale min / max(sizes[i] / d_i) for every resized axis, extents floor(scale * d + 0.5);
//   needs static extents and sizes.
#pragma once

#include "ops/common/host_device.h"
#include "ops/op.h"

#include <array>
#include <cmath>

namespace kiln::ops {

const OpDef& resize_op();
std::span<const TacticDef> resize_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> resize_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

enum class ResizeMode : uint8_t { kNearest, kLinear, kCubic };
enum class ResizeCoord : uint8_t {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfCropAndResize,
  kTfHalfPixelForNn,
};
enum class ResizeNearest : uint8_t { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };
enum class ResizeAspect : uint8_t { kStretch, kNotLarger, kNotSmaller };

// The attributes that the taps of an output position depend on (plain data, so that CUDA
// kernels take it by value).
struct ResizeTapAttrs {
  ResizeMode mode = ResizeMode::kNearest;
  ResizeCoord coord = ResizeCoord::kHalfPixel;
  ResizeNearest nearest = ResizeNearest::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
};

struct ResizeAttrs : ResizeTapAttrs {
  ResizeAspect aspect = ResizeAspect::kStretch;
  double extrapolation = 0.0;
  std::vector<int64_t> axes;  // as given; empty = every axis
};

// Parses and validates the attributes (message without the node context).
Status parse_resize_attrs(const ir::Attrs& attrs, ResizeAttrs* out);
// Normalized resized axes for a rank (checks range and repeats); no allocation.
struct ResizeAxes {
  int n = 0;
  int64_t axis[Dims::kMaxDims] = {};
};
Status resize_axes(const ResizeAttrs& attrs, int64_t rank, ResizeAxes* axes);

// floor(d * scale), computed exactly.
int64_t resize_scaled_extent(int64_t d, float scale);

// One axis of a concrete resize.
struct ResizeAxis {
  bool resized = false;  // false: copied (identity)
  int64_t in = 0, out = 0;
  double scale = 1.0;  // used by the coordinate transforms
  double out_f = 0.0;  // the real output length (in * scale, or exactly out from sizes)
  double roi_start = 0.0, roi_end = 1.0;
};

// Per-axis parameters for concrete shapes, from host views of roi / scales / sizes (data null
// or no elements = absent). Checks that `out` is the output these inputs give. No allocation.
using ResizePlan = std::array<ResizeAxis, Dims::kMaxDims>;
Status resize_plan(const ResizeAttrs& attrs, const Dims& in, const Dims& out, const TensorView& roi,
                   const TensorView& scales, const TensorView& sizes, ResizePlan* plan);

// The input taps of output position x on an axis: indices clamped into [0, in) and weights
// (1 for nearest, 2 for linear, 4 for cubic); `outside` marks tf_crop_and_resize
// extrapolation.
struct ResizeTaps {
  int n = 0;
  bool outside = false;
  int64_t idx[4] = {};
  double w[4] = {};
};

// a * b rounded on its own. The CPU and CUDA kernels share the functions below and must agree
// bit for bit (a nearest tap flips on a last-bit difference); nvcc would otherwise fuse a
// product and a following sum into one multiply-add, which rounds once instead of twice.
KILN_HOST_DEVICE double resize_mul(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

// Source coordinate of output position x on an axis.
KILN_HOST_DEVICE double resize_source_coord(ResizeCoord coord, double x, const ResizeAxis& a) {
  const double in = static_cast<double>(a.in);
  switch (coord) {
    case ResizeCoord::kHalfPixel:
      return (x + 0.5) / a.scale - 0.5;
    case ResizeCoord::kHalfPixelSymmetric: {
      const double adjustment = static_cast<double>(a.out) / a.out_f;
      const double offset = resize_mul(in / 2, 1 - adjustment);
      return offset + (x + 0.5) / a.scale - 0.5;
    }
    case ResizeCoord::kPytorchHalfPixel:
      return a.out > 1 ? (x + 0.5) / a.scale - 0.5 : 0.0;
    case ResizeCoord::kAlignCorners:
      return a.out_f == 1 ? 0.0 : x * (in - 1) / (a.out_f - 1);
    case ResizeCoord::kAsymmetric:
      return x / a.scale;
    case ResizeCoord::kTfCropAndResize:
      if (a.out_f == 1) {
        return resize_mul(a.roi_end - a.roi_start, in - 1) / 2 + resize_mul(a.roi_start, in - 1);
      }
      return resize_mul(resize_mul(x, a.roi_end - a.roi_start), in - 1) / (a.out_f - 1) +
             resize_mul(a.roi_start, in - 1);
    case ResizeCoord::kTfHalfPixelForNn:
      return (x + 0.5) / a.scale;
  }
  return x;
}

KILN_HOST_DEVICE ResizeTaps resize_taps(const ResizeTapAttrs& attrs, int64_t x,
                                        const ResizeAxis& a) {
  ResizeTaps t;
  if (!a.resized) {
    t.n = 1;
    t.idx[0] = x;
    t.w[0] = 1.0;
    return t;
  }
  const double xo = resize_source_coord(attrs.coord, static_cast<double>(x), a);
  const int64_t last = a.in - 1;
  if (attrs.coord == ResizeCoord::kTfCropAndResize && (xo < 0 || xo > static_cast<double>(last))) {
    t.outside = true;
    return t;
  }
  // Keep the coordinate in a range where the int64 conversions are defined.
  const double bound = static_cast<double>(a.in) + 8;
  const double xc = std::isnan(xo) ? 0.0 : xo < -bound ? -bound : bound < xo ? bound : xo;
  // The left neighbour and ratio in (0, 1] (an integer coordinate prefers its left pixel).
  const double fl = std::floor(xc);
  const bool integer = fl == xc;
  const int64_t base = static_cast<int64_t>(fl) - (integer ? 1 : 0);
  const double ratio = integer ? 1.0 : xc - fl;
  switch (attrs.mode) {
    case ResizeMode::kNearest: {
      bool right = true;  // base + 1
      if (!integer) {
        switch (attrs.nearest) {
          case ResizeNearest::kRoundPreferFloor:
            right = ratio > 0.5;
            break;
          case ResizeNearest::kRoundPreferCeil:
            right = ratio >= 0.5;
            break;
          case ResizeNearest::kFloor:
            right = false;
            break;
          case ResizeNearest::kCeil:
            right = true;
            break;
        }
      }
      t.n = 1;
      const int64_t i = right ? base + 1 : base;
      t.idx[0] = i < 0 ? 0 : last < i ? last : i;
      t.w[0] = 1.0;
      return t;
    }
    case ResizeMode::kLinear:
      t.n = 2;
      t.w[0] = 1 - ratio;
      t.w[1] = ratio;
      break;
    case ResizeMode::kCubic: {
      // Keys' cubic: ((A*r - 5A)*r + 8A)*r - 4A for the outer taps, ((A+2)*r - (A+3))*r*r + 1
      // for the inner ones.
      const double A = attrs.cubic_a, r1 = ratio + 1, q = 1 - ratio, q1 = q + 1;
      const double a5 = resize_mul(5, A), a8 = resize_mul(8, A), a4 = resize_mul(4, A);
      t.n = 4;
      t.w[0] = resize_mul(resize_mul(resize_mul(A, r1) - a5, r1) + a8, r1) - a4;
      t.w[1] = resize_mul(resize_mul(resize_mul(A + 2, ratio) - (A + 3), ratio), ratio) + 1;
      t.w[2] = resize_mul(resize_mul(resize_mul(A + 2, q) - (A + 3), q), q) + 1;
      t.w[3] = resize_mul(resize_mul(resize_mul(A, q1) - a5, q1) + a8, q1) - a4;
      break;
    }
  }
  const int64_t first = attrs.mode == ResizeMode::kCubic ? base - 1 : base;
  double sum = 0;
  for (int k = 0; k < t.n; ++k) {
    const int64_t i = first + k;
    if (attrs.exclude_outside && (i < 0 || i > last)) t.w[k] = 0;
    sum += t.w[k];
    t.idx[k] = i < 0 ? 0 : last < i ? last : i;
  }
  if (attrs.exclude_outside && sum != 0) {
    for (int k = 0; k < t.n; ++k) t.w[k] /= sum;
  }
  return t;
}

}  // namespace kiln::ops
