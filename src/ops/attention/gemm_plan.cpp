#include "ops/attention/gemm_plan.h"

#include <climits>
#include <string>

namespace kiln::ops {

namespace {

constexpr size_t kArrayAlignment = 256;

size_t round_up(size_t v, size_t a) {
  return (v + a - 1) / a * a;
}

}  // namespace

Result<AttentionGemmPlan> plan_attention_gemms(const AttentionGeometry& g, AttentionLayout k_layout,
                                               DataType dtype, bool aligned) {
  if (g.lead_rank > 2) {
    return unsupported("Attention cublas_batched takes at most two batch/head dims, got " +
                       std::to_string(g.lead_rank));
  }
  const size_t elem = dtype_size(dtype);
  if (elem != 2 && elem != 4) {
    return unsupported("Attention cublas_batched: dtype " + std::string(dtype_name(dtype)));
  }
  AttentionGemmPlan p;
  p.elem = elem;
  const int hi = g.lead_rank - 1, bi = g.lead_rank - 2;  // [B, H]; missing dims are 1
  p.heads = hi >= 0 ? g.lead[hi] : 1;
  p.outer = bi >= 0 ? g.lead[bi] : 1;
  p.batch = g.batch;
  p.sq = g.sq;
  p.sk = g.sk;
  auto strides = [&](const AttentionStrides& s) {
    return AttentionBatchStrides{bi >= 0 ? s.lead[bi] : 0, hi >= 0 ? s.lead[hi] : 0};
  };
  const AttentionBatchStrides ms = strides(g.mask);
  p.mask.lead[0] = ms.b;
  p.mask.lead[1] = ms.h;
  p.mask.s = g.mask.s;
  p.mask.d = g.mask.d;

  // Every entry's score matrix starts 16 bytes aligned (pointer arrays need aligned matrices).
  if (g.sq > 0 && g.sk > INT64_MAX / 8 / g.sq) return unsupported("Attention scores too large");
  p.score_stride = (g.sq * g.sk + 3) / 4 * 4;
  if (p.score_stride > 0 && g.batch > INT64_MAX / 8 / p.score_stride) {
    return unsupported("Attention cublas_batched: scores too large");
  }
  // P (input dtype) is written over the first bytes of its row of float scores.
  p.p_ld = g.sk * 4 / static_cast<int64_t>(elem);
  const int64_t p_stride = p.score_stride * 4 / static_cast<int64_t>(elem);

  AttentionGemm& s = p.scores;
  s.m = g.sk;
  s.n = g.sq;
  s.k = g.d;
  if (k_layout == AttentionLayout::kBhds) {
    s.trans_a = false;  // Kᵀ row-major [d, sk] is K column-major [sk x d]
    s.lda = g.k.d;
  } else {
    s.trans_a = true;  // K row-major [sk, d] is Kᵀ column-major [d x sk]
    s.lda = g.k.s;
  }
  s.ldb = g.q.s;
  s.ldc = g.sk;
  s.a = strides(g.k);
  s.b = strides(g.q);
  s.c = {p.heads * p.score_stride, p.score_stride};

  AttentionGemm& v = p.pv;
  v.m = g.dv;
  v.n = g.sq;
  v.k = g.sk;
  v.trans_a = false;
  v.lda = g.v.s;
  v.ldb = p.p_ld;
  v.ldc = g.y.s;
  v.a = strides(g.v);
  v.b = {p.heads * p_stride, p_stride};
  v.c = strides(g.y);

  for (const AttentionGemm* gm : {&p.scores, &p.pv}) {
    for (int64_t x : {gm->m, gm->n, gm->k, gm->lda, gm->ldb, gm->ldc}) {
      if (x > INT_MAX) {
        return unsupported("Attention cublas_batched: a GEMM dim or leading dim above INT_MAX");
      }
    }
  }

  bool single = true;
  for (const AttentionGemm* gm : {&p.scores, &p.pv}) {
    for (AttentionBatchStrides st : {gm->a, gm->b, gm->c}) {
      int64_t unused = 0;
      single = single && detail::single_stride(st, p.outer, p.heads, &unused);
    }
  }
  if (single) {
    p.mode = AttentionBatchMode::kStrided;
  } else {
    bool ok = aligned;
    for (AttentionBatchStrides st : {s.a, s.b, v.a, v.c}) {
      ok = ok && (st.b * static_cast<int64_t>(elem)) % 16 == 0 &&
           (st.h * static_cast<int64_t>(elem)) % 16 == 0;
    }
    p.mode = ok ? AttentionBatchMode::kPointers : AttentionBatchMode::kLoop;
    p.loop_heads = p.heads < p.outer;
  }

  p.scores_bytes = round_up(static_cast<size_t>(p.batch * p.score_stride) * 4, kArrayAlignment);
  p.pointer_array_bytes = round_up(static_cast<size_t>(p.batch) * sizeof(void*), kArrayAlignment);
  p.blas_offset = p.scores_bytes + 5 * p.pointer_array_bytes;
  return p;
}

}  // namespace kiln::ops
