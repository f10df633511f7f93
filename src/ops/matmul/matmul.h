// MatMul: Y = act(A·B + Bias), numpy matmul semantics.
//   inputs:  0 A, 1 B (same dtype). A 1-D A [K] is promoted to [1,K] and a 1-D B [K] to [K,1];
//            the promoted dim is removed from the output. Leading (batch) dims broadcast.
//            2 Bias (optional): 1-D [N] (or [1]), same dtype, added along the last output dim
//            (fusion passes fold a following Add into it).
//   attrs:   "transpose_a", "transpose_b" (int, default 0): swap the last two dims of that
//            operand before multiplying (ignored for a 1-D operand).
//            "activation" (string, optional): a name of parse_activation (activation.h), with
//            "activation_alpha"/"activation_beta" (defaults from activation_defaults).
//   dtypes:  float32, float16, bfloat16 (accumulated in float), int32, int64 (reference only,
//            accumulated in int64; no activation).
//   output:  batch dims broadcast, then [M] (unless A is 1-D), then [N] (unless B is 1-D).
//   CUDA:    cuBLASLt (lt_heuristic_0..7), cuBLAS (gemm_strided_batched) and kiln (naive)
//            tactics, see cuda.cu; the cuBLAS ones compute float32 on TF32 tensor cores (10-bit
//            mantissa inputs, float accumulation), the naive kernel in full float32.
#pragma once

#include "ops/activation/activation.h"
#include "ops/op.h"

namespace kiln::ops {

const OpDef& matmul_op();
std::span<const TacticDef> matmul_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> matmul_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

// Concrete problem of one MatMul run: batch of M×K by K×N products with broadcast batches.
struct MatMulGeometry {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;  // effective (false for a 1-D operand)
  int64_t batch = 1;                      // number of output matrices
  int batch_rank = 0;
  int64_t batch_dims[Dims::kMaxDims] = {};
  // Element offset step of A/B per unit of each output batch dim (0 where broadcast).
  int64_t a_batch_stride[Dims::kMaxDims] = {};
  int64_t b_batch_stride[Dims::kMaxDims] = {};
  int64_t a_batches = 1, b_batches = 1;  // matrices stored in A / B

  // Element offsets of the A and B matrices used by output matrix `index`.
  void offsets(int64_t index, int64_t* a_off, int64_t* b_off) const;
  // True when every output matrix reads the same B matrix (B has no batch, or all size 1).
  bool b_shared() const { return b_batches == 1; }
  // True when output matrix i reads A matrix i (A is not broadcast over the batch).
  bool a_dense() const { return a_batches == batch; }
};

// Computes the geometry from concrete shapes; error if K or the batch dims do not match (a
// dynamic dim can differ at run time even though shape inference passed).
Result<MatMulGeometry> matmul_geometry(const Dims& a, const Dims& b, bool trans_a, bool trans_b);

// Fused epilogue parameters read from the attributes.
struct MatMulEpilogue {
  bool has_activation = false;
  ActivationKind kind = ActivationKind::kRelu;
  float alpha = 0.f, beta = 0.f;
};
MatMulEpilogue matmul_epilogue(const ir::Attrs& attrs);

}  // namespace kiln::ops
