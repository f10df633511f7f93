// LayerNorm CUDA tactic: the registers path (parameters of exactly D elements, D a multiple of
// the vector width) over the row sizes of its instantiations (warp per row: 1 to 4 vectors per
// lane; block per row: 2 and 4 vectors per thread), the Residual input, Scale/Bias in float32
// or X's dtype, absent Bias, the Mean / InvStdDev outputs, and the cases that take the general
// path instead (misaligned buffers, D not a multiple of the vector width, broadcast
// parameters); capture into a CUDA graph.
#include "gpu/cuda_case_util.h"
#include "gpu/op_check.h"

namespace kiln::testing::layer_norm_residual_cuda_test {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

Tol ln_tol(DataType dt) {
  return dtype_tol(dt, {2e-5, 2e-5});
}

// LayerNorm over the last dim of x with Scale/Bias of `pdt` ([D], or `pshape` when given),
// Residual when `residual`.
OpCase ln_case(DataType dt, Dims x, DataType pdt, bool bias, bool residual, int outputs,
               std::mt19937& rng, Dims pshape = {}) {
  const int64_t D = x[x.rank() - 1];
  if (pshape.rank() == 0) pshape = Dims{D};
  OpCase c;
  c.op = "LayerNorm";
  c.attrs.set("axis", int64_t{-1});
  c.attrs.set("epsilon", 1e-12);
  c.inputs = {random_tensor(dt, x, rng, -3, 3), random_tensor(pdt, pshape, rng, 0.5, 1.5)};
  c.inputs.push_back(bias ? random_tensor(pdt, pshape, rng) : HostTensor());
  if (residual) c.inputs.push_back(random_tensor(dt, x, rng, -3, 3));
  c.num_outputs = outputs;
  return c;
}

using LayerNormResidualCuda = GpuTest;

TEST_F(LayerNormResidualCuda, RegistersPathRowSizes) {
  std::mt19937 rng(1);
  for (DataType dt : kFloatTypes) {
    const int64_t v = dt == DataType::kFloat32 ? 4 : 8;
    // Vectors per row: 1, 32 (1 per lane), 33, 96 (BERT-base's 768 at 16 bits), 128, 129
    // (block), 2048, 4096 (the largest).
    for (int64_t nvec : {1, 32, 33, 96, 128, 129, 2048, 4096}) {
      const Dims x{5, nvec * v};
      for (bool residual : {false, true}) {
        for (DataType pdt : {dt, DataType::kFloat32}) {
          OpCase c = ln_case(dt, x, pdt, residual, residual, residual ? 3 : 1, rng);
          check_cuda_tactics(c, device(), stream(), ln_tol(dt),
                             std::string(dtype_name(dt)) + " D " + std::to_string(nvec * v) +
                                 (residual ? " residual" : "") + " params " +
                                 std::string(dtype_name(pdt)));
        }
      }
    }
  }
}

TEST_F(LayerNormResidualCuda, BertShapes) {
  std::mt19937 rng(2);
  for (int64_t rows : {128, 4096}) {
    OpCase c = ln_case(DataType::kFloat16, Dims{rows / 128, 128, 768}, DataType::kFloat16, true,
                       true, 1, rng);
    check_cuda_tactics(c, device(), stream(), ln_tol(DataType::kFloat16),
                       "bert rows " + std::to_string(rows));
  }
}

TEST_F(LayerNormResidualCuda, GeneralPathCases) {
  std::mt19937 rng(3);
  CudaRunOptions misaligned;
  misaligned.misalign_elements = 1;
  for (DataType dt : kFloatTypes) {
    // Misaligned buffers.
    check_cuda_tactics(ln_case(dt, Dims{7, 768}, dt, true, true, 3, rng), device(), stream(),
                       ln_tol(dt), "misaligned", misaligned);
    // D not a multiple of the vector width; D above the registers path's capacity.
    check_cuda_tactics(ln_case(dt, Dims{3, 770}, dt, true, true, 1, rng), device(), stream(),
                       ln_tol(dt), "D 770");
    check_cuda_tactics(ln_case(dt, Dims{2, 40000}, dt, false, true, 1, rng), device(), stream(),
                       ln_tol(dt), "D 40000");
    // Broadcast parameters ([1]) and a bfloat16 scale beside a float16 X.
    check_cuda_tactics(ln_case(dt, Dims{4, 64}, dt, true, true, 1, rng, Dims{1}), device(),
                       stream(), ln_tol(dt), "scalar params");
    const DataType other = dt == DataType::kFloat16 ? DataType::kBFloat16 : DataType::kFloat16;
    check_cuda_tactics(ln_case(dt, Dims{4, 64}, other, true, true, 1, rng), device(), stream(),
                       ln_tol(dt), "other param dtype");
  }
}

TEST_F(LayerNormResidualCuda, CapturedInAGraph) {
  std::mt19937 rng(4);
  OpCase c = ln_case(DataType::kFloat16, Dims{256, 768}, DataType::kFloat16, true, true, 1, rng);
  const Tol t = ln_tol(DataType::kFloat16);
  EXPECT_EQ(expect_capturable(c, device(), stream(), t.atol, t.rtol, "residual"), 1);
}

}  // namespace
}  // namespace kiln::testing::layer_norm_residual_cuda_test
