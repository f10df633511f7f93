// CUDA tactics of Attention.
//   flash_mma   float16 / bfloat16, head dims D and Dv multiples of 16 up to 128: the fused
//               flash-attention kernel on mma.sync tensor-core instructions (FlashAttention-2
//               style): 4 warps x 16 query rows per block, K/V tiles of 64 keys double-buffered
//               in shared memory by cp.async, scores, online softmax and probabilities kept in
//               registers (the scores' accumulator fragments are reused as P·V's A operand).
//   flash_mma_q16  the same with one warp (16 query rows) per block, for few (batch, head)s.
//   flash_wmma  float16 / bfloat16, head dims D and Dv multiples of 16 up to 128: a fused
//               flash-attention kernel on tensor cores (WMMA 16x16x16, float accumulation). A
//               block of 4 warps owns 64 query rows of one (batch, head); it walks the keys in
//               tiles of 64: K and V tiles are staged in shared memory, each warp computes its
//               16 x 64 scores (Q·Kᵀ), applies scale and mask, updates the running row max and
//               sum (online softmax), rescales its output rows and adds P·V (P rounded to the
//               input type, as flash attention does). Scores and probabilities never reach
//               global memory; Q, K, V are read and Y written once, in any of the op's layouts
//               (strided tile loads: "bsd" reads the projection GEMM's output directly).
//   flash_wmma_q16  the same kernel with one warp (16 query rows) per block: four times as many
//               blocks, which fills the GPU when B x H x Sq/64 is small (batch 1 x 12 heads x 128
//               queries: 96 blocks instead of 24), each block reading every K/V tile itself.
//   cublas_batched  (cuBLAS) unfused: batched scores GEMM, masked row softmax, batched P·V
//               GEMM; float32 on TF32 tensor cores when allowed (cublas.cu).
//   simt        every float dtype, D and Dv up to 1024: one warp per query row, scores by
//               plain FMAs (two passes: max/sum, then the weighted sum of V), float math. The
//               fallback for float32 and shapes the tensor-core kernel does not take.
// All: rank <= 4 (at most two lead dims, seen as [B, H]); Mask float (any float dtype) or bool;
// Sk = 0 writes zeros (cudaMemsetAsync). Capturable: no allocation, no synchronization.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/attention/attention.h"
#include "ops/reduce/block_reduce.cuh"

#include <math_constants.h>
#include <mma.h>

#include <algorithm>
#include <climits>
#include <string>
#include <type_traits>

