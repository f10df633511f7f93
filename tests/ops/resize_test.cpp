// Resize: the ONNX backend-test examples (hand values for every mode and coordinate mode), then
// random cases (ranks 1-4, modes, coordinate modes, nearest modes, axes, scales / sizes, keep-
// aspect policies, dtypes) against a naive implementation written here after the ONNX reference
// (recursive 1-D interpolation over an edge-padded axis, the n nearest padded indices), the
// threaded nchw2d path, symbolic output extents, sizes from a shape program, and errors.
#include "common/pool_runner.h"
#include "data_movement_util.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace kiln::testing::resize_test {
namespace {

struct RSpec {
  std::string mode = "nearest";
  std::string coord = "half_pixel";
  std::string nearest = "round_prefer_floor";
  double cubic_a = -0.75;
  bool exclude = false;
  double extrapolation = 0;
  std::vector<int64_t> axes;  // empty = all
  std::string aspect = "stretch";
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  std::vector<float> roi;
};

OpCase resize_case(const HostTensor& x, const RSpec& s) {
  OpCase c;
  c.op = "Resize";
  c.attrs.set("mode", s.mode);
  c.attrs.set("coordinate_transformation_mode", s.coord);
  c.attrs.set("nearest_mode", s.nearest);
  c.attrs.set("cubic_coeff_a", s.cubic_a);
  c.attrs.set("exclude_outside", int64_t{s.exclude ? 1 : 0});
  c.attrs.set("extrapolation_value", s.extrapolation);
  if (!s.axes.empty()) c.attrs.set("axes", s.axes);
  if (s.aspect != "stretch") c.attrs.set("keep_aspect_ratio_policy", s.aspect);
  c.inputs.push_back(x);
  if (!s.roi.empty()) {
    std::vector<double> r(s.roi.begin(), s.roi.end());
    c.inputs.push_back(make_tensor(DataType::kFloat32, {static_cast<int64_t>(r.size())}, r));
  } else {
    c.inputs.push_back(HostTensor());
  }
  if (!s.scales.empty()) {
    std::vector<double> v(s.scales.begin(), s.scales.end());
    c.inputs.push_back(make_tensor(DataType::kFloat32, {static_cast<int64_t>(v.size())}, v));
  } else {
    c.inputs.push_back(HostTensor());
    c.inputs.push_back(ints(DataType::kInt64, s.sizes));
  }
  c.constant.assign(c.inputs.size(), true);
  c.constant[0] = false;
  return c;
}

// ---- the naive implementation ----

struct NAxis {
  double scale = 1, out_f = 0, roi0 = 0, roi1 = 1;
  int64_t out = 0;
};

// The n nearest indices of x among [0, limit), ties to the smaller, ascending.
std::vector<int64_t> nearest_indices(double x, int n, int64_t limit) {
  std::vector<int64_t> all(limit);
  for (int64_t i = 0; i < limit; ++i) all[i] = i;
  std::stable_sort(all.begin(), all.end(), [&](int64_t a, int64_t b) {
    const double da = std::fabs(x - static_cast<double>(a)),
                 db = std::fabs(x - static_cast<double>(b));
    return da < db || (da == db && a < b);
  });
  all.resize(n);
  std::sort(all.begin(), all.end());
  return all;
}

double interpolate_1d(const std::vector<double>& data, const NAxis& a, int64_t xi, const RSpec& s) {
  const double x = static_cast<double>(xi);
  const double in = static_cast<double>(data.size());
  double xo = 0;
  if (s.coord == "align_corners") {
    xo = a.out_f == 1 ? 0 : x * (in - 1) / (a.out_f - 1);
  } else if (s.coord == "asymmetric") {
    xo = x / a.scale;
  } else if (s.coord == "tf_crop_and_resize") {
    xo = a.out_f == 1 ? (a.roi1 - a.roi0) * (in - 1) / 2
                      : x * (a.roi1 - a.roi0) * (in - 1) / (a.out_f - 1);
    xo += a.roi0 * (in - 1);
    if (xo < 0 || xo > in - 1) return s.extrapolation;
  } else if (s.coord == "pytorch_half_pixel") {
    xo = a.out > 1 ? (x + 0.5) / a.scale - 0.5 : 0;
  } else if (s.coord == "half_pixel") {
    xo = (x + 0.5) / a.scale - 0.5;
  } else if (s.coord == "half_pixel_symmetric") {
    const double adjustment = static_cast<double>(a.out) / a.out_f;
    const double center = in / 2;
    const double offset = center * (1 - adjustment);
    xo = offset + (x + 0.5) / a.scale - 0.5;
  } else if (s.coord == "tf_half_pixel_for_nn") {
    xo = (x + 0.5) / a.scale;
  }
  const double xint = std::floor(xo);
  const double ratio = xo == xint ? 1.0 : xo - xint;
  std::vector<double> coeffs;
  if (s.mode == "nearest") {
    if (xo == xint) {
      coeffs = {0, 1};
    } else if (s.nearest == "round_prefer_floor") {
      coeffs = {ratio <= 0.5 ? 1.0 : 0.0, ratio > 0.5 ? 1.0 : 0.0};
    } else if (s.nearest == "round_prefer_ceil") {
      coeffs = {ratio < 0.5 ? 1.0 : 0.0, ratio >= 0.5 ? 1.0 : 0.0};
    } else if (s.nearest == "floor") {
      coeffs = {1, 0};
    } else {
      coeffs = {0, 1};
    }
  } else if (s.mode == "linear") {
    coeffs = {1 - ratio, ratio};
  } else {
    const double A = s.cubic_a, r = ratio;
    coeffs = {((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A,
              ((A + 2) * r - (A + 3)) * r * r + 1,
              ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1,
              ((A * ((1 - r) + 1) - 5 * A) * ((1 - r) + 1) + 8 * A) * ((1 - r) + 1) - 4 * A};
  }
  const int n = static_cast<int>(coeffs.size());
  const int pad = (n + 1) / 2;
  // Edge-padded data, the n nearest padded indices.
  std::vector<double> padded;
  for (int i = 0; i < pad; ++i) padded.push_back(data.front());
  padded.insert(padded.end(), data.begin(), data.end());
  for (int i = 0; i < pad; ++i) padded.push_back(data.back());
  const auto idx = nearest_indices(xo + pad, n, static_cast<int64_t>(padded.size()));
  if (s.exclude && s.mode != "nearest") {
    double sum = 0;
    for (int k = 0; k < n; ++k) {
      const int64_t orig = idx[k] - pad;
      if (orig < 0 || orig >= static_cast<int64_t>(data.size())) coeffs[k] = 0;
      sum += coeffs[k];
    }
    for (auto& c : coeffs) c /= sum;
  }
  double v = 0;
  for (int k = 0; k < n; ++k) v += coeffs[k] * padded[idx[k]];
  return v;
}

// Output shape and per-axis parameters following the reference's _interpolate_nd.
std::vector<NAxis> naive_axes(const Dims& in, const RSpec& s) {
  const int r = in.rank();
  std::vector<int64_t> axes = s.axes;
  for (auto& a : axes) a = a < 0 ? a + r : a;
  if (axes.empty()) {
    for (int i = 0; i < r; ++i) axes.push_back(i);
  }
  std::vector<NAxis> ax(r);
  for (int d = 0; d < r; ++d) {
    ax[d].out = in[d];
    ax[d].out_f = static_cast<double>(in[d]);
  }
  for (size_t i = 0; i < axes.size(); ++i) {
    NAxis& a = ax[axes[i]];
    const double d = static_cast<double>(in[static_cast<int>(axes[i])]);
    if (!s.scales.empty()) {
      a.scale = s.scales[i];
      a.out_f = static_cast<double>(s.scales[i]) * d;
      a.out = static_cast<int64_t>(std::floor(a.out_f));
    } else {
      a.out = s.sizes[i];
      a.out_f = static_cast<double>(s.sizes[i]);
      a.scale = a.out_f / d;
    }
    if (!s.roi.empty()) {
      a.roi0 = s.roi[i];
      a.roi1 = s.roi[axes.size() + i];
    }
  }
  if (s.scales.empty() && s.aspect != "stretch") {
    double scale = s.aspect == "not_larger" ? 1e300 : 0;
    for (int64_t a : axes) {
      scale =
          s.aspect == "not_larger" ? std::min(scale, ax[a].scale) : std::max(scale, ax[a].scale);
    }
    for (int64_t a : axes) {
      ax[a].scale = scale;
      ax[a].out_f = scale * static_cast<double>(in[static_cast<int>(a)]);
      ax[a].out = static_cast<int64_t>(ax[a].out_f + 0.5);
    }
  }
  return ax;
}

// Returns the exact double result (before the dtype conversion).
std::vector<double> naive_resize(const HostTensor& x, const RSpec& s, Dims* out_dims) {
  const Dims& in = x.shape();
  const int r = in.rank();
  const auto ax = naive_axes(in, s);
  std::vector<int64_t> od;
  for (const auto& a : ax) od.push_back(a.out);
  *out_dims = dims_of(od);
  std::vector<double> out(out_dims->volume());
  std::vector<int64_t> prefix(r);
  // value(d): interpolates along axis d the values of every sub-array at the fixed prefix.
  std::function<double(int, const std::vector<int64_t>&)> value =
      [&](int d, const std::vector<int64_t>& oi) -> double {
    std::vector<double> line(in[d]);
    for (int64_t i = 0; i < in[d]; ++i) {
      prefix[d] = i;
      if (d == r - 1) {
        line[i] = x.get_double(ravel(prefix, in));
      } else {
        line[i] = value(d + 1, oi);
      }
    }
    return interpolate_1d(line, ax[d], oi[d], s);
  };
  for (int64_t o = 0; o < out_dims->volume(); ++o) out[o] = value(0, unravel(o, *out_dims));
  return out;
}

HostTensor to_tensor(const std::vector<double>& v, DataType dt, const Dims& d) {
  HostTensor t(dt, d);
  for (size_t i = 0; i < v.size(); ++i) {
    double e = v[i];
    if (is_integer(dt) || dt == DataType::kBool) {
      e = std::round(e);
    }
    store_from_double(t.data(), dt, static_cast<int64_t>(i), e);
  }
  return t;
}

std::vector<std::string> expected_tactics(const HostTensor& x, const RSpec& s) {
  std::vector<std::string> want = {"Resize/cpu-ref/reference"};
  if (x.shape().rank() == 4 &&
      (s.mode == "nearest" || (s.mode == "linear" && is_floating(x.dtype())))) {
    want.push_back("Resize/cpu-opt/nchw2d");
  }
  return want;
}

double tolerance(DataType dt) {
  switch (dt) {
    case DataType::kFloat32:
      return 1e-5;
    case DataType::kFloat16:
      return 2e-3;
    case DataType::kBFloat16:
      return 1.6e-2;
    default:
      return 1.0;  // integers: rounding of a computed tie may differ by one
  }
}

void check(const HostTensor& x, const RSpec& s, const std::string& what,
           ThreadPool* pool = nullptr) {
  Dims od;
  const auto want_d = naive_resize(x, s, &od);
  const HostTensor want = to_tensor(want_d, x.dtype(), od);
  const OpCase c = resize_case(x, s);
  auto runs = pool ? run_cpu_tactics_threaded(c, pool) : run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  EXPECT_EQ(tactic_ids(*runs), expected_tactics(x, s)) << what;
  const bool exact = s.mode == "nearest";
  for (const auto& run : *runs) {
    if (exact) {
      EXPECT_TRUE(same(run.outputs[0], want)) << what << " " << run.tactic;
    } else {
      const double tol = tolerance(x.dtype());
      EXPECT_TRUE(all_close(run.outputs[0], want, tol, tol)) << what << " " << run.tactic;
    }
  }
}

HostTensor iota_f32(const Dims& d) {
  HostTensor t(DataType::kFloat32, d);
  for (int64_t i = 0; i < t.numel(); ++i) t.as<float>()[i] = static_cast<float>(i + 1);
  return t;
}

// ---- ONNX examples ----

struct Example {
  const char* name;
  Dims in;
  RSpec spec;
  Dims out;
  std::vector<double> want;
};

void run_example(const Example& e) {
  const HostTensor x = iota_f32(e.in);
  const HostTensor want = make_tensor(DataType::kFloat32, e.out, e.want);
  ASSERT_EQ(static_cast<int64_t>(e.want.size()), e.out.volume()) << e.name;
  auto runs = run_cpu_tactics(resize_case(x, e.spec));
  ASSERT_TRUE(runs.is_ok()) << e.name << ": " << runs.status().to_string();
  EXPECT_EQ(tactic_ids(*runs), expected_tactics(x, e.spec)) << e.name;
  for (const auto& run : *runs) {
    EXPECT_TRUE(all_close(run.outputs[0], want, 1e-5, 1e-6)) << e.name << " " << run.tactic;
  }
  // The naive implementation agrees with the published values too.
  Dims od;
  const auto naive = naive_resize(x, e.spec, &od);
  EXPECT_TRUE(all_close(to_tensor(naive, DataType::kFloat32, od), want, 1e-5, 1e-6))
      << e.name << " (naive)";
}

RSpec scales(std::vector<float> s, std::string mode, std::string coord = "half_pixel") {
  RSpec r;
  r.scales = std::move(s);
  r.mode = std::move(mode);
  r.coord = std::move(coord);
  return r;
}

RSpec sizes(std::vector<int64_t> s, std::string mode, std::string coord = "half_pixel") {
  RSpec r;
  r.sizes = std::move(s);
  r.mode = std::move(mode);
  r.coord = std::move(coord);
  return r;
}

TEST(Resize, OnnxExamplesNearest) {
  RSpec ceil_hp = sizes({1, 1, 8, 8}, "nearest");
  ceil_hp.nearest = "ceil";
  RSpec floor_ac = sizes({1, 1, 8, 8}, "nearest", "align_corners");
  floor_ac.nearest = "floor";
  RSpec ceil_asym = sizes({1, 1, 8, 8}, "nearest", "asymmetric");
  ceil_asym.nearest = "round_prefer_ceil";
  const Example examples[] = {
      {"downsample_scales_nearest",
       {1, 1, 2, 4},
       scales({1, 1, 0.6f, 0.6f}, "nearest"),
       {1, 1, 1, 2},
       {1, 3}},
      {"upsample_scales_nearest",
       {1, 1, 2, 2},
       scales({1, 1, 2, 3}, "nearest"),
       {1, 1, 4, 6},
       {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}},
      {"downsample_sizes_nearest",
       {1, 1, 2, 4},
       sizes({1, 1, 1, 3}, "nearest"),
       {1, 1, 1, 3},
       {1, 2, 4}},
      {"upsample_sizes_nearest",
       {1, 1, 2, 2},
       sizes({1, 1, 7, 8}, "nearest"),
       {1, 1, 7, 8},
       {1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1,
        2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 3, 3, 4, 4, 4, 4}},
      {"upsample_sizes_nearest_ceil_half_pixel",
       {1, 1, 4, 4},
       ceil_hp,
       {1, 1, 8, 8},
       {1,  2,  2,  3,  3,  4,  4,  4,  5,  6,  6,  7,  7,  8,  8,  8,  5,  6,  6,  7,  7,  8,
        8,  8,  9,  10, 10, 11, 11, 12, 12, 12, 9,  10, 10, 11, 11, 12, 12, 12, 13, 14, 14, 15,
        15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16}},
      {"upsample_sizes_nearest_floor_align_corners",
       {1, 1, 4, 4},
       floor_ac,
       {1, 1, 8, 8},
       {1,  1,  1,  2,  2, 3, 3, 4,  1,  1,  1,  2,  2,  3,  3,  4,  1,  1,  1,  2, 2, 3,
        3,  4,  5,  5,  5, 6, 6, 7,  7,  8,  5,  5,  5,  6,  6,  7,  7,  8,  9,  9, 9, 10,
        10, 11, 11, 12, 9, 9, 9, 10, 10, 11, 11, 12, 13, 13, 13, 14, 14, 15, 15, 16}},
      {"upsample_sizes_nearest_round_prefer_ceil_asymmetric",
       {1, 1, 4, 4},
       ceil_asym,
       {1, 1, 8, 8},
       {1,  2,  2,  3,  3,  4,  4,  4,  5,  6,  6,  7,  7,  8,  8,  8,  5,  6,  6,  7,  7,  8,
        8,  8,  9,  10, 10, 11, 11, 12, 12, 12, 9,  10, 10, 11, 11, 12, 12, 12, 13, 14, 14, 15,
        15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16, 13, 14, 14, 15, 15, 16, 16, 16}},
      {"downsample_sizes_nearest_tf_half_pixel_for_nn",
       {1, 1, 4, 4},
       sizes({1, 1, 3, 2}, "nearest", "tf_half_pixel_for_nn"),
       {1, 1, 3, 2},
       {6, 8, 10, 12, 14, 16}},
  };
  for (const auto& e : examples) run_example(e);
}

TEST(Resize, OnnxExamplesLinear) {
  RSpec crop = sizes({1, 1, 3, 3}, "linear", "tf_crop_and_resize");
  crop.roi = {0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 1.7f};
  crop.extrapolation = 10;
  const Example examples[] = {
      {"upsample_scales_linear",
       {1, 1, 2, 2},
       scales({1, 1, 2, 2}, "linear"),
       {1, 1, 4, 4},
       {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4}},
      {"upsample_scales_linear_align_corners",
       {1, 1, 2, 2},
       scales({1, 1, 2, 2}, "linear", "align_corners"),
       {1, 1, 4, 4},
       {1, 1.33333337, 1.66666663, 2, 1.66666663, 2, 2.33333325, 2.66666675, 2.33333325, 2.66666675,
        3, 3.33333325, 3, 3.33333325, 3.66666675, 4}},
      {"downsample_scales_linear",
       {1, 1, 2, 4},
       scales({1, 1, 0.6f, 0.6f}, "linear"),
       {1, 1, 1, 2},
       {2.66666651, 4.33333302}},
      // Output length 2.4 -> 2; align_corners divides by the real length minus one (1.4).
      {"downsample_scales_linear_align_corners",
       {1, 1, 2, 4},
       scales({1, 1, 0.6f, 0.6f}, "linear", "align_corners"),
       {1, 1, 1, 2},
       {1, 3.14285707}},
      {"downsample_sizes_linear_pytorch_half_pixel",
       {1, 1, 4, 4},
       sizes({1, 1, 3, 1}, "linear", "pytorch_half_pixel"),
       {1, 1, 3, 1},
       {1.66666663, 7, 12.333333}},
      {"tf_crop_and_resize",
       {1, 1, 4, 4},
       crop,
       {1, 1, 3, 3},
       {7.60000038, 10, 10, 12.4000006, 10, 10, 10, 10, 10}},
      // half_pixel_symmetric (opset 19): W = 4 * 0.6 = 2.4 -> 2, adjustment 2 / 2.4,
      // offset 2 * (1 - 5/6) = 1/3: x0 = 1/3 + 0.5/0.6 - 0.5 = 2/3 -> 1 + 2/3; x1 = 7/3 -> 3 + 1/3.
      {"downsample_scales_linear_half_pixel_symmetric",
       {1, 1, 1, 4},
       scales({1, 1, 1, 0.6f}, "linear", "half_pixel_symmetric"),
       {1, 1, 1, 2},
       {1.66666667, 3.33333333}},
      // H: 2 * 2.3 = 4.6 -> 4, W: 2 * 2.94 = 5.88 -> 5.
      {"upsample_scales_linear_half_pixel_symmetric",
       {1, 1, 2, 2},
       scales({1, 1, 2.3f, 2.94f}, "linear", "half_pixel_symmetric"),
       {1, 1, 4, 5},
       {1,          1.15986395, 1.5,        1.84013605, 2,          1.56521738, 1.72508133,
        2.06521738, 2.40535343, 2.56521738, 2.43478262, 2.59464657, 2.93478262, 3.27491867,
        3.43478262, 3,          3.15986395, 3.5,        3.84013605, 4}},
  };
  for (const auto& e : examples) run_example(e);
}

TEST(Resize, OnnxExamplesCubic) {
  RSpec down_ex = scales({1, 1, 0.8f, 0.8f}, "cubic");
  down_ex.cubic_a = -0.5;
  down_ex.exclude = true;
  RSpec up_ex = scales({1, 1, 2, 2}, "cubic");
  up_ex.cubic_a = -0.5;
  up_ex.exclude = true;
  const Example examples[] = {
      {"downsample_scales_cubic",
       {1, 1, 4, 4},
       scales({1, 1, 0.8f, 0.8f}, "cubic"),
       {1, 1, 3, 3},
       {1.47119141, 2.78125, 4.08251953, 6.71142578, 8.02148438, 9.32275391, 11.9165039, 13.2265625,
        14.527832}},
      {"downsample_scales_cubic_A_n0p5_exclude_outside",
       {1, 1, 4, 4},
       down_ex,
       {1, 1, 3, 3},
       {1.36812675, 2.6695013, 4.01333666, 6.57362509, 7.875, 9.21883488, 11.948966, 13.2503414,
        14.5941763}},
      {"downsample_scales_cubic_align_corners",
       {1, 1, 4, 4},
       scales({1, 1, 0.8f, 0.8f}, "cubic", "align_corners"),
       {1, 1, 3, 3},
       {1, 2.39519167, 3.7903831, 6.5807662, 7.97595787, 9.37114906, 12.1615324, 13.5567236,
        14.9519157}},
      {"downsample_sizes_cubic",
       {1, 1, 4, 4},
       sizes({1, 1, 3, 3}, "cubic"),
       {1, 1, 3, 3},
       {1.63078701, 3.00462961, 4.37847233, 7.12615728, 8.5, 9.87384224, 12.6215277, 13.9953699,
        15.3692131}},
      {"upsample_scales_cubic",
       {1, 1, 4, 4},
       scales({1, 1, 2, 2}, "cubic"),
       {1, 1, 8, 8},
       {0.47265625, 0.76953125, 1.24609375, 1.875,      2.28125,    2.91015625, 3.38671875,
        3.68359375, 1.66015625, 1.95703125, 2.43359375, 3.0625,     3.46875,    4.09765625,
        4.57421875, 4.87109375, 3.56640625, 3.86328125, 4.33984375, 4.96875,    5.375,
        6.00390625, 6.48046875, 6.77734375, 6.08203125, 6.37890625, 6.85546875, 7.484375,
        7.890625,   8.51953125, 8.99609375, 9.29296875, 7.70703125, 8.00390625, 8.48046875,
        9.109375,   9.515625,   10.1445312, 10.6210938, 10.9179688, 10.2226562, 10.5195312,
        10.9960938, 11.625,     12.03125,   12.6601562, 13.1367188, 13.4335938, 12.1289062,
        12.4257812, 12.9023438, 13.53125,   13.9375,    14.5664062, 15.0429688, 15.3398438,
        13.3164062, 13.6132812, 14.0898438, 14.71875,   15.125,     15.7539062, 16.2304688,
        16.5273438}},
      {"upsample_scales_cubic_A_n0p5_exclude_outside",
       {1, 1, 4, 4},
       up_ex,
       {1, 1, 8, 8},
       {0.558823526, 0.814942062, 1.35698247, 1.89705884, 2.39705873, 2.93713522, 3.47917557,
        3.7352941,   1.58329761,  1.83941603, 2.38145661, 2.92153287, 3.42153287, 3.96160913,
        4.50364971,  4.75976801,  3.75145936, 4.0075779,  4.54961824, 5.0896945,  5.5896945,
        6.12977076,  6.67181158,  6.92792988, 5.91176462, 6.1678834,  6.70992374, 7.25,
        7.75,        8.29007626,  8.83211708, 9.0882349,  7.91176462, 8.16788292, 8.70992374,
        9.25,        9.75,        10.2900763, 10.8321171, 11.0882349, 10.0720701, 10.3281889,
        10.8702288,  11.410305,   11.910305,  12.4503813, 12.9924221, 13.2485409, 12.2402315,
        12.4963503,  13.0383911,  13.5784674, 14.0784674, 14.6185436, 15.1605835, 15.4167023,
        13.2647057,  13.5208244,  14.0628653, 14.6029415, 15.1029415, 15.6430178, 16.1850586,
        16.4411774}},
      {"upsample_scales_cubic_asymmetric",
       {1, 1, 4, 4},
       scales({1, 1, 2, 2}, "cubic", "asymmetric"),
       {1, 1, 8, 8},
       {1,      1.40625,  2,      2.5,      3,      3.59375,  4,      4.09375,  2.625,  3.03125,
        3.625,  4.125,    4.625,  5.21875,  5.625,  5.71875,  5,      5.40625,  6,      6.5,
        7,      7.59375,  8,      8.09375,  7,      7.40625,  8,      8.5,      9,      9.59375,
        10,     10.09375, 9,      9.40625,  10,     10.5,     11,     11.59375, 12,     12.09375,
        11.375, 11.78125, 12.375, 12.875,   13.375, 13.96875, 14.375, 14.46875, 13,     13.40625,
        14,     14.5,     15,     15.59375, 16,     16.09375, 13.375, 13.78125, 14.375, 14.875,
        15.375, 15.96875, 16.375, 16.46875}},
  };
  for (const auto& e : examples) run_example(e);
}

TEST(Resize, KeepAspectRatioAndAxes) {
  // not_larger: scale min(7/2, 8/2) = 3.5 -> [7, 7]; not_smaller: 4 -> [8, 8] (ONNX examples).
  RSpec nl = sizes({7, 8}, "nearest");
  nl.axes = {2, 3};
  nl.aspect = "not_larger";
  run_example({"upsample_sizes_nearest_not_larger",
               {1, 1, 2, 2},
               nl,
               {1, 1, 7, 7},
               {1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1,
                2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 3, 3, 3, 3, 4, 4, 4, 3, 3, 3, 3, 4, 4, 4}});
  RSpec ns = nl;
  ns.aspect = "not_smaller";
  run_example({"upsample_sizes_nearest_not_smaller",
               {1, 1, 2, 2},
               ns,
               {1, 1, 8, 8},
               {1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2,
                2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 3, 3,
                4, 4, 4, 4, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 3, 3, 4, 4, 4, 4}});
  // Downsample not_larger: scale min(1/2, 3/4) = 0.5 -> [1, 2]; H: 0.5 -> 0, W: 0.5, 2.5 -> 0, 2.
  RSpec dn = sizes({1, 3}, "nearest");
  dn.axes = {-2, -1};
  dn.aspect = "not_larger";
  run_example({"downsample_sizes_nearest_not_larger", {1, 1, 2, 4}, dn, {1, 1, 1, 2}, {1, 3}});
  // Axes [3, 2] with scales: the upsample_scales_linear example with the axes swapped.
  RSpec sw = scales({2, 2}, "linear");
  sw.axes = {3, 2};
  run_example({"upsample_scales_linear_axes_3_2",
               {1, 1, 2, 2},
               sw,
               {1, 1, 4, 4},
               {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4}});
  // tf_crop_and_resize on axes 2, 3 only (the roi then has 4 values).
  RSpec crop = sizes({3, 3}, "linear", "tf_crop_and_resize");
  crop.axes = {2, 3};
  crop.roi = {0.4f, 0.6f, 0.6f, 0.8f};
  crop.extrapolation = 10;
  Dims od;
  const auto want = naive_resize(iota_f32({1, 1, 4, 4}), crop, &od);
  // Hand values: rows 1.2, 1.5, 1.8 and columns 1.8, 2.1, 2.4 of 1 + 4 * row + col.
  const std::vector<double> hand = {7.6, 7.9, 8.2, 8.8, 9.1, 9.4, 10, 10.3, 10.6};
  EXPECT_TRUE(all_close(to_tensor(want, DataType::kFloat32, od),
                        make_tensor(DataType::kFloat32, {1, 1, 3, 3}, hand), 1e-5, 1e-6));
  run_example({"tf_crop_and_resize_axes_2_3", {1, 1, 4, 4}, crop, {1, 1, 3, 3}, hand});
}

TEST(Resize, RandomAgainstNaive) {
  std::mt19937 rng(2024);
  const char* const modes[] = {"nearest", "linear", "cubic"};
  const char* const coords[] = {"half_pixel",          "half_pixel_symmetric", "pytorch_half_pixel",
                                "align_corners",       "asymmetric",           "tf_crop_and_resize",
                                "tf_half_pixel_for_nn"};
  const char* const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  const float scale_choices[] = {0.5f, 0.6f, 0.75f, 1.0f, 1.5f, 2.0f, 2.5f, 3.0f, 0.34f, 1.7f};
  for (int iter = 0; iter < 300; ++iter) {
    const int rank = 1 + static_cast<int>(rng() % 4);
    const Dims in = random_dims(rng, rank, 1, 5);
    RSpec s;
    s.mode = modes[rng() % 3];
    s.coord = coords[rng() % 7];
    if (s.mode != "nearest" && s.coord == "tf_half_pixel_for_nn") s.coord = "half_pixel";
    s.nearest = nearest[rng() % 4];
    s.exclude = s.mode == "cubic" && rng() % 2;
    s.cubic_a = rng() % 2 ? -0.75 : -0.5;
    s.extrapolation = 7.5;
    std::vector<int64_t> axes;
    for (int d = 0; d < rank; ++d) axes.push_back(d);
    std::shuffle(axes.begin(), axes.end(), rng);
    // tf_half_pixel_for_nn (opset 11) predates the axes attribute: every axis is resized.
    const bool all = rng() % 3 == 0 || s.coord == "tf_half_pixel_for_nn";
    const int na = all ? rank : 1 + static_cast<int>(rng() % rank);
    axes.resize(na);
    if ((na < rank || rng() % 2) && s.coord != "tf_half_pixel_for_nn") {
      for (auto& a : axes) a = rng() % 2 ? a - rank : a;
      s.axes = axes;
    } else {
      std::sort(axes.begin(), axes.end());
    }
    if (rng() % 2) {
      for (int i = 0; i < na; ++i) s.scales.push_back(scale_choices[rng() % 10]);
      bool empty = false;
      for (int i = 0; i < na; ++i) {
        const int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
        empty = empty || std::floor(static_cast<double>(s.scales[i]) * in[static_cast<int>(a)]) < 1;
      }
      if (empty) s.scales.assign(na, 1.5f);
    } else {
      for (int i = 0; i < na; ++i) s.sizes.push_back(1 + static_cast<int64_t>(rng() % 7));
      const int p = static_cast<int>(rng() % 4);
      if (p == 1) s.aspect = "not_larger";
      if (p == 2) s.aspect = "not_smaller";
    }
    if (s.coord == "tf_crop_and_resize") {
      for (int i = 0; i < na; ++i) s.roi.push_back(static_cast<float>(rng() % 5) * 0.1f - 0.1f);
      for (int i = 0; i < na; ++i) s.roi.push_back(static_cast<float>(rng() % 5) * 0.1f + 0.7f);
    }
    DataType dt = DataType::kFloat32;
    const int pick = static_cast<int>(rng() % 8);
    if (s.mode == "nearest") {
      dt = all_dtypes()[pick];
    } else {
      const DataType numeric[] = {DataType::kFloat32,  DataType::kFloat32, DataType::kFloat16,
                                  DataType::kBFloat16, DataType::kInt8,    DataType::kUInt8,
                                  DataType::kInt32,    DataType::kInt64};
      dt = numeric[pick];
    }
    const HostTensor x =
        is_floating(dt) ? random_tensor(dt, in, rng, -1, 1) : pattern_tensor(dt, in, rng);
    std::string what = "iter " + std::to_string(iter) + " " + in.to_string() + " " + s.mode + " " +
                       s.coord + " " + s.nearest + " " + std::string(dtype_name(dt)) + " aspect " +
                       s.aspect;
    check(x, s, what);
  }
}

TEST(Resize, IntegerLinearRoundsAndSaturates) {
  // [0, 255] uint8 upsampled by 2 (align_corners): 0, 85, 170, 255; cubic overshoots and is
  // clamped to [0, 255].
  HostTensor x = make_tensor(DataType::kUInt8, {1, 2}, {0, 255});
  RSpec s = scales({1, 2}, "linear", "align_corners");
  auto runs = run_cpu_tactics(resize_case(x, s));
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  EXPECT_TRUE(
      same((*runs)[0].outputs[0], make_tensor(DataType::kUInt8, {1, 4}, {0, 85, 170, 255})));
  HostTensor z = make_tensor(DataType::kUInt8, {1, 4}, {0, 0, 255, 255});
  RSpec c = scales({1, 2}, "cubic");
  runs = run_cpu_tactics(resize_case(z, c));
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  Dims od;
  const auto want = naive_resize(z, c, &od);
  for (size_t i = 0; i < want.size(); ++i) {
    const double w = std::clamp(std::round(want[i]), 0.0, 255.0);
    EXPECT_EQ((*runs)[0].outputs[0].get_double(static_cast<int64_t>(i)), w) << i;
  }
}

TEST(Resize, ThreadedNchw2d) {
  ThreadPool pool(4);
  std::mt19937 rng(7);
  // Outputs of 5120 elements: several row chunks.
  for (const char* mode : {"nearest", "linear"}) {
    for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
      const HostTensor x = random_tensor(dt, {1, 2, 9, 11}, rng);
      check(x, sizes({1, 2, 40, 64}, mode), std::string("threaded up ") + mode, &pool);
      check(x, scales({1, 1, 0.5f, 0.75f}, mode, "align_corners"),
            std::string("threaded down ") + mode, &pool);
    }
  }
  // nchw2d with N / C resized, or extrapolating, falls back to the generic loop.
  const HostTensor x = random_tensor(DataType::kFloat32, {2, 3, 5, 6}, rng);
  check(x, sizes({3, 2, 7, 4}, "linear"), "fallback N/C", &pool);
  RSpec crop = sizes({2, 3, 4, 4}, "linear", "tf_crop_and_resize");
  crop.roi = {0, 0, -0.2f, 0.1f, 1, 1, 0.9f, 1.3f};
  check(x, crop, "fallback extrapolation", &pool);
}

TEST(Resize, ZeroSize) {
  std::mt19937 rng(3);
  // N = 0: empty output; a zero scale result: empty axis.
  check(random_tensor(DataType::kFloat32, {0, 2, 3, 3}, rng), sizes({0, 2, 6, 6}, "linear"),
        "zero batch");
  check(random_tensor(DataType::kFloat32, {1, 2, 3, 3}, rng), sizes({1, 2, 0, 6}, "nearest"),
        "zero output rows");
  check(random_tensor(DataType::kFloat32, {1, 1, 0, 3}, rng), scales({1, 1, 2, 2}, "linear"),
        "zero input rows");
}

TEST(Resize, SymbolicExtents) {
  for (float scale : {0.5f, 0.6f, 2.0f, 1.5f, 0.34f, 3.0f, 0.1f}) {
    ir::Graph g;
    int x = g.add_input("x", DataType::kFloat32, Dims{1, 3, -1, -1});
    int sc = g.add_constant("scales", make_tensor(DataType::kFloat32, {2}, {scale, 1.0}));
    ir::Attrs a;
    a.set("mode", std::string("linear"));
    a.set("axes", std::vector<int64_t>{2, 3});
    int y = g.node(g.add_node("Resize", "r", {x, -1, sc}, 1, a)).outputs[0];
    ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
    for (int64_t h = 0; h <= 40; ++h) {
      auto got = ir::eval_shape(g.value(y).shape, std::vector<int64_t>{h, 7});
      ASSERT_TRUE(got.is_ok());
      EXPECT_EQ((*got)[2], static_cast<int64_t>(std::floor(static_cast<double>(scale) * h)))
          << "scale " << scale << " h " << h << " expr " << g.value(y).shape[2].to_string();
      EXPECT_EQ((*got)[3], 7);
    }
  }
}

TEST(Resize, SizesFromShapeProgram) {
  // y = Resize(x, sizes = Shape(z)): the output takes z's dynamic shape, and the kernel reads the
  // sizes the shape program computed.
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{1, 2, -1, -1});
  int z = g.add_input("z", DataType::kFloat32, Dims{1, 2, -1, -1});
  int s = g.node(g.add_node("Shape", "s", {z}, 1)).outputs[0];
  ir::Attrs a;
  a.set("mode", std::string("nearest"));
  int y = g.node(g.add_node("Resize", "r", {x, -1, -1, s}, 1, a)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
  std::mt19937 rng(5);
  const HostTensor xv = random_tensor(DataType::kFloat32, {1, 2, 3, 4}, rng);
  const HostTensor zv(DataType::kFloat32, {1, 2, 7, 5});
  // Symbols: x.2, x.3, z.2, z.3.
  ASSERT_EQ(g.symbols().size(), 4u);
  const std::vector<int64_t> sym = {3, 4, 7, 5};
  auto dims = ir::eval_shape(g.value(y).shape, sym);
  ASSERT_TRUE(dims.is_ok());
  EXPECT_EQ(*dims, (std::vector<int64_t>{1, 2, 7, 5}));
  auto values = interpret(g, {{x, xv}, {z, zv}}, sym);
  ASSERT_TRUE(values.is_ok()) << values.status().to_string();
  Dims od;
  const auto want = naive_resize(xv, sizes({1, 2, 7, 5}, "nearest"), &od);
  EXPECT_TRUE(same((*values)[y], to_tensor(want, DataType::kFloat32, od)));
}

TEST(Resize, Errors) {
  const HostTensor x = iota_f32({1, 1, 2, 2});
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  RSpec s = scales({1, 1, 2, 2}, "linear");
  OpCase c = resize_case(x, s);
  c.attrs.set("antialias", int64_t{1});
  expect_error(c, "antialias=1 is unsupported");
  c = resize_case(x, s);
  c.attrs.set("mode", std::string("area"));
  expect_error(c, "mode must be nearest, linear or cubic");
  c = resize_case(x, s);
  c.attrs.set("coordinate_transformation_mode", std::string("corners"));
  expect_error(c, "unknown coordinate_transformation_mode 'corners'");
  c = resize_case(x, s);
  c.attrs.set("nearest_mode", std::string("up"));
  expect_error(c, "unknown nearest_mode 'up'");
  c = resize_case(x, s);
  c.attrs.set("keep_aspect_ratio_policy", std::string("fit"));
  expect_error(c, "unknown keep_aspect_ratio_policy 'fit'");
  expect_error(resize_case(x, scales({1, 1, 2}, "linear")), "scales has 3 values but 4 axes");
  expect_error(resize_case(x, scales({1, 1, 0, 2}, "linear")), "must be positive");
  expect_error(resize_case(x, sizes({1, 1, 2}, "linear")), "sizes has 3 values but 4 axes");
  expect_error(resize_case(x, sizes({1, 1, -2, 2}, "linear")), "is negative");
  RSpec ax = scales({2, 2}, "linear");
  ax.axes = {2, -2};
  expect_error(resize_case(x, ax), "axis -2 is repeated");
  ax.axes = {2, 4};
  expect_error(resize_case(x, ax), "axis 4 is out of range");
  c = resize_case(x, s);
  c.inputs.push_back(ints(DataType::kInt64, {1, 1, 4, 4}));
  c.constant.assign(4, true);
  c.constant[0] = false;
  expect_error(c, "scales and sizes are both given");
  c = resize_case(x, s);
  c.inputs[2] = HostTensor(DataType::kFloat32, {0});  // empty scales, no sizes
  expect_error(c, "needs one of the scales and sizes");
  c = resize_case(x, s);
  c.constant[2] = false;
  expect_error(c, "must be a constant");
  c = resize_case(x, sizes({1, 1, 4, 4}, "linear"));
  c.constant[3] = false;
  expect_error(c, "data-dependent sizes are unsupported");
  expect_error(resize_case(x, sizes({1, 1, 4, 4}, "linear", "tf_crop_and_resize")),
               "tf_crop_and_resize needs a constant roi");
  RSpec bad_roi = sizes({1, 1, 4, 4}, "linear", "tf_crop_and_resize");
  bad_roi.roi = {0, 0, 1, 1};
  expect_error(resize_case(x, bad_roi), "roi must be a floating tensor of 8 values");
  expect_error(
      resize_case(make_tensor(DataType::kBool, {2, 2}, {1, 0, 0, 1}), scales({2, 2}, "linear")),
      "does not support a bool input");
  expect_error(
      resize_case(HostTensor(DataType::kFloat32, {1, 1, 0, 2}), sizes({1, 1, 3, 2}, "nearest")),
      "cannot resize empty axis 2");
  OpCase sc;
  sc.op = "Resize";
  sc.inputs.push_back(make_tensor(DataType::kFloat32, {}, {1}));
  sc.inputs.push_back(HostTensor());
  sc.inputs.push_back(HostTensor(DataType::kFloat32, {0}));
  sc.inputs.push_back(ints(DataType::kInt64, {}));
  sc.constant = {false, true, true, true};
  expect_error(sc, "cannot resize a scalar");
  // keep_aspect_ratio_policy needs static extents.
  ir::Graph g;
  int xi = g.add_input("x", DataType::kFloat32, Dims{1, 1, -1, 4});
  int sz = g.add_constant("sizes", ints(DataType::kInt64, {3, 3}));
  ir::Attrs a;
  a.set("axes", std::vector<int64_t>{2, 3});
  a.set("keep_aspect_ratio_policy", std::string("not_larger"));
  g.add_node("Resize", "r", {xi, -1, -1, sz}, 1, a);
  Status st = g.infer_shapes();
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.to_string().find("needs static sizes and static extents"), std::string::npos)
      << st.to_string();
}

}  // namespace
}  // namespace kiln::testing::resize_test
