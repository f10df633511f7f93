// CUDA "taps" tactic of Resize against the CPU reference, bit for bit (it shares the reference's
// tap computation and repeats its double arithmetic without fused multiply-adds): nearest with
// every coordinate_transformation_mode and nearest_mode, linear and cubic (cubic_coeff_a,
// exclude_outside), tf_crop_and_resize with roi and extrapolation_value, scales and sizes,
// keep_aspect_ratio_policy, the axes attribute (negative too), ranks 1-5 (NCHW images), every
// dtype each mode takes (bool nearest only; integers round half away from zero and saturate),
// zero-size outputs, and a CUDA graph capture.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::resize_cuda_test {
namespace {

using ResizeCuda = GpuTest;

const char* const kCoords[] = {"half_pixel",          "half_pixel_symmetric", "pytorch_half_pixel",
                               "align_corners",       "asymmetric",           "tf_crop_and_resize",
                               "tf_half_pixel_for_nn"};
const char* const kNearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};

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

// Values for linear / cubic: floats in [-50, 50]; integers spread over their range so that
// rounding and saturation matter.
HostTensor data_for(DataType dt, const Dims& d, std::mt19937& rng) {
  switch (dt) {
    case DataType::kUInt8:
      return random_tensor(dt, d, rng, 0, 255);
    case DataType::kInt8:
      return random_tensor(dt, d, rng, -128, 127);
    case DataType::kBool:
      return pattern_tensor(dt, d, rng);
    default:
      return random_tensor(dt, d, rng, -50, 50);
  }
}

// Random scales (x0.5 .. x3, quarters: exact floats) or sizes for the resized axes.
void random_target(std::mt19937& rng, const Dims& d, const std::vector<int64_t>& axes, RSpec* s) {
  const bool sizes = rng() % 2 == 0;
  for (int64_t a : axes) {
    const int64_t e = d[static_cast<int>(a < 0 ? a + d.rank() : a)];
    if (sizes) {
      s->sizes.push_back(1 + static_cast<int64_t>(rng() % (3 * e + 1)));
    } else {
      s->scales.push_back(0.25f * static_cast<float>(2 + rng() % 11));
    }
  }
}

TEST(ResizeCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("Resize");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "taps");
}

TEST_F(ResizeCuda, NearestEveryCoordinateAndNearestModeEveryDtype) {
  std::mt19937 rng(91);
  for (const char* coord : kCoords) {
    for (const char* nearest : kNearest) {
      for (DataType dt : all_dtypes()) {
        RSpec s;
        s.coord = coord;
        s.nearest = nearest;
        const Dims d{2, 3, 5, 7};
        if (s.coord == "tf_crop_and_resize") {
          s.roi = {0, 0, 0.2f, -0.1f, 1, 1, 0.9f, 1.3f};  // extrapolates past the right edge
          s.extrapolation = dt == DataType::kBool ? 1 : 9;
        }
        // Upsampling on H, downsampling on W (scales), then sizes.
        s.scales = {1, 1, 1.75f, 0.5f};
        const std::string what =
            std::string(coord) + " " + nearest + " " + std::string(dtype_name(dt));
        expect_exact(resize_case(pattern_tensor(dt, d, rng), s), device(), stream(),
                     what + " scales");
        s.scales.clear();
        s.sizes = {2, 3, 11, 3};
        expect_exact(resize_case(pattern_tensor(dt, d, rng), s), device(), stream(),
                     what + " sizes");
      }
    }
  }
}