namespace kiln::ops {

namespace {

using namespace nvcuda;

// Kernel parameters: element strides over (b, h, s, d); d is contiguous for Q, V and Y.
struct Params {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* y = nullptr;
  const void* mask = nullptr;
  DataType mask_dtype = DataType::kFloat32;
  int64_t heads = 1, batch = 1;  // batch = B * H
  int64_t sq = 0, sk = 0;
  int d = 0, dv = 0;
  int64_t q_b = 0, q_h = 0, q_s = 0;
  int64_t k_b = 0, k_h = 0, k_s = 0, k_d = 0;
  int64_t v_b = 0, v_h = 0, v_s = 0;
  int64_t y_b = 0, y_h = 0, y_s = 0;
  int64_t m_b = 0, m_h = 0, m_s = 0, m_j = 0;
  float scale = 1.f;
  float mask_fill = -INFINITY;  // added where a bool mask is false
  bool nan_to_zero = false;
  bool vec = false;    // 16-byte tile loads allowed (pointers and strides aligned)
  bool vec_y = false;  // pairs of Y elements can be stored as one 4-byte word
};

__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

// The (batch, head, query tile) a flash block works on, and its base pointers: blocks enumerate
// the query tiles of one (b, h) pair consecutively.
template <typename T>
struct FlashBlock {
  int64_t i0;  // first query row of the tile
  const T* q;
  const T* k;
  const T* v;
  T* y;
  int64_t moff;  // mask offset of (b, h)
};

template <typename T, int kBM>
__device__ __forceinline__ FlashBlock<T> flash_block(const Params& p) {
  const int64_t q_tiles = (p.sq + kBM - 1) / kBM;
  const int64_t bh = static_cast<int64_t>(blockIdx.x) / q_tiles;
  const int64_t b = bh / p.heads, h = bh % p.heads;
  FlashBlock<T> fb;
  fb.i0 = static_cast<int64_t>(blockIdx.x) % q_tiles * kBM;
  fb.q = static_cast<const T*>(p.q) + b * p.q_b + h * p.q_h;
  fb.k = static_cast<const T*>(p.k) + b * p.k_b + h * p.k_h;
  fb.v = static_cast<const T*>(p.v) + b * p.v_b + h * p.v_h;
  fb.y = static_cast<T*>(p.y) + b * p.y_b + h * p.y_h;
  fb.moff = b * p.m_b + h * p.m_h;
  return fb;
}

// The additive mask value at element offset `off`: bool true is 0, false mask_fill.
__device__ __forceinline__ float mask_add(const Params& p, int64_t off) {
  if (p.mask_dtype == DataType::kBool) {
    return static_cast<const uint8_t*>(p.mask)[off] ? 0.f : p.mask_fill;
  }
  return cuda::load_float(p.mask, p.mask_dtype, off);
}

// ---------------------------------------------------------------------------------------------
// flash_wmma

constexpr int kBN = 64;  // keys per tile
// kW warps per block, 16 query rows each: flash_wmma has 4 (64 rows share every K/V tile),
// flash_wmma_q16 1 (four times as many blocks, for few (batch, head) entries and short queries).
template <int kW>
constexpr int kRows = 16 * kW;

// Shared memory of the kernel for head dims up to kMaxD. Every region (and every 16x16 tile a
// WMMA load/store touches) starts on a 32-byte boundary; leading dims are multiples of 8 (16-bit)
// and 4 (float) elements as WMMA requires, padded against bank conflicts.
template <int kMaxD, int kW>
struct FlashSmem {
  static constexpr int kBM = kRows<kW>;
  static constexpr int kLd = kMaxD + 8;   // Q, K, V tiles (16-bit elements)
  static constexpr int kLdS = kBN + 4;    // scores (float)
  static constexpr int kLdP = kBN + 8;    // probabilities (16-bit)
  static constexpr int kLdO = kMaxD + 4;  // output accumulators (float)
  static constexpr size_t q = 0;
  static constexpr size_t k = q + size_t{kBM} * kLd * 2;
  static constexpr size_t v = k + size_t{kBN} * kLd * 2;
  static constexpr size_t s = v + size_t{kBN} * kLd * 2;
  static constexpr size_t p = s + size_t{kW} * 16 * kLdS * 4;
  static constexpr size_t o = p + size_t{kW} * 16 * kLdP * 2;
  static constexpr size_t l = o + size_t{kW} * 16 * kLdO * 4;
  static constexpr size_t bytes = l + size_t{kBM} * 4;
  static_assert(k % 32 == 0 && v % 32 == 0 && s % 32 == 0 && p % 32 == 0 && o % 32 == 0 &&
                l % 32 == 0);
};

// rows x cols of a strided source (row r, col c at src[r * rs + c * cs]) into dst[r * ld + c];
// rows >= valid are zero. The block cooperates.
template <typename T>
__device__ __forceinline__ void load_tile(T* dst, int ld, const T* src, int64_t rs, int64_t cs,
                                          int valid, int rows, int cols, bool vec) {
  constexpr int kV = 8;  // 16 bytes of a 16-bit type
  const T zero = cuda::from_float<T>(0.f);
  if (cs == 1 && vec) {
    using V = cuda::AlignedVector<T, kV>;
    const int per_row = cols / kV;
    for (int idx = threadIdx.x; idx < rows * per_row; idx += blockDim.x) {
      const int r = idx / per_row, c = (idx % per_row) * kV;
      V val;
      if (r < valid) {
        val = *reinterpret_cast<const V*>(src + r * rs + c);
      } else {
#pragma unroll
        for (int e = 0; e < kV; ++e) val.val[e] = zero;
      }
      *reinterpret_cast<V*>(dst + r * ld + c) = val;
    }
  } else if (cs == 1) {
    for (int idx = threadIdx.x; idx < rows * cols; idx += blockDim.x) {
      const int r = idx / cols, c = idx % cols;
      dst[r * ld + c] = r < valid ? src[r * rs + c] : zero;
    }
  } else {
    // Column-major source (K given as Kᵀ): consecutive threads read consecutive rows.
    for (int idx = threadIdx.x; idx < rows * cols; idx += blockDim.x) {
      const int c = idx / rows, r = idx % rows;
      dst[r * ld + c] = r < valid ? src[r * rs + c * cs] : zero;
    }
  }
}

template <typename T, int kMaxD, int kW>
__global__ void __launch_bounds__(32 * kW) attention_flash_kernel(Params p) {
  using S = FlashSmem<kMaxD, kW>;
  constexpr int kBM = kRows<kW>;
  using AFrag = wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major>;
  using BColFrag = wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major>;
  using BRowFrag = wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major>;
  using CFrag = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;
  extern __shared__ __align__(128) unsigned char smem[];
  T* qs = reinterpret_cast<T*>(smem + S::q);
  T* ks = reinterpret_cast<T*>(smem + S::k);
  T* vs = reinterpret_cast<T*>(smem + S::v);
  const int warp = static_cast<int>(threadIdx.x >> 5), lane = static_cast<int>(threadIdx.x & 31);
  float* sw = reinterpret_cast<float*>(smem + S::s) + warp * 16 * S::kLdS;
  T* pw = reinterpret_cast<T*>(smem + S::p) + warp * 16 * S::kLdP;
  float* ow = reinterpret_cast<float*>(smem + S::o) + warp * 16 * S::kLdO;
  float* ls = reinterpret_cast<float*>(smem + S::l) + warp * 16;

  const FlashBlock<T> fb = flash_block<T, kBM>(p);
  const int64_t i0 = fb.i0, moff = fb.moff;
  const T *q = fb.q, *k = fb.k, *v = fb.v;
  T* y = fb.y;

  load_tile(qs, S::kLd, q + i0 * p.q_s, p.q_s, 1, static_cast<int>(min64(kBM, p.sq - i0)), kBM, p.d,
            p.vec);
  for (int c = lane; c < 16 * S::kLdO; c += 32) ow[c] = 0.f;
  // Softmax bookkeeping: lanes 2r and 2r+1 own row r of the warp's 16 (even / odd columns).
  const int r = lane >> 1, half = lane & 1;
  const int64_t qi = i0 + warp * 16 + r;
  const bool row_valid = qi < p.sq;
  float m_run = -INFINITY, l_run = 0.f;
  __syncthreads();

  for (int64_t j0 = 0; j0 < p.sk; j0 += kBN) {
    const int valid = static_cast<int>(min64(kBN, p.sk - j0));
    load_tile(ks, S::kLd, k + j0 * p.k_s, p.k_s, p.k_d, valid, kBN, p.d, p.vec);
    load_tile(vs, S::kLd, v + j0 * p.v_s, p.v_s, 1, valid, kBN, p.dv, p.vec);
    __syncthreads();

    // Scores of the warp's 16 rows against the tile's 64 keys.
#pragma unroll
    for (int nf = 0; nf < kBN / 16; ++nf) {
      CFrag acc;
      wmma::fill_fragment(acc, 0.f);
      for (int kk = 0; kk < p.d / 16; ++kk) {
        AFrag af;
        BColFrag bf;
        wmma::load_matrix_sync(af, qs + warp * 16 * S::kLd + kk * 16, S::kLd);
        wmma::load_matrix_sync(bf, ks + nf * 16 * S::kLd + kk * 16, S::kLd);
        wmma::mma_sync(acc, af, bf, acc);
      }
      wmma::store_matrix_sync(sw + nf * 16, acc, S::kLdS, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax over the tile: z = scale * s + mask; keys past Sk are -inf.
    float z[kBN / 2];
    float tmax = -INFINITY;
#pragma unroll
    for (int c = 0; c < kBN / 2; ++c) {
      const int col = 2 * c + half;
      float zz = -INFINITY;
      if (col < valid) {
        zz = p.scale * sw[r * S::kLdS + col];
        if (p.mask != nullptr && row_valid)
          zz += mask_add(p, moff + qi * p.m_s + (j0 + col) * p.m_j);
      }
      z[c] = zz;
      tmax = fmaxf(tmax, zz);  // ignores NaN; a NaN score makes the row sum NaN below
    }
    tmax = fmaxf(tmax, __shfl_xor_sync(cuda::kFullMask, tmax, 1));
    const float m_new = fmaxf(m_run, tmax);
    const bool none = m_new == -INFINITY;  // every score so far is -inf
    const float alpha = none ? 1.f : expf(m_run - m_new);
    float psum = 0.f;
#pragma unroll
    for (int c = 0; c < kBN / 2; ++c) {
      const float pv = none ? 0.f : expf(z[c] - m_new);
      pw[r * S::kLdP + 2 * c + half] = cuda::from_float<T>(pv);
      psum += pv;
    }
    psum += __shfl_xor_sync(cuda::kFullMask, psum, 1);
    l_run = l_run * alpha + psum;
    m_run = m_new;
    for (int c = half; c < p.dv; c += 2) ow[r * S::kLdO + c] *= alpha;
    __syncwarp();

    // O += P·V.
    for (int df = 0; df < p.dv / 16; ++df) {
      CFrag acc;
      wmma::load_matrix_sync(acc, ow + df * 16, S::kLdO, wmma::mem_row_major);
#pragma unroll
      for (int kk = 0; kk < kBN / 16; ++kk) {
        AFrag af;
        BRowFrag bf;
        wmma::load_matrix_sync(af, pw + kk * 16, S::kLdP);
        wmma::load_matrix_sync(bf, vs + kk * 16 * S::kLd + df * 16, S::kLd);
        wmma::mma_sync(acc, af, bf, acc);
      }
      wmma::store_matrix_sync(ow + df * 16, acc, S::kLdO, wmma::mem_row_major);
    }
    __syncthreads();  // every warp is done with this K/V tile
  }

  if (half == 0) ls[r] = l_run;
  __syncwarp();
  // A row whose sum is 0 (all -inf) or NaN has NaN probabilities: NaN, or 0 with nan_to_zero.
  for (int idx = lane; idx < 16 * p.dv; idx += 32) {
    const int rr = idx / p.dv, c = idx % p.dv;
    const int64_t i = i0 + warp * 16 + rr;
    if (i >= p.sq) continue;
    const float l = ls[rr];
    const float out = l > 0.f ? ow[rr * S::kLdO + c] / l : (p.nan_to_zero ? 0.f : CUDART_NAN_F);
    y[i * p.y_s + c] = cuda::from_float<T>(out);
  }
}

// ---------------------------------------------------------------------------------------------
// flash_mma
//
// The same algorithm as flash_wmma, on the PTX tensor-core instructions whose register layouts
// are documented (mma.sync m16n8k16, ldmatrix), so the scores, the online softmax and the
// probabilities stay in registers: the score accumulators of Q·Kᵀ become the A operand of P·V
// directly (FlashAttention-2's layout trick), where flash_wmma round-trips them through shared
// memory. K/V tiles are double-buffered with cp.async (zero-filled past Sk and past the head
// dim) when the tensors allow 16-byte copies, loaded synchronously otherwise.
//
// Fragment layouts (PTX ISA, mma.m16n8k16 with .f16/.bf16 inputs, g = lane / 4, t = lane % 4):
//   A (16x16, row):  a[0] = (row g,   k 2t..2t+1)  a[1] = (row g+8, k 2t..)
//                    a[2] = (row g,   k 2t+8..)    a[3] = (row g+8, k 2t+8..)
//   B (16x8, col):   b[0] = (k 2t..2t+1, col g)    b[1] = (k 2t+8.., col g)
//   C (16x8, f32):   c[0..1] = (row g, cols 2t, 2t+1), c[2..3] = (row g+8, cols 2t, 2t+1)

// kD: head dims padded to 64 or 128; kMmaW warps of 16 query rows per block.
// Shared memory: the Q tile, then K and V tiles, two of each (16-bit elements). The mask is
// read from global memory where the scores are made (staging its tiles in shared memory
// measured slower on the H200: 54 vs 35 us for BERT-base batch 32 — fewer resident blocks).
template <int kD>
struct MmaSmem {
  static constexpr int kLd = kD + 8;  // 16-byte pad: ldmatrix rows hit distinct banks
  static constexpr int kTile = kBN * kLd;
};
template <int kD, int kW>
constexpr size_t mma_smem_bytes() {
  return (size_t{16} * kW * MmaSmem<kD>::kLd + 4 * size_t{MmaSmem<kD>::kTile}) * 2;
}

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

template <typename T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                          uint32_t b1) {
  if constexpr (std::is_same_v<T, __half>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

// Two floats as one register of two 16-bit values (lo in the low half).
template <typename T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  if constexpr (std::is_same_v<T, __half>) {
    const __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&v);
  } else {
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const uint32_t*>(&v);
  }
}

__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src),
               "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// rows x kD tile of a source with unit column stride (row r at src + r * rs) into dst (leading
// dim kD + 8): rows >= valid and columns >= cols are zero. cp.async, 16 bytes per copy (cols and
// rs multiples of 8, src 16-byte aligned).
template <typename T, int kD>
__device__ __forceinline__ void load_tile_async(T* dst, const T* src, int64_t rs, int valid,
                                                int rows, int cols) {
  constexpr int kChunks = kD / 8;
  for (int idx = threadIdx.x; idx < rows * kChunks; idx += blockDim.x) {
    const int r = idx / kChunks, c = (idx % kChunks) * 8;
    const bool ok = r < valid && c < cols;
    cp_async_16(dst + r * (kD + 8) + c, ok ? src + r * rs + c : src, ok);
  }
}

// The same with any strides (synchronous element loads).
template <typename T, int kD>
__device__ __forceinline__ void load_tile_sync(T* dst, const T* src, int64_t rs, int64_t cs,
                                               int valid, int rows, int cols) {
  const T zero = cuda::from_float<T>(0.f);
  for (int idx = threadIdx.x; idx < rows * kD; idx += blockDim.x) {
    const int r = idx / kD, c = idx % kD;
    dst[r * (kD + 8) + c] = r < valid && c < cols ? src[r * rs + c * cs] : zero;
  }
}

template <typename T, int kD, int kW>
__global__ void __launch_bounds__(32 * kW) attention_flash_mma_kernel(Params p) {
  using S = MmaSmem<kD>;
  constexpr int kBM = 16 * kW;
  constexpr int kLd = S::kLd;
  constexpr float kLog2e = 1.4426950408889634f;
  extern __shared__ __align__(128) unsigned char smem[];
  T* qs = reinterpret_cast<T*>(smem);
  T* kbuf = qs + kBM * kLd;  // [2][kBN][kLd]
  T* vbuf = kbuf + 2 * S::kTile;
  const int warp = static_cast<int>(threadIdx.x >> 5), lane = static_cast<int>(threadIdx.x & 31);
  const int g = lane >> 2, t = lane & 3;

  const FlashBlock<T> fb = flash_block<T, kBM>(p);
  const int64_t i0 = fb.i0, moff = fb.moff;
  const T *q = fb.q, *k = fb.k, *v = fb.v;
  T* y = fb.y;
  const bool async = p.vec && p.k_d == 1;
  const int q_valid = static_cast<int>(min64(kBM, p.sq - i0));

  auto load_kv = [&](int64_t j0, int buf) {
    const int valid = static_cast<int>(min64(kBN, p.sk - j0));
    if (async) {
      load_tile_async<T, kD>(kbuf + buf * S::kTile, k + j0 * p.k_s, p.k_s, valid, kBN, p.d);
      load_tile_async<T, kD>(vbuf + buf * S::kTile, v + j0 * p.v_s, p.v_s, valid, kBN, p.dv);
    } else {
      load_tile_sync<T, kD>(kbuf + buf * S::kTile, k + j0 * p.k_s, p.k_s, p.k_d, valid, kBN, p.d);
      load_tile_sync<T, kD>(vbuf + buf * S::kTile, v + j0 * p.v_s, p.v_s, 1, valid, kBN, p.dv);
    }
  };
  if (async) {
    load_tile_async<T, kD>(qs, q + i0 * p.q_s, p.q_s, q_valid, kBM, p.d);
  } else {
    load_tile_sync<T, kD>(qs, q + i0 * p.q_s, p.q_s, 1, q_valid, kBM, p.d);
  }
  load_kv(0, 0);
  cp_async_commit();

  // Rows g and g + 8 of the warp's 16: running max and this thread's partial sums.
  const int64_t row0 = i0 + warp * 16 + g, row1 = row0 + 8;
  float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.f, 0.f};
  float o[kD / 8][4];
#pragma unroll
  for (int n = 0; n < kD / 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
  uint32_t qf[kD / 16][4];

  const int64_t tiles = (p.sk + kBN - 1) / kBN;
  for (int64_t tile = 0; tile < tiles; ++tile) {
    const int buf = static_cast<int>(tile & 1);
    const int64_t j0 = tile * kBN;
    if (tile + 1 < tiles) load_kv(j0 + kBN, buf ^ 1);  // the other buffer: free since the
    cp_async_commit();                                 // last iteration's closing barrier
    cp_async_wait<1>();
    __syncthreads();
    if (tile == 0) {
#pragma unroll
      for (int kk = 0; kk < kD / 16; ++kk) {
        ldmatrix_x4(qf[kk], qs + (warp * 16 + (lane & 15)) * kLd + kk * 16 + (lane >> 4) * 8);
      }
    }
    const T* ks = kbuf + buf * S::kTile;
    const T* vs = vbuf + buf * S::kTile;

    // Scores: 16 rows x 64 keys = 8 n-tiles of 8 keys.
    float s[kBN / 8][4];
#pragma unroll
    for (int n = 0; n < kBN / 8; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
#pragma unroll
      for (int n = 0; n < kBN / 8; n += 2) {
        uint32_t kf[4];  // n-tiles n and n + 1, head dims kk*16 .. +15
        ldmatrix_x4(kf, ks + (n * 8 + (lane & 7) + ((lane >> 4) << 3)) * kLd + kk * 16 +
                            ((lane >> 3) & 1) * 8);
        mma_16816<T>(s[n], qf[kk], kf[0], kf[1]);
        mma_16816<T>(s[n + 1], qf[kk], kf[2], kf[3]);
      }
    }

    // z = scale * s + mask; keys past Sk are -inf. exp(x) = exp2(x * log2 e) of differences only:
    // a huge finite mask_fill (float's lowest) times log2 e would overflow to -inf.
    const int valid = static_cast<int>(min64(kBN, p.sk - j0));
    float tmax[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int n = 0; n < kBN / 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int col = n * 8 + 2 * t + (e & 1);
        const int64_t row = e < 2 ? row0 : row1;
        float z = -INFINITY;
        if (col < valid) {
          z = s[n][e] * p.scale;
          if (p.mask != nullptr && row < p.sq) {
            z += mask_add(p, moff + row * p.m_s + (j0 + col) * p.m_j);
          }
        }
        s[n][e] = z;
        tmax[e >> 1] = fmaxf(tmax[e >> 1], z);  // ignores NaN; a NaN makes the row sum NaN
      }
    }
    float alpha[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      tmax[r] = fmaxf(tmax[r], __shfl_xor_sync(cuda::kFullMask, tmax[r], 1));
      tmax[r] = fmaxf(tmax[r], __shfl_xor_sync(cuda::kFullMask, tmax[r], 2));
      const float m_new = fmaxf(m_run[r], tmax[r]);
      // Every score so far -inf: probabilities 0 for now, nothing to rescale.
      alpha[r] = m_new == -INFINITY ? 1.f : exp2f((m_run[r] - m_new) * kLog2e);
      m_run[r] = m_new;
      l_run[r] *= alpha[r];
    }
#pragma unroll
    for (int n = 0; n < kBN / 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e >> 1;
        const float pv = m_run[r] == -INFINITY ? 0.f : exp2f((s[n][e] - m_run[r]) * kLog2e);
        s[n][e] = pv;
        l_run[r] += pv;
      }
    }
#pragma unroll
    for (int n = 0; n < kD / 8; ++n) {
      o[n][0] *= alpha[0];
      o[n][1] *= alpha[0];
      o[n][2] *= alpha[1];
      o[n][3] *= alpha[1];
    }

