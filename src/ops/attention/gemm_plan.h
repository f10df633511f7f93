// The unfused form of Attention on library GEMMs, as the cuBLAS tactic "cublas_batched"
// (cublas.cu) runs it. In cuBLAS's column-major terms, for every batch entry (b, h):
//   GEMM 1 (scores):  Sᵀ [sk x sq] = scale · op(K) [sk x d] · Qᵀ [d x sq]
//                     S: float scores in the workspace, one [sq, sk] row-major matrix per entry
//   softmax           z = S + mask per row; P = softmax(z) in the input dtype, written over the
//                     first bytes of the row's own float scores (no second buffer)
//   GEMM 2 (P·V):     Yᵀ [dv x sq] = Vᵀ [dv x sk] · Pᵀ [sk x sq]
// (a row-major [r, c] matrix with row stride ld is the column-major [c x r] matrix with that ld.)
// How the B x H batch entries reach cuBLAS depends on the layouts:
//   kStrided   every operand's entries are one stride apart (heads-major tensors, or B or H = 1):
//              one cublasGemmStridedBatchedEx per GEMM
//   kPointers  otherwise ("bshd" / "bsd": batch and head strides do not combine), when every
//              matrix is 16-byte aligned: a kernel writes the entries' matrix addresses into the
//              workspace and cublasGemmBatchedEx reads them (cuBLAS's tensor-core kernels need
//              aligned matrices there and cannot check them on the host)
//   kLoop      otherwise: one strided-batched call per index of the shorter lead dim
// Calls cover at most kMaxGemmBatch entries each (a grid dimension's limit).
// Plain C++ (also compiled without CUDA) so the plan is tested on the CPU: tests/ops/
// attention_gemm_plan_test.cpp runs it with GEMMs of cuBLAS's semantics written on the host.
#pragma once

#include "ops/attention/attention.h"
#include "ops/common/host_device.h"

#include <cstddef>
#include <cstdint>