TEST_F(ResizeCuda, LinearAndCubicEveryCoordinateModeEveryDtype) {
  std::mt19937 rng(92);
  const DataType dts[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                          DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,
                          DataType::kInt64};
  for (const char* mode : {"linear", "cubic"}) {
    for (const char* coord : kCoords) {
      for (DataType dt : dts) {
        for (bool exclude : {false, true}) {
          RSpec s;
          s.mode = mode;
          s.coord = coord;
          s.exclude = exclude;
          if (s.mode == "cubic") s.cubic_a = exclude ? -0.5 : -0.75;
          if (s.coord == "tf_crop_and_resize") {
            s.roi = {0.1f, -0.2f, 0.8f, 1.1f};
            s.extrapolation = -3.5;
          }
          s.axes = {2, -1};
          s.scales = {2.5f, 0.75f};
          const std::string what = std::string(mode) + " " + coord + " " +
                                   std::string(dtype_name(dt)) +
                                   (exclude ? " exclude_outside" : "");
          expect_exact(resize_case(data_for(dt, Dims{2, 3, 6, 9}, rng), s), device(), stream(),
                       what);
        }
      }
    }
  }
}

TEST_F(ResizeCuda, RandomRanksAxesAndPolicies) {
  std::mt19937 rng(93);
  const char* const modes[] = {"nearest", "linear", "cubic"};
  const char* const aspects[] = {"stretch", "not_larger", "not_smaller"};
  for (int iter = 0; iter < 120; ++iter) {
    RSpec s;
    s.mode = modes[iter % 3];
    s.coord = kCoords[rng() % 7];
    s.nearest = kNearest[rng() % 4];
    const int rank = 1 + static_cast<int>(rng() % 5);
    const Dims d = random_dims(rng, rank, 1, 6);
    std::vector<int64_t> axes;
    for (int a = 0; a < rank; ++a) {
      if (rng() % 3 != 0) axes.push_back(rng() % 2 ? a : a - rank);
    }
    if (axes.empty()) axes.push_back(rank - 1);
    s.axes = axes;
    random_target(rng, d, axes, &s);
    if (!s.sizes.empty()) s.aspect = aspects[rng() % 3];
    if (s.coord == "tf_crop_and_resize") {
      for (size_t i = 0; i < axes.size(); ++i)
        s.roi.push_back(0.1f * static_cast<float>(rng() % 5));
      for (size_t i = 0; i < axes.size(); ++i) {
        s.roi.push_back(0.5f + 0.2f * static_cast<float>(rng() % 5));
      }
      s.extrapolation = 2;
    }
    const DataType dt =
        s.mode == "nearest" ? all_dtypes()[rng() % all_dtypes().size()] : DataType::kFloat32;
    OpCase c = resize_case(data_for(dt, d, rng), s);
    if (!run_reference_case(c).is_ok()) continue;
    expect_exact(c, device(), stream(),
                 "iter " + std::to_string(iter) + " " + s.mode + " " + s.coord + " rank " +
                     std::to_string(rank));
  }
}

TEST_F(ResizeCuda, ImageSizedNchwAndCapture) {
  std::mt19937 rng(94);
  for (const char* mode : {"nearest", "linear", "cubic"}) {
    for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kUInt8}) {
      RSpec s;
      s.mode = mode;
      s.coord = s.mode == "nearest" ? "asymmetric" : "pytorch_half_pixel";
      s.nearest = "floor";
      s.sizes = {2, 16, 224, 160};
      OpCase c = resize_case(data_for(dt, Dims{2, 16, 57, 80}, rng), s);
      expect_exact(c, device(), stream(),
                   std::string(mode) + " image " + std::string(dtype_name(dt)));
      if (dt == DataType::kFloat32) {
        EXPECT_EQ(expect_capturable(c, device(), stream(), 0, 0, mode), 1);
      }
    }
  }
}

TEST_F(ResizeCuda, ZeroSize) {
  std::mt19937 rng(95);
  RSpec s;
  s.sizes = {0, 3, 4};
  expect_exact(resize_case(pattern_tensor(DataType::kFloat32, Dims{2, 3, 2}, rng), s), device(),
               stream(), "zero output");
  s.sizes = {0, 6};
  s.axes = {0, 1};
  expect_exact(resize_case(pattern_tensor(DataType::kInt32, Dims{0, 3}, rng), s), device(),
               stream(), "empty input");
}

}  // namespace
}  // namespace kiln::testing::resize_cuda_test