    // O += P·V: P's C fragments are the A fragments (keys kk*16 .. +15 = n-tiles 2kk, 2kk+1).
#pragma unroll
    for (int kk = 0; kk < kBN / 16; ++kk) {
      uint32_t pf[4];
      pf[0] = pack2<T>(s[2 * kk][0], s[2 * kk][1]);
      pf[1] = pack2<T>(s[2 * kk][2], s[2 * kk][3]);
      pf[2] = pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]);
      pf[3] = pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
      for (int n = 0; n < kD / 8; n += 2) {
        uint32_t vf[4];  // keys kk*16 .. +15, head dims n*8 .. +15 (two n-tiles), transposed
        ldmatrix_x4_trans(vf, vs + (kk * 16 + (lane & 15)) * kLd + n * 8 + (lane >> 4) * 8);
        mma_16816<T>(o[n], pf, vf[0], vf[1]);
        mma_16816<T>(o[n + 1], pf, vf[2], vf[3]);
      }
    }
    __syncthreads();  // every warp is done with this buffer before it is refilled
  }

  // Row sums across the quad; a row whose sum is 0 (all -inf) or NaN is NaN (0 with nan_to_zero).
  float inv[2];
  bool bad[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l_run[r] += __shfl_xor_sync(cuda::kFullMask, l_run[r], 1);
    l_run[r] += __shfl_xor_sync(cuda::kFullMask, l_run[r], 2);
    bad[r] = !(l_run[r] > 0.f);
    inv[r] = bad[r] ? 0.f : 1.f / l_run[r];
  }
  const float fill = p.nan_to_zero ? 0.f : CUDART_NAN_F;