namespace kiln::ops {

// Element strides of one operand over the batch entries (b, h).
struct AttentionBatchStrides {
  int64_t b = 0, h = 0;
};

// Element offset of batch entry e = b * heads + h.
KILN_HOST_DEVICE int64_t attention_entry_offset(AttentionBatchStrides s, int64_t heads, int64_t e) {
  return e / heads * s.b + e % heads * s.h;
}

// One GEMM in column-major terms: C [m x n] = alpha · op(A) [m x k] · B [k x n] (B never
// transposed). Operands: scores GEMM A = K, B = Q, C = S; P·V GEMM A = V, B = P, C = Y.
struct AttentionGemm {
  bool trans_a = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  AttentionBatchStrides a, b, c;
};

enum class AttentionBatchMode : uint8_t { kStrided, kPointers, kLoop };

constexpr int64_t kMaxGemmBatch = 65535;

struct AttentionGemmPlan {
  int64_t outer = 1, heads = 1, batch = 1;  // B, H and B * H
  int64_t sq = 0, sk = 0;
  size_t elem = 4;           // bytes of the input dtype
  int64_t score_stride = 0;  // floats between the score matrices of consecutive entries
  int64_t p_ld = 0;          // leading dim of P in input-dtype elements (the rows of S)
  AttentionStrides mask;     // the geometry's mask strides (lead[0] = b, lead[1] = h)
  AttentionGemm scores, pv;
  AttentionBatchMode mode = AttentionBatchMode::kStrided;
  bool loop_heads = false;  // kLoop: true loops over H (batching B), false over B
  // Workspace (bytes from its start): scores, then the pointer arrays (kPointers: K, Q, S, V, Y
  // addresses of every entry, each array 256-byte aligned), then cuBLAS's own workspace.
  size_t scores_bytes = 0;
  size_t pointer_array_bytes = 0;  // one array, rounded up
  size_t blas_offset = 0;          // = scores_bytes + 5 * pointer_array_bytes
};

// Mask element offset of row i of entry e (column 0); add j * mask.d for column j.
KILN_HOST_DEVICE int64_t attention_mask_row(const AttentionGemmPlan& p, int64_t e, int64_t i) {
  return e / p.heads * p.mask.lead[0] + e % p.heads * p.mask.lead[1] + i * p.mask.s;
}

// The plan of a run. `aligned` says that the base addresses of Q, K, V, Y (with the qkv_packed
// offsets) and of the workspace are 16-byte aligned (kPointers needs it). Error if the geometry
// has more than two lead dims or dims that do not fit cuBLAS's int arguments.
Result<AttentionGemmPlan> plan_attention_gemms(const AttentionGeometry& g, AttentionLayout k_layout,
                                               DataType dtype, bool aligned);

// A strided-batched call: `count` entries; operand X of entry i at x_offset + i * x_stride
// (elements; C of the scores GEMM in floats, P in input-dtype elements).
struct AttentionStridedCall {
  int64_t a_offset = 0, b_offset = 0, c_offset = 0;
  int64_t a_stride = 0, b_stride = 0, c_stride = 0;
  int64_t count = 0;
};

// The strided-batched calls of `gemm` (kStrided and kLoop; at most kMaxGemmBatch entries each),
// in order. Returns false if fn does.
template <typename Fn>
bool for_each_strided_call(const AttentionGemmPlan& p, const AttentionGemm& gemm, Fn&& fn);

// Pointer-array batched calls (kPointers): entries [first, first + count).
template <typename Fn>
bool for_each_pointer_call(const AttentionGemmPlan& p, Fn&& fn) {
  for (int64_t first = 0; first < p.batch; first += kMaxGemmBatch) {
    const int64_t n = p.batch - first < kMaxGemmBatch ? p.batch - first : kMaxGemmBatch;
    if (!fn(first, n)) return false;
  }
  return true;
}

// Workspace bytes of the plan without cuBLAS's own (scores and pointer arrays).
inline size_t attention_gemm_scratch_bytes(const AttentionGemmPlan& p) {
  return p.blas_offset;
}

// --- implementation of the template ---

namespace detail {
// The single stride of an operand over all entries, if there is one.
inline bool single_stride(AttentionBatchStrides s, int64_t outer, int64_t heads, int64_t* out) {
  if (outer == 1) {
    *out = s.h;
  } else if (heads == 1) {
    *out = s.b;
  } else if (s.b == heads * s.h) {
    *out = s.h;
  } else {
    return false;
  }
  return true;
}
}  // namespace detail

template <typename Fn>
bool for_each_strided_call(const AttentionGemmPlan& p, const AttentionGemm& gemm, Fn&& fn) {
  auto chunks = [&](AttentionStridedCall c, int64_t count) {
    for (int64_t first = 0; first < count; first += kMaxGemmBatch) {
      AttentionStridedCall part = c;
      part.a_offset += first * c.a_stride;
      part.b_offset += first * c.b_stride;
      part.c_offset += first * c.c_stride;
      part.count = count - first < kMaxGemmBatch ? count - first : kMaxGemmBatch;
      if (!fn(part)) return false;
    }
    return true;
  };
  if (p.mode == AttentionBatchMode::kStrided) {
    AttentionStridedCall c;
    detail::single_stride(gemm.a, p.outer, p.heads, &c.a_stride);
    detail::single_stride(gemm.b, p.outer, p.heads, &c.b_stride);
    detail::single_stride(gemm.c, p.outer, p.heads, &c.c_stride);
    return chunks(c, p.batch);
  }
  // kLoop: the loop runs over one lead dim, each call batches the other.
  const int64_t loops = p.loop_heads ? p.heads : p.outer;
  const int64_t count = p.loop_heads ? p.outer : p.heads;
  for (int64_t l = 0; l < loops; ++l) {
    AttentionStridedCall c;
    c.a_offset = l * (p.loop_heads ? gemm.a.h : gemm.a.b);
    c.b_offset = l * (p.loop_heads ? gemm.b.h : gemm.b.b);
    c.c_offset = l * (p.loop_heads ? gemm.c.h : gemm.c.b);
    c.a_stride = p.loop_heads ? gemm.a.b : gemm.a.h;
    c.b_stride = p.loop_heads ? gemm.b.b : gemm.b.h;
    c.c_stride = p.loop_heads ? gemm.c.b : gemm.c.h;
    if (!chunks(c, count)) return false;
  }
  return true;
}

}  // namespace kiln::ops
