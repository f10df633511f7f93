// CUDA tactics of Attention.
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
  bool vec = false;  // 16-byte tile loads allowed (pointers and strides aligned)
};

__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
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

  const int64_t q_tiles = (p.sq + kBM - 1) / kBM;
  const int64_t bh = static_cast<int64_t>(blockIdx.x) / q_tiles;
  const int64_t i0 = static_cast<int64_t>(blockIdx.x) % q_tiles * kBM;
  const int64_t b = bh / p.heads, h = bh % p.heads;
  const T* q = static_cast<const T*>(p.q) + b * p.q_b + h * p.q_h;
  const T* k = static_cast<const T*>(p.k) + b * p.k_b + h * p.k_h;
  const T* v = static_cast<const T*>(p.v) + b * p.v_b + h * p.v_h;
  T* y = static_cast<T*>(p.y) + b * p.y_b + h * p.y_h;
  const int64_t moff = b * p.m_b + h * p.m_h;

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

class AttentionCudaKernel final : public Kernel {
 public:
  // flash_warps: 4 or 1 for the flash kernels, 0 for simt.
  AttentionCudaKernel(AttentionConfig c, int flash_warps, int sms)
      : c_(c), flash_warps_(flash_warps), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView* mask =
        args.inputs.size() > 3 && args.inputs[3].data != nullptr ? &args.inputs[3] : nullptr;
    KILN_ASSIGN_OR_RETURN(
        AttentionGeometry g,
        attention_geometry(c_, args.inputs[0].shape, args.inputs[1].shape, args.inputs[2].shape,
                           args.outputs[0].shape, mask ? &mask->shape : nullptr));
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
    if (flash_warps_ > 0) {
      if (p.d % 16 != 0 || p.dv % 16 != 0 || p.d > 128 || p.dv > 128 || p.d == 0 || p.dv == 0) {
        return unsupported("Attention flash_wmma: head dims " + std::to_string(p.d) + " and " +
                           std::to_string(p.dv) + " (multiples of 16 up to 128 needed)");
      }
      switch (dt) {
        case DataType::kFloat16:
          return launch_flash<Half>(p, flash_warps_, stream);
        case DataType::kBFloat16:
          return launch_flash<BFloat16>(p, flash_warps_, stream);
        default:
          return unsupported("Attention flash_wmma: dtype " + std::string(dtype_name(dt)));
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
  int flash_warps_;
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

template <int kW>
Result<std::unique_ptr<Kernel>> create_flash(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(AttentionConfig c, attention_config(info.attrs()));
  // The kernels may use more than the default 48 KiB of dynamic shared memory: opt in
  // (host-side, once per kernel, outside any capture).
  if (info.input_dtype(0) == DataType::kFloat16) {
    KILN_RETURN_IF_ERROR((allow_flash_smem<Half, kW>()));
  } else {
    KILN_RETURN_IF_ERROR((allow_flash_smem<BFloat16, kW>()));
  }
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new AttentionCudaKernel(c, kW, sms));
}

Result<std::unique_ptr<Kernel>> create_simt(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(AttentionConfig c, attention_config(info.attrs()));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new AttentionCudaKernel(c, 0, sms));
}

// cublas_batched before simt: the fallback comes last (optimization level 0 takes the first).
const TacticDef kCudaTactics[] = {
    {"flash_wmma", TacticSource::kKilnCuda, DtypeSet{DataType::kFloat16, DataType::kBFloat16},
     supports_flash, create_flash<4>},
    {"flash_wmma_q16", TacticSource::kKilnCuda, DtypeSet{DataType::kFloat16, DataType::kBFloat16},
     supports_flash, create_flash<1>},
    {"cublas_batched", TacticSource::kCublas, kFloatDtypes, attention_cublas_supports,
     attention_cublas_create},
    {"simt", TacticSource::kKilnCuda, kFloatDtypes, supports_simt, create_simt},
};

}  // namespace

std::span<const TacticDef> attention_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