#pragma unroll
  for (int n = 0; n < kD / 8; ++n) {
    const int c = n * 8 + 2 * t;
    if (c >= p.dv) continue;  // dv is a multiple of 16: c and c + 1 are both in or both out
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int64_t row = r == 0 ? row0 : row1;
      if (row >= p.sq) continue;
      const float a = bad[r] ? fill : o[n][2 * r] * inv[r];
      const float bval = bad[r] ? fill : o[n][2 * r + 1] * inv[r];
      T* dst = y + row * p.y_s + c;
      if (p.vec_y) {
        *reinterpret_cast<uint32_t*>(dst) = pack2<T>(a, bval);
      } else {
        dst[0] = cuda::from_float<T>(a);
        dst[1] = cuda::from_float<T>(bval);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// simt

constexpr int kSimtWarps = 4;
constexpr int kSimtMaxDim = 1024;

// (max, sum of exp(z - max)) of the values pushed so far (as Softmax's online kernels).
__device__ __forceinline__ float2 online_push(float2 a, float x) {
  if (x > a.x) {
    a.y = a.y * expf(a.x - x) + 1.f;
    a.x = x;
  } else if (x != -INFINITY) {
    a.y += expf(x - a.x);
  }
  return a;
}

struct OnlineMerge {
  __device__ __forceinline__ float2 operator()(float2 a, float2 b) const {
    const float m = fmaxf(a.x, b.x);
    const float s =
        (a.y == 0.f ? 0.f : a.y * expf(a.x - m)) + (b.y == 0.f ? 0.f : b.y * expf(b.x - m));
    return make_float2(m, s);
  }
};

template <typename T>
__global__ void __launch_bounds__(32 * kSimtWarps) attention_simt_kernel(Params p) {
  extern __shared__ float fsm[];
  const int warp = static_cast<int>(threadIdx.x >> 5), lane = static_cast<int>(threadIdx.x & 31);
  float* qrow = fsm + warp * (p.d + p.dv);
  float* orow = qrow + p.d;
  const int64_t rows = p.batch * p.sq;
  const int64_t step = static_cast<int64_t>(gridDim.x) * kSimtWarps;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kSimtWarps + warp; row < rows;
       row += step) {  // uniform per warp
    const int64_t bh = row / p.sq, i = row % p.sq;
    const int64_t b = bh / p.heads, h = bh % p.heads;
    const T* q = static_cast<const T*>(p.q) + b * p.q_b + h * p.q_h + i * p.q_s;
    const T* k = static_cast<const T*>(p.k) + b * p.k_b + h * p.k_h;
    const T* v = static_cast<const T*>(p.v) + b * p.v_b + h * p.v_h;
    T* y = static_cast<T*>(p.y) + b * p.y_b + h * p.y_h + i * p.y_s;
    const int64_t moff = b * p.m_b + h * p.m_h + i * p.m_s;
    for (int c = lane; c < p.d; c += 32) qrow[c] = cuda::to_float(q[c]);
    for (int c = lane; c < p.dv; c += 32) orow[c] = 0.f;
    __syncwarp();
    auto score = [&](int64_t j) {
      const T* kr = k + j * p.k_s;
      float dot = 0.f;
      for (int c = 0; c < p.d; ++c) dot += qrow[c] * cuda::to_float(kr[c * p.k_d]);
      float z = p.scale * dot;
      if (p.mask != nullptr) z += mask_add(p, moff + j * p.m_j);
      return z;
    };
    float2 ms = make_float2(-INFINITY, 0.f);
    for (int64_t j = lane; j < p.sk; j += 32) ms = online_push(ms, score(j));
    ms = cuda::warp_all_reduce(ms, OnlineMerge{});
    for (int64_t j0 = 0; j0 < p.sk; j0 += 32) {
      const int64_t j = j0 + lane;
      float pj = 0.f;
      if (j < p.sk) {
        pj = expf(score(j) - ms.x) / ms.y;
        if (p.nan_to_zero && isnan(pj)) pj = 0.f;
      }
      const int n = static_cast<int>(min64(32, p.sk - j0));
      for (int jj = 0; jj < n; ++jj) {
        const float pv = __shfl_sync(cuda::kFullMask, pj, jj);
        const T* vr = v + (j0 + jj) * p.v_s;
        for (int c = lane; c < p.dv; c += 32) orow[c] += pv * cuda::to_float(vr[c]);
      }
    }
    __syncwarp();
    for (int c = lane; c < p.dv; c += 32) y[c] = cuda::from_float<T>(orow[c]);
    __syncwarp();  // qrow / orow are rewritten for the next row
  }
}

// ---------------------------------------------------------------------------------------------
// host side

bool is_cuda_float(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16;
}

// Kernel parameters of a run (lead dims seen as [B, H]); error if there are more than two.
Result<Params> make_params(const AttentionGeometry& g, const ExecArgs& args) {
  if (g.lead_rank > 2) {
    return unsupported("Attention CUDA kernels take at most two batch/head dims, got " +
                       std::to_string(g.lead_rank));
  }
  Params p;
  const size_t es = dtype_size(args.inputs[0].dtype);
  p.q = static_cast<const char*>(args.inputs[0].data) + g.q_offset * es;
  p.k = static_cast<const char*>(args.inputs[1].data) + g.k_offset * es;
  p.v = static_cast<const char*>(args.inputs[2].data) + g.v_offset * es;
  p.y = args.outputs[0].data;
  if (g.has_mask) {
    p.mask = args.inputs[3].data;
    p.mask_dtype = args.inputs[3].dtype;
  }
  // [B, H] from the lead dims: two -> (lead0, lead1), one -> (1, lead0), none -> (1, 1).
  const int hi = g.lead_rank - 1, bi = g.lead_rank - 2;
  p.heads = hi >= 0 ? g.lead[hi] : 1;
  p.batch = g.batch;
  auto pick = [&](const AttentionStrides& s, int i) { return i >= 0 ? s.lead[i] : int64_t{0}; };
  p.q_b = pick(g.q, bi);
  p.q_h = pick(g.q, hi);
  p.q_s = g.q.s;
  p.k_b = pick(g.k, bi);
  p.k_h = pick(g.k, hi);
  p.k_s = g.k.s;
  p.k_d = g.k.d;
  p.v_b = pick(g.v, bi);
  p.v_h = pick(g.v, hi);
  p.v_s = g.v.s;
  p.y_b = pick(g.y, bi);
  p.y_h = pick(g.y, hi);
  p.y_s = g.y.s;
  p.m_b = pick(g.mask, bi);
  p.m_h = pick(g.mask, hi);
  p.m_s = g.mask.s;
  p.m_j = g.mask.d;
  p.sq = g.sq;
  p.sk = g.sk;
  p.d = static_cast<int>(g.d);
  p.dv = static_cast<int>(g.dv);
  p.scale = g.scale;
  p.nan_to_zero = g.nan_to_zero;
  p.mask_fill = g.mask_fill;
  // 16-byte tile loads: 16-byte aligned bases and strides that are multiples of 8 elements.
  bool vec = cuda::is_aligned(p.q, 16) && cuda::is_aligned(p.k, 16) && cuda::is_aligned(p.v, 16);
  for (int64_t s : {p.q_b, p.q_h, p.q_s, p.v_b, p.v_h, p.v_s}) vec = vec && s % 8 == 0;
  if (p.k_d == 1) {
    for (int64_t s : {p.k_b, p.k_h, p.k_s}) vec = vec && s % 8 == 0;
  }
  p.vec = vec;
  p.vec_y = cuda::is_aligned(p.y, 4) && p.y_b % 2 == 0 && p.y_h % 2 == 0 && p.y_s % 2 == 0;
  return p;
}

template <typename T, int kMaxD, int kW>
Status launch_flash_t(const Params& p, cudaStream_t stream) {
  using D = typename cuda::DeviceElement<T>::type;
  const int64_t blocks = (p.sq + kRows<kW> - 1) / kRows<kW> * p.batch;
  if (blocks > INT_MAX) return unsupported("Attention flash_wmma: too many query tiles");
  attention_flash_kernel<D, kMaxD, kW>
      <<<static_cast<unsigned>(blocks), 32 * kW, FlashSmem<kMaxD, kW>::bytes, stream>>>(p);
  return cuda::check_launch("attention_flash_kernel");
}

template <typename T, int kW>
Status launch_flash(const Params& p, cudaStream_t stream) {
  if (std::max(p.d, p.dv) <= 64) return launch_flash_t<T, 64, kW>(p, stream);
  return launch_flash_t<T, 128, kW>(p, stream);
}

// warps: 4 (flash_wmma) or 1 (flash_wmma_q16).
template <typename T>
Status launch_flash(const Params& p, int warps, cudaStream_t stream) {
  return warps == 1 ? launch_flash<T, 1>(p, stream) : launch_flash<T, 4>(p, stream);
}

template <typename T, int kD, int kW>
Status launch_flash_mma_t(const Params& p, cudaStream_t stream) {
  using D = typename cuda::DeviceElement<T>::type;
  const int64_t blocks = (p.sq + 16 * kW - 1) / (16 * kW) * p.batch;
  if (blocks > INT_MAX) return unsupported("Attention flash_mma: too many query tiles");
  attention_flash_mma_kernel<D, kD, kW>
      <<<static_cast<unsigned>(blocks), 32 * kW, mma_smem_bytes<kD, kW>(), stream>>>(p);
  return cuda::check_launch("attention_flash_mma_kernel");
}

// warps: 4 (flash_mma) or 1 (flash_mma_q16); head dims padded to 64 or 128.
template <typename T>
Status launch_flash_mma(const Params& p, int warps, cudaStream_t stream) {
  const bool small = std::max(p.d, p.dv) <= 64;
  if (warps == 1) {
    return small ? launch_flash_mma_t<T, 64, 1>(p, stream)
                 : launch_flash_mma_t<T, 128, 1>(p, stream);
  }
  return small ? launch_flash_mma_t<T, 64, 4>(p, stream) : launch_flash_mma_t<T, 128, 4>(p, stream);
}

template <typename T>
Status launch_simt(const Params& p, int sms, cudaStream_t stream) {
  using D = typename cuda::DeviceElement<T>::type;
  const int64_t rows = p.batch * p.sq;
  const int64_t blocks =
      std::min<int64_t>((rows + kSimtWarps - 1) / kSimtWarps, static_cast<int64_t>(sms) * 32);
  const size_t smem = static_cast<size_t>(kSimtWarps) * (p.d + p.dv) * sizeof(float);
  attention_simt_kernel<D>
      <<<static_cast<unsigned>(std::max<int64_t>(blocks, 1)), 32 * kSimtWarps, smem, stream>>>(p);
  return cuda::check_launch("attention_simt_kernel");
}

// Which kernel an AttentionCudaKernel launches.
enum class Variant : uint8_t { kWmma, kMma, kSimt };

class AttentionCudaKernel final : public Kernel {
 public:
  // warps: 4 or 1 for the flash kernels (64 or 16 query rows per block), unused for simt.
  AttentionCudaKernel(AttentionConfig c, Variant variant, int warps, int sms)
      : c_(c), variant_(variant), warps_(warps), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    KILN_ASSIGN_OR_RETURN(AttentionGeometry g, attention_geometry(c_, args));
    auto stream = static_cast<cudaStream_t>(args.stream);
    const TensorView& y = args.outputs[0];
    if (y.numel() == 0) return Status::ok();
    if (g.sk == 0) {
      // Softmax over no keys and an empty sum: Y is zero.
      KILN_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(y.data, 0, y.nbytes(), stream));
      return Status::ok();
    }
    KILN_ASSIGN_OR_RETURN(Params p, make_params(g, args));
    const DataType dt = args.inputs[0].dtype;
    if (variant_ != Variant::kSimt) {
      const char* name = variant_ == Variant::kMma ? "flash_mma" : "flash_wmma";
      if (p.d % 16 != 0 || p.dv % 16 != 0 || p.d > 128 || p.dv > 128 || p.d == 0 || p.dv == 0) {
        return unsupported(std::string("Attention ") + name + ": head dims " + std::to_string(p.d) +
                           " and " + std::to_string(p.dv) + " (multiples of 16 up to 128 needed)");
      }
      const bool mma = variant_ == Variant::kMma;
      switch (dt) {
        case DataType::kFloat16:
          return mma ? launch_flash_mma<Half>(p, warps_, stream)
                     : launch_flash<Half>(p, warps_, stream);
        case DataType::kBFloat16:
          return mma ? launch_flash_mma<BFloat16>(p, warps_, stream)
                     : launch_flash<BFloat16>(p, warps_, stream);
        default:
          return unsupported(std::string("Attention ") + name + ": dtype " +
                             std::string(dtype_name(dt)));
      }
    }
    if (p.d > kSimtMaxDim || p.dv > kSimtMaxDim) {
      return unsupported("Attention simt: head dims above " + std::to_string(kSimtMaxDim));
    }
    switch (dt) {
      case DataType::kFloat32:
        return launch_simt<float>(p, sms_, stream);
      case DataType::kFloat16:
        return launch_simt<Half>(p, sms_, stream);
      case DataType::kBFloat16:
        return launch_simt<BFloat16>(p, sms_, stream);
      default:
        return unsupported("Attention simt: dtype " + std::string(dtype_name(dt)));
    }
  }

 private:
  AttentionConfig c_;
  Variant variant_;
  int warps_;
  int sms_;
};

