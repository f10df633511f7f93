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

#include "ops/op.h"

#include <array>

namespace kiln::ops {

const OpDef& resize_op();
std::span<const TacticDef> resize_cpu_tactics();  // cpu.cpp

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

struct ResizeAttrs {
  ResizeMode mode = ResizeMode::kNearest;
  ResizeCoord coord = ResizeCoord::kHalfPixel;
  ResizeNearest nearest = ResizeNearest::kRoundPreferFloor;
  ResizeAspect aspect = ResizeAspect::kStretch;
  double cubic_a = -0.75;
  bool exclude_outside = false;
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

// Source coordinate of output position x on an axis.
double resize_source_coord(ResizeCoord coord, double x, const ResizeAxis& a);

// The input taps of output position x on an axis: indices clamped into [0, in) and weights
// (1 for nearest, 2 for linear, 4 for cubic); `outside` marks tf_crop_and_resize
// extrapolation.
struct ResizeTaps {
  int n = 0;
  bool outside = false;
  int64_t idx[4] = {};
  double w[4] = {};
};
ResizeTaps resize_taps(const ResizeAttrs& attrs, int64_t x, const ResizeAxis& a);

}  // namespace kiln::ops
