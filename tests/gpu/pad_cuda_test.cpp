// CUDA "gather" tactic of Pad against the CPU reference: every mode (constant / reflect / edge /
// wrap) and dtype, int64 / int32 pads inputs and the pre-11 attribute form, axes subsets with
// negative axes, negative pads (cropping), pads wider than the input (periodic reflect / wrap),
// constant_value present or absent, zero-size inputs and outputs, unaligned buffers and a CUDA
// graph capture.
#include "gpu/cuda_case_util.h"
#include "ops/data_movement_util.h"

namespace kiln::testing::pad_cuda_test {
namespace {

using PadCuda = GpuTest;

const char* const kModes[] = {"constant", "reflect", "edge", "wrap"};

struct PSpec {
  std::string mode = "constant";
  std::vector<int64_t> pads;  // begins then ends of `axes` (or of every axis)
  std::vector<int64_t> axes;  // empty = all
  double value = 0;
  bool has_value = false;
};

// form 0: int64 inputs; 1: int32 inputs; 2: pre-11 attributes (all axes only).
OpCase pad_case(const HostTensor& x, const PSpec& s, int form) {
  OpCase c;
  c.op = "Pad";
  c.attrs.set("mode", s.mode);
  c.inputs.push_back(x);
  if (form == 2) {
    c.attrs.set("pads", s.pads);
    if (s.has_value) c.attrs.set("value", s.value);
    return c;
  }
  const DataType dt = form == 0 ? DataType::kInt64 : DataType::kInt32;
  c.inputs.push_back(ints(dt, s.pads));
  if (s.has_value || !s.axes.empty()) {
    c.inputs.push_back(s.has_value ? make_tensor(x.dtype(), {}, {s.value}) : HostTensor());
  }
  if (!s.axes.empty()) c.inputs.push_back(ints(dt, s.axes));
  c.constant.assign(c.inputs.size(), true);
  c.constant[0] = false;
  return c;
}

TEST(PadCudaRegistry, OneTactic) {
  auto tactics = ops::cuda_tactics("Pad");
  ASSERT_EQ(tactics.size(), 1u);
  EXPECT_EQ(tactics[0].name, "gather");
}

TEST_F(PadCuda, OnnxExamplesEveryMode) {
  // The ONNX Pad examples: [3, 2] padded by [0, 2, 0, 0].
  const HostTensor x = make_tensor(DataType::kFloat32, {3, 2}, {1.0, 1.2, 2.3, 3.4, 4.5, 5.7});
  for (const char* mode : kModes) {
    PSpec s;
    s.mode = mode;
    s.pads = {0, 2, 0, 0};
    for (int form = 0; form < 3; ++form) {
      expect_exact(pad_case(x, s, form), device(), stream(),
                   std::string(mode) + " form " + std::to_string(form));
    }
  }
}

TEST_F(PadCuda, RandomEveryModeAndDtype) {
  std::mt19937 rng(81);
  int ran = 0;
  for (int iter = 0; iter < 160; ++iter) {
    const DataType dt = all_dtypes()[iter % all_dtypes().size()];
    const int rank = 1 + static_cast<int>(rng() % 4);
    const Dims d = random_dims(rng, rank, 1, 6);
    PSpec s;
    s.mode = kModes[(iter / 8) % 4];
    const bool subset = rng() % 3 == 0;
    std::vector<int64_t> axes;
    for (int a = 0; a < rank; ++a) {
      if (!subset || rng() % 2) axes.push_back(a);
    }
    if (axes.empty()) axes.push_back(0);
    if (subset) {
      for (auto& a : axes) {
        if (rng() % 2) a -= rank;  // negative axes
      }
      s.axes = axes;
    }
    std::vector<int64_t> begins, ends;
    for (int64_t a : axes) {
      const int64_t e = d[static_cast<int>(a < 0 ? a + rank : a)];
      // -e/2 .. 2e + 1: crops, and pads wider than the input (periodic reflect / wrap).
      begins.push_back(static_cast<int64_t>(rng() % (2 * e + 2 + e / 2)) - e / 2);
      ends.push_back(static_cast<int64_t>(rng() % (2 * e + 2 + e / 2)) - e / 2);
    }
    s.pads = begins;
    s.pads.insert(s.pads.end(), ends.begin(), ends.end());
    s.has_value = rng() % 2 == 0;
    s.value = dt == DataType::kBool ? 1 : 7;
    const int form = subset ? static_cast<int>(rng() % 2) : static_cast<int>(rng() % 3);
    OpCase c = pad_case(pattern_tensor(dt, d, rng), s, form);
    if (!run_reference_case(c).is_ok()) continue;  // a crop leaving nothing to extend
    expect_exact(c, device(), stream(),
                 std::string(dtype_name(dt)) + " " + s.mode + " iter " + std::to_string(iter));
    ++ran;
  }
  EXPECT_GT(ran, 120);
}

TEST_F(PadCuda, ZeroSize) {
  std::mt19937 rng(82);
  PSpec s;
  s.pads = {0, 2, 0, 1};
  // Empty input padded with a constant: all fill.
  expect_exact(pad_case(pattern_tensor(DataType::kFloat32, Dims{0, 3}, rng), s, 0), device(),
               stream(), "empty input");
  // Cropped to nothing.
  s.pads = {-2, 0, 0, 0};
  expect_exact(pad_case(pattern_tensor(DataType::kInt32, Dims{2, 3}, rng), s, 0), device(),
               stream(), "empty output");
}

TEST_F(PadCuda, LargeUnalignedAndCapture) {
  std::mt19937 rng(83);
  for (const char* mode : kModes) {
    PSpec s;
    s.mode = mode;
    s.pads = {0, 1, 3, 0, 2, 5};
    auto x = pattern_tensor(DataType::kFloat16, Dims{3, 37, 301}, rng);
    expect_exact(pad_case(x, s, 0), device(), stream(), std::string(mode) + " large");
    CudaRunOptions misaligned;
    misaligned.misalign_elements = 1;
    expect_exact(pad_case(x, s, 1), device(), stream(), std::string(mode) + " misaligned",
                 misaligned);
    EXPECT_EQ(expect_capturable(pad_case(x, s, 0), device(), stream(), 0, 0, mode), 1);
  }
}

}  // namespace
}  // namespace kiln::testing::pad_cuda_test