// Geometry at one profile shape (the mask's shape when present).
Result<AttentionGeometry> geometry_at(const KernelInfo& info, const AttentionConfig& c,
                                      const NodeShapes& s) {
  if (s.inputs.size() < 3 || s.outputs.empty()) return invalid_argument("shapes missing");
  const Dims* mask = info.has_input(3) && s.inputs.size() > 3 ? &s.inputs[3] : nullptr;
  return attention_geometry(c, s.inputs[0], s.inputs[1], s.inputs[2], s.outputs[0], mask);
}

// Checks the dtypes and every profile shape with `fits`.
template <typename Fits>
bool supports_with(const KernelInfo& info, Fits fits) {
  auto c = attention_config(info.attrs());
  if (!c.is_ok()) return false;
  for (int i = 0; i < 3; ++i) {
    if (!is_cuda_float(info.input_dtype(i)) || info.input_dtype(i) != info.input_dtype(0)) {
      return false;
    }
  }
  if (info.has_input(3)) {
    const DataType mt = info.input_dtype(3);
    if (!is_cuda_float(mt) && mt != DataType::kBool) return false;
  }
  for (const NodeShapes* s : {&info.min, &info.opt, &info.max}) {
    auto g = geometry_at(info, *c, *s);
    if (!g.is_ok() || g->lead_rank > 2 || !fits(*g)) return false;
  }
  return true;
}

