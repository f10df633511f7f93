// Attention: scaled dot-product attention of one or many heads, the fused form of
//   Y = softmax(scale * Q·Kᵀ + Mask) · V
// that the attention fusion pass makes of MatMul -> (Mul|Div) -> Add -> Softmax -> MatMul.
//
// Inputs:  0 Q, 1 K, 2 V (same float dtype: float32 / float16 / bfloat16),
//          3 Mask (optional): float (any float dtype, added to the scores) or bool (true adds 0,
//            false adds "mask_fill"), broadcast (numpy, right-aligned) to the scores' logical
//            shape [lead..., Sq, Sk] without enlarging it.
// Output:  0 Y, Q's dtype.
// Per-tensor layouts (attributes "q_layout", "k_layout", "v_layout", "y_layout", default
// "bhsd"), in terms of the logical dims lead... (batch dims, e.g. [B, H]), S (Sq for Q and Y, Sk
// for K and V) and the head dim (D for Q and K, Dv for V and Y):
//   "bhsd"  [lead..., S, D]   any rank >= 2, heads-major (PyTorch's [B, H, S, D])
//   "bhds"  [lead..., D, S]   K only: Kᵀ as it reaches MatMul
//   "bshd"  [B, S, H, D]      rank 4, lead = [B, H]
//   "bsd"   [B, S, H*D]       rank 3, lead = [B, H], H = attribute "num_heads": the unsplit
//                             output of the projection GEMM (no Reshape/Transpose needed)
// Lead dims must agree exactly across Q, K and V (no broadcasting); when any tensor uses "bshd"
// or "bsd", lead is [B, H] and "bhsd" tensors are rank 4.
// "qkv_packed" (int, default 0): 1 = inputs 0, 1 and 2 are [B, S, 3*H*D] tensors (usually the
// same one: the output of one GEMM with the Q, K and V weights side by side); Q is columns
// [0, H*D) of input 0, K columns [H*D, 2*H*D) of input 1 and V [2*H*D, 3*H*D) of input 2.
// Every input layout is then "bsd".
// Attributes: "scale" (float, default 1/sqrt(D)); "nan_to_zero" (int, default 0: 1 = NaN
//   probabilities become 0, the exporters' Where(IsNaN(p), 0, p) guard for rows that are all
//   -inf); "num_heads" (int, needed with "bsd"); "mask_fill" (float, default -inf, not NaN: what
//   a bool Mask's false adds, e.g. the lowest float32 of Where(mask, 0, finfo.min)).
// The probabilities of a row that is entirely -inf are NaN (softmax's 0/0), so its output is
// NaN, or 0 with nan_to_zero. With Sk = 0 the output is 0.
#pragma once

#include "ops/op.h"

#include <cmath>

namespace kiln::ops {

const OpDef& attention_op();
std::span<const TacticDef> attention_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> attention_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)
// The cuBLAS tactic "cublas_batched" (cublas.cu, KILN_WITH_CUDA builds only), listed in
// attention_cuda_tactics().
bool attention_cublas_supports(const KernelInfo& info);
Result<std::unique_ptr<Kernel>> attention_cublas_create(const KernelInfo& info);

enum class AttentionLayout : uint8_t { kBhsd, kBhds, kBshd, kBsd };
bool parse_attention_layout(std::string_view name, AttentionLayout* out);

// Strides (in elements) of one tensor over the logical dims: one per lead dim, then S and the
// head dim.
struct AttentionStrides {
  int64_t lead[Dims::kMaxDims] = {};
  int64_t s = 0, d = 0;
};

// The concrete problem of one run.
struct AttentionGeometry {
  int lead_rank = 0;
  int64_t lead[Dims::kMaxDims] = {};
  int64_t batch = 1;  // product of the lead dims
  int64_t sq = 0, sk = 0, d = 0, dv = 0;
  AttentionStrides q, k, v, y;
  int64_t q_offset = 0, k_offset = 0, v_offset = 0;  // elements (qkv_packed: the column blocks)
  bool has_mask = false;
  AttentionStrides mask;  // 0 where the mask is broadcast (lead, s = query, d = key)
  float scale = 1.f;
  bool nan_to_zero = false;
  float mask_fill = -INFINITY;
};

// Layouts and attributes of a node, read once when a kernel is created.
struct AttentionConfig {
  AttentionLayout q = AttentionLayout::kBhsd, k = AttentionLayout::kBhsd,
                  v = AttentionLayout::kBhsd, y = AttentionLayout::kBhsd;
  int64_t num_heads = 0;
  bool qkv_packed = false;
  bool has_scale = false;
  float scale = 1.f;
  bool nan_to_zero = false;
  float mask_fill = -INFINITY;
};
Result<AttentionConfig> attention_config(const ir::Attrs& attrs);

// Geometry from concrete shapes (Q, K, V, Y and the mask, empty when absent); error naming the
// mismatch (shapes can differ from shape inference at run time through dynamic dims).
Result<AttentionGeometry> attention_geometry(const AttentionConfig& c, const Dims& q, const Dims& k,
                                             const Dims& v, const Dims& y, const Dims* mask);
// The same from a run's tensors (the mask is input 3 when present and bound).
Result<AttentionGeometry> attention_geometry(const AttentionConfig& c, const ExecArgs& args);

}  // namespace kiln::ops
