// Softmax CUDA tactic with the fused attention attributes against the CPU reference: scale, a
// Mask (float of any dtype or bool with mask_fill, broadcast over the leading dims) on rows
// short (warp per row) and long (block per row), nan_to_zero on fully masked rows, scale on an
// inner axis (column kernels), and capture into a CUDA graph.
#include "gpu/cuda_case_util.h"
#include "gpu/op_check.h"

#include <limits>

namespace kiln::testing::softmax_masked_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

Tol softmax_tol(DataType dt) {
  return dtype_tol(dt, {1e-6, 2e-5});
}

OpCase masked_case(HostTensor x, HostTensor mask, double scale, bool nan_to_zero, int log = 0) {
  OpCase c;
  c.op = "Softmax";
  c.attrs.set("axis", int64_t{-1});
  c.attrs.set("log", int64_t{log});
  c.attrs.set("scale", scale);
  if (nan_to_zero) c.attrs.set("nan_to_zero", int64_t{1});
  c.inputs.push_back(std::move(x));
  if (!mask.empty()) c.inputs.push_back(std::move(mask));
  return c;
}

using SoftmaxMaskedCuda = GpuTest;

TEST_F(SoftmaxMaskedCuda, ScaleAndMaskOnShortAndLongRows) {
  std::mt19937 rng(1);
  for (DataType dt : kFloatTypes) {
    for (int64_t n : {7, 128, 1024, 1025, 3000}) {
      const Dims x{2, 3, 5, n};
      for (DataType mdt : {DataType::kFloat32, DataType::kFloat16, DataType::kBool}) {
        for (Dims md : {Dims{2, 1, 1, n}, Dims{2, 1, 5, n}, Dims{n}, Dims{3, 5, 1}}) {
          HostTensor mask = mdt == DataType::kBool ? random_tensor(mdt, md, rng, -1, 1)
                                                   : random_tensor(mdt, md, rng, -5, 0);
          for (int log : {0, 1}) {
            OpCase c = masked_case(random_tensor(dt, x, rng, -4, 4), mask, 0.3, true, log);
            check_cuda_tactics(c, device(), stream(), softmax_tol(dt),
                               std::string(dtype_name(dt)) + " n " + std::to_string(n) + " mask " +
                                   std::string(dtype_name(mdt)) + md.to_string() +
                                   (log ? " log" : ""));
          }
        }
      }
    }
  }
}

TEST_F(SoftmaxMaskedCuda, FullyMaskedRowsAndMaskFill) {
  HostTensor x = make_tensor(DataType::kFloat32, {2, 3}, {1, 2, 3, 4, 5, 6});
  HostTensor mask = make_tensor(DataType::kBool, {2, 3}, {1, 0, 1, 0, 0, 0});
  for (int mode = 0; mode < 3; ++mode) {
    OpCase c = masked_case(x, mask, 1.0, mode == 1);
    if (mode == 2)
      c.attrs.set("mask_fill", static_cast<double>(std::numeric_limits<float>::lowest()));
    check_cuda_tactics(c, device(), stream(), softmax_tol(DataType::kFloat32),
                       mode == 0   ? "nan"
                       : mode == 1 ? "nan_to_zero"
                                   : "mask_fill");
  }
}

TEST_F(SoftmaxMaskedCuda, ScaleOnInnerAxes) {
  std::mt19937 rng(2);
  for (Dims d : {Dims{4, 50, 3}, Dims{2, 5, 70}, Dims{3, 2000, 40}}) {
    OpCase c;
    c.op = "Softmax";
    c.attrs.set("axis", int64_t{1});
    c.attrs.set("scale", 1.7);
    c.attrs.set("nan_to_zero", int64_t{1});
    c.inputs.push_back(random_tensor(DataType::kFloat16, d, rng, -3, 3));
    check_cuda_tactics(c, device(), stream(), softmax_tol(DataType::kFloat16), d.to_string());
  }
}

TEST_F(SoftmaxMaskedCuda, MaskOnAnInnerAxisIsNotSupported) {
  std::mt19937 rng(3);
  OpCase c;
  c.op = "Softmax";
  c.attrs.set("axis", int64_t{0});
  c.inputs = {random_tensor(DataType::kFloat32, {4, 5}, rng),
              random_tensor(DataType::kFloat32, {4, 1}, rng)};
  auto runs = run_cuda_tactics(c, device(), stream());
  EXPECT_FALSE(runs.is_ok());  // the CPU reference takes it; no CUDA tactic claims it
}

TEST_F(SoftmaxMaskedCuda, CapturedInAGraph) {
  std::mt19937 rng(4);
  OpCase c = masked_case(random_tensor(DataType::kFloat16, {2, 12, 128, 128}, rng, -4, 4),
                         random_tensor(DataType::kBool, {2, 1, 1, 128}, rng, -1, 1), 0.125, true);
  const Tol t = softmax_tol(DataType::kFloat16);
  EXPECT_EQ(expect_capturable(c, device(), stream(), t.atol, t.rtol, "attention scores"), 1);
}

}  // namespace
}  // namespace kiln::testing::softmax_masked_cuda_test