bool supports_flash(const KernelInfo& info) {
  const DataType dt = info.input_dtype(0);
  if (dt != DataType::kFloat16 && dt != DataType::kBFloat16) return false;
  return supports_with(info, [](const AttentionGeometry& g) {
    auto ok = [](int64_t d) { return d >= 16 && d <= 128 && d % 16 == 0; };
    return ok(g.d) && ok(g.dv);
  });
}

bool supports_simt(const KernelInfo& info) {
  return supports_with(
      info, [](const AttentionGeometry& g) { return g.d <= kSimtMaxDim && g.dv <= kSimtMaxDim; });
}

template <typename T, int kW>
Status allow_flash_smem() {
  using D = typename cuda::DeviceElement<T>::type;
  KILN_CUDA_RETURN_IF_ERROR(cudaFuncSetAttribute(attention_flash_kernel<D, 64, kW>,
                                                 cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                 static_cast<int>(FlashSmem<64, kW>::bytes)));
  KILN_CUDA_RETURN_IF_ERROR(cudaFuncSetAttribute(attention_flash_kernel<D, 128, kW>,
                                                 cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                 static_cast<int>(FlashSmem<128, kW>::bytes)));
  return Status::ok();
}

template <typename T, int kW>
Status allow_flash_mma_smem() {
  using D = typename cuda::DeviceElement<T>::type;
  KILN_CUDA_RETURN_IF_ERROR(cudaFuncSetAttribute(attention_flash_mma_kernel<D, 64, kW>,
                                                 cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                 static_cast<int>(mma_smem_bytes<64, kW>())));
  KILN_CUDA_RETURN_IF_ERROR(cudaFuncSetAttribute(attention_flash_mma_kernel<D, 128, kW>,
                                                 cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                 static_cast<int>(mma_smem_bytes<128, kW>())));
  return Status::ok();
}

template <Variant kVariant, int kW>
Result<std::unique_ptr<Kernel>> create_flash(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(AttentionConfig c, attention_config(info.attrs()));
  // The kernels may use more than the default 48 KiB of dynamic shared memory: opt in
  // (host-side, once per kernel, outside any capture).
  const bool half = info.input_dtype(0) == DataType::kFloat16;
  if (kVariant == Variant::kMma) {
    KILN_RETURN_IF_ERROR(half ? (allow_flash_mma_smem<Half, kW>())
                              : (allow_flash_mma_smem<BFloat16, kW>()));
  } else {
    KILN_RETURN_IF_ERROR(half ? (allow_flash_smem<Half, kW>())
                              : (allow_flash_smem<BFloat16, kW>()));
  }
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new AttentionCudaKernel(c, kVariant, kW, sms));
}

Result<std::unique_ptr<Kernel>> create_simt(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(AttentionConfig c, attention_config(info.attrs()));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new AttentionCudaKernel(c, Variant::kSimt, 1, sms));
}

// Table order is the tuner's ranking (optimization level 3 times the first four that support a
// layer; level 0 takes the first): the register-resident flash kernels, cuBLAS, the older WMMA
// kernels, and simt, the fallback, last.
const TacticDef kCudaTactics[] = {
    {"flash_mma", TacticSource::kKilnCuda, DtypeSet{DataType::kFloat16, DataType::kBFloat16},
     supports_flash, create_flash<Variant::kMma, 4>},
    {"flash_mma_q16", TacticSource::kKilnCuda, DtypeSet{DataType::kFloat16, DataType::kBFloat16},
     supports_flash, create_flash<Variant::kMma, 1>},
    {"cublas_batched", TacticSource::kCublas, kFloatDtypes, attention_cublas_supports,
     attention_cublas_create},
    {"flash_wmma", TacticSource::kKilnCuda, DtypeSet{DataType::kFloat16, DataType::kBFloat16},
     supports_flash, create_flash<Variant::kWmma, 4>},
    {"flash_wmma_q16", TacticSource::kKilnCuda, DtypeSet{DataType::kFloat16, DataType::kBFloat16},
     supports_flash, create_flash<Variant::kWmma, 1>},
    {"simt", TacticSource::kKilnCuda, kFloatDtypes, supports_simt, create_simt},
};

}  // namespace

std::span<const TacticDef> attention_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
