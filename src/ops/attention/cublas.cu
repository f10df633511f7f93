// CUDA tactic "cublas_batched" of Attention (source cuBLAS): the unfused computation on library
// GEMMs, as gemm_plan.h lays it out:
//   1. scores  S = scale · Q·Kᵀ for every (batch, head) entry: one batched cuBLAS GEMM
//              (cublasGemmStridedBatchedEx, or cublasGemmBatchedEx on pointer arrays for
//              "bshd"/"bsd" tensors) writing float scores into the workspace
//   2. softmax a kiln kernel adds the mask (float of any float dtype, or bool: true 0, false
//              mask_fill; any broadcast) to each row, takes the softmax in float and writes P in
//              the input dtype over the row's own scores (nan_to_zero maps NaN to 0). Rows up
//              to 1024 keys: one warp per row, the row in registers; longer: one block per row
//              (three passes over the scores)
//   3. P·V     a second batched GEMM writes Y in any of the op's layouts
// Math: float32 inputs run on TF32 tensor cores (CUBLAS_COMPUTE_32F_FAST_TF32) when the build
// allows TF32 (BuilderFlag::kTf32, as MatMul's cuBLAS tactics), else in full FP32;
// float16/bfloat16 inputs accumulate in float (CUBLAS_COMPUTE_32F). The scores stay in float
// (the softmax sees them unrounded); P is rounded to the input dtype before P·V, as flash_wmma's
// P is.
// Workspace: the float scores (B·H·Sq·Sk·4 bytes, so long sequences exceed the workspace limit
// and the tuner drops this tactic), the pointer arrays (5 addresses per entry), then cuBLAS's
// own workspace (32 MiB on Hopper and later, 4 MiB before: cuBLAS's recommendation), handed to
// it with cublasSetWorkspace so that it allocates nothing. Capturable: the handle comes from the
// pool (reserved before capture), no allocation, no synchronization, no host reads.
#include "backends/cuda/blas_types.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/handles.h"
#include "backends/cuda/kernel_utils.cuh"
#include "ops/attention/attention.h"
#include "ops/attention/gemm_plan.h"
#include "ops/reduce/block_reduce.cuh"

#include <cublas_v2.h>

#include <algorithm>
#include <string>

namespace kiln::ops {

namespace {

// ---------------------------------------------------------------------------------------------
// Row softmax over the scores, P written in place

struct MaskArgs {
  const void* mask = nullptr;  // null: no mask
  DataType dtype = DataType::kFloat32;
  float fill = -INFINITY;  // what a false bool adds
  bool nan_to_zero = false;
};

__device__ __forceinline__ float mask_value(const MaskArgs& m, int64_t off) {
  if (m.dtype == DataType::kBool) return static_cast<const uint8_t*>(m.mask)[off] ? 0.f : m.fill;
  return cuda::load_float(m.mask, m.dtype, off);
}

__device__ __forceinline__ float finish(float e, float inv_sum, bool nan_to_zero) {
  const float p = e * inv_sum;
  return nan_to_zero && isnan(p) ? 0.f : p;
}

constexpr int kRowWarps = 8;        // rows per block of the warp kernel
constexpr int kMaxPerLane = 32;     // keys per lane: rows up to 1024 keys in registers
constexpr int kBlockThreads = 512;  // the block-per-row kernel

// One warp per row. Every lane reads its keys (j = c * 32 + lane) into registers before the warp
// reductions, so the whole row has been read when P overwrites its first bytes.
// A row whose max is -inf (every key masked) or that holds a NaN gets NaN probabilities, as the
// reference's exp(z - max) / sum does.
template <typename T, int kPer>
__global__ void __launch_bounds__(32 * kRowWarps)
    attention_softmax_warp(AttentionGemmPlan p, float* scores, MaskArgs m) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  const int64_t rows = p.batch * p.sq;
  const int64_t step = static_cast<int64_t>(gridDim.x) * kRowWarps;
  const int sk = static_cast<int>(p.sk);
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kRowWarps + (threadIdx.x >> 5); r < rows;
       r += step) {  // uniform per warp
    const int64_t e = r / p.sq, i = r % p.sq;
    float* row = scores + e * p.score_stride + i * p.sk;
    const int64_t moff = m.mask != nullptr ? attention_mask_row(p, e, i) : 0;
    float z[kPer];
    float mx = -INFINITY;
#pragma unroll
    for (int c = 0; c < kPer; ++c) {
      const int j = c * 32 + lane;
      float v = -INFINITY;
      if (j < sk) {
        v = row[j];
        if (m.mask != nullptr) v += mask_value(m, moff + j * p.mask.d);
      }
      z[c] = v;
      mx = fmaxf(mx, v);  // ignores NaN; a NaN makes the sum NaN below
    }
    mx = cuda::warp_all_reduce(mx, cuda::MaxFloatOp{});
    float sum = 0.f;
#pragma unroll
    for (int c = 0; c < kPer; ++c) {
      if (c * 32 + lane < sk) {
        z[c] = expf(z[c] - mx);
        sum += z[c];
      }
    }
    sum = cuda::warp_all_reduce(sum, cuda::SumOp{});
    const float inv = 1.f / sum;
    __syncwarp();  // the row has been read by every lane
    T* out = reinterpret_cast<T*>(row);
#pragma unroll
    for (int c = 0; c < kPer; ++c) {
      const int j = c * 32 + lane;
      if (j < sk) out[j] = cuda::from_float<T>(finish(z[c], inv, m.nan_to_zero));
    }
  }
}

// One block per row (rows longer than 1024 keys): max, then sum of exp, then P, each a pass over
// the scores. In the last pass a 16-bit P overwrites the float scores of the first half of the
// current chunk of keys: every chunk is read by the block before any of it is written.
template <typename T>
__global__ void __launch_bounds__(kBlockThreads)
    attention_softmax_block(AttentionGemmPlan p, float* scores, MaskArgs m) {
  __shared__ float scratch[32];
  const int64_t rows = p.batch * p.sq;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {  // uniform per block
    const int64_t e = r / p.sq, i = r % p.sq;
    float* row = scores + e * p.score_stride + i * p.sk;
    const int64_t moff = m.mask != nullptr ? attention_mask_row(p, e, i) : 0;
    auto z_at = [&](int64_t j) {
      float v = row[j];
      if (m.mask != nullptr) v += mask_value(m, moff + j * p.mask.d);
      return v;
    };
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < p.sk; j += blockDim.x) mx = fmaxf(mx, z_at(j));
    mx = cuda::block_all_reduce(mx, cuda::MaxFloatOp{}, -INFINITY, scratch);
    float sum = 0.f;
    for (int64_t j = threadIdx.x; j < p.sk; j += blockDim.x) sum += expf(z_at(j) - mx);
    sum = cuda::block_all_reduce(sum, cuda::SumOp{}, 0.f, scratch);
    const float inv = 1.f / sum;
    T* out = reinterpret_cast<T*>(row);
    for (int64_t j0 = 0; j0 < p.sk; j0 += blockDim.x) {  // uniform per block
      const int64_t j = j0 + threadIdx.x;
      const float ez = j < p.sk ? expf(z_at(j) - mx) : 0.f;
      __syncthreads();  // the chunk has been read
      if (j < p.sk) out[j] = cuda::from_float<T>(finish(ez, inv, m.nan_to_zero));
    }
  }
}

template <typename T, int kPer>
Status launch_warp_rows(const AttentionGemmPlan& p, float* scores, const MaskArgs& m, int sms,
                        cudaStream_t stream) {
  const int64_t rows = p.batch * p.sq;
  const int64_t blocks =
      std::min<int64_t>((rows + kRowWarps - 1) / kRowWarps, static_cast<int64_t>(sms) * 32);
  attention_softmax_warp<T, kPer>
      <<<static_cast<unsigned>(blocks), 32 * kRowWarps, 0, stream>>>(p, scores, m);
  return cuda::check_launch("attention_softmax_warp");
}

template <typename T>
Status launch_softmax(const AttentionGemmPlan& p, float* scores, const MaskArgs& m, int sms,
                      cudaStream_t stream) {
  using D = typename cuda::DeviceElement<T>::type;
  const int64_t per_lane = (p.sk + 31) / 32;
  if (per_lane <= 1) return launch_warp_rows<D, 1>(p, scores, m, sms, stream);
  if (per_lane <= 2) return launch_warp_rows<D, 2>(p, scores, m, sms, stream);
  if (per_lane <= 4) return launch_warp_rows<D, 4>(p, scores, m, sms, stream);
  if (per_lane <= 8) return launch_warp_rows<D, 8>(p, scores, m, sms, stream);
  if (per_lane <= 16) return launch_warp_rows<D, 16>(p, scores, m, sms, stream);
  if (per_lane <= kMaxPerLane) return launch_warp_rows<D, kMaxPerLane>(p, scores, m, sms, stream);
  const int64_t rows = p.batch * p.sq;
  const int64_t blocks = std::min<int64_t>(rows, static_cast<int64_t>(sms) * 4);
  attention_softmax_block<D>
      <<<static_cast<unsigned>(blocks), kBlockThreads, 0, stream>>>(p, scores, m);
  return cuda::check_launch("attention_softmax_block");
}

// ---------------------------------------------------------------------------------------------
// Pointer arrays (kPointers): K, Q, S, V, Y addresses of every entry. S's array is also P's
// (P lives in its rows' scores).

struct PointerArgs {
  const char* k = nullptr;
  const char* q = nullptr;
  char* s = nullptr;
  const char* v = nullptr;
  char* y = nullptr;
  AttentionBatchStrides k_st, q_st, v_st, y_st;  // elements
  int64_t elem = 4;
  int64_t s_stride_bytes = 0;
  int64_t heads = 1, batch = 0;
  char* arrays = nullptr;   // 5 arrays of `batch` pointers,
  int64_t array_bytes = 0;  // this many bytes apart
};

constexpr int kPointerThreads = 256;

__global__ void __launch_bounds__(kPointerThreads) attention_fill_pointers(PointerArgs a) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * kPointerThreads + threadIdx.x;
  if (e >= a.batch) return;
  auto slot = [&](int array) {
    return reinterpret_cast<const void**>(a.arrays + array * a.array_bytes);
  };
  slot(0)[e] = a.k + attention_entry_offset(a.k_st, a.heads, e) * a.elem;
  slot(1)[e] = a.q + attention_entry_offset(a.q_st, a.heads, e) * a.elem;
  slot(2)[e] = a.s + e * a.s_stride_bytes;
  slot(3)[e] = a.v + attention_entry_offset(a.v_st, a.heads, e) * a.elem;
  slot(4)[e] = a.y + attention_entry_offset(a.y_st, a.heads, e) * a.elem;
}

// ---------------------------------------------------------------------------------------------
// GEMMs

// An operand: base address, cuBLAS type and element size.
struct Operand {
  const char* base = nullptr;
  cudaDataType_t type = CUDA_R_32F;
  int64_t elem = 4;
};

Status gemm_strided(cublasHandle_t h, const AttentionGemmPlan& p, const AttentionGemm& gm,
                    float alpha, Operand a, Operand b, char* c, cudaDataType_t ct, int64_t c_elem,
                    cublasComputeType_t compute) {
  const float beta = 0.f;
  cublasStatus_t rc = CUBLAS_STATUS_SUCCESS;
  for_each_strided_call(p, gm, [&](const AttentionStridedCall& call) {
    rc = cublasGemmStridedBatchedEx(
        h, gm.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(gm.m),
        static_cast<int>(gm.n), static_cast<int>(gm.k), &alpha, a.base + call.a_offset * a.elem,
        a.type, static_cast<int>(gm.lda), call.a_stride, b.base + call.b_offset * b.elem, b.type,
        static_cast<int>(gm.ldb), call.b_stride, &beta, c + call.c_offset * c_elem, ct,
        static_cast<int>(gm.ldc), call.c_stride, static_cast<int>(call.count), compute,
        CUBLAS_GEMM_DEFAULT);
    return rc == CUBLAS_STATUS_SUCCESS;
  });
  return cuda::cublas_status(rc, "cublasGemmStridedBatchedEx (Attention cublas_batched)");
}

// arrays: the A, B and C pointer arrays (device).
Status gemm_pointers(cublasHandle_t h, const AttentionGemmPlan& p, const AttentionGemm& gm,
                     float alpha, const void* const* a, cudaDataType_t at, const void* const* b,
                     cudaDataType_t bt, void* const* c, cudaDataType_t ct,
                     cublasComputeType_t compute) {
  const float beta = 0.f;
  cublasStatus_t rc = CUBLAS_STATUS_SUCCESS;
  for_each_pointer_call(p, [&](int64_t first, int64_t count) {
    rc = cublasGemmBatchedEx(
        h, gm.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(gm.m),
        static_cast<int>(gm.n), static_cast<int>(gm.k), &alpha, a + first, at,
        static_cast<int>(gm.lda), b + first, bt, static_cast<int>(gm.ldb), &beta, c + first, ct,
        static_cast<int>(gm.ldc), static_cast<int>(count), compute, CUBLAS_GEMM_DEFAULT);
    return rc == CUBLAS_STATUS_SUCCESS;
  });
  return cuda::cublas_status(rc, "cublasGemmBatchedEx (Attention cublas_batched)");
}

// ---------------------------------------------------------------------------------------------
// The kernel

class AttentionCublasKernel final : public Kernel {
 public:
  AttentionCublasKernel(AttentionConfig c, DataType dtype, bool tf32, size_t blas_workspace,
                        int sms)
      : c_(c), dtype_(dtype), tf32_(tf32), blas_workspace_(blas_workspace), sms_(sms) {}

  size_t workspace_size(const NodeShapes& s) const override {
    if (s.inputs.size() < 3 || s.outputs.empty()) return blas_workspace_;
    auto g = attention_geometry(c_, s.inputs[0], s.inputs[1], s.inputs[2], s.outputs[0], nullptr);
    if (!g.is_ok()) return blas_workspace_;
    auto p = plan_attention_gemms(*g, c_.k, dtype_, true);
    if (!p.is_ok()) return blas_workspace_;
    return attention_gemm_scratch_bytes(*p) + blas_workspace_;
  }

  Status execute(const ExecArgs& args) const override {
    KILN_ASSIGN_OR_RETURN(AttentionGeometry g, attention_geometry(c_, args));
    const TensorView* mask = g.has_mask ? &args.inputs[3] : nullptr;
    auto stream = static_cast<cudaStream_t>(args.stream);
    const TensorView& yv = args.outputs[0];
    if (yv.numel() == 0) return Status::ok();
    if (g.sk == 0) {
      // Softmax over no keys and an empty sum: Y is zero.
      KILN_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(yv.data, 0, yv.nbytes(), stream));
      return Status::ok();
    }
    const DataType dt = args.inputs[0].dtype;
    if (!cuda::is_blas_float(dt)) {
      return unsupported("Attention cublas_batched: dtype " + std::string(dtype_name(dt)));
    }
    MaskArgs m;
    if (mask != nullptr) {
      if (!cuda::is_blas_float(mask->dtype) && mask->dtype != DataType::kBool) {
        return unsupported("Attention cublas_batched: Mask dtype " +
                           std::string(dtype_name(mask->dtype)));
      }
      m.mask = mask->data;
      m.dtype = mask->dtype;
    }
    m.fill = g.mask_fill;
    m.nan_to_zero = g.nan_to_zero;
    const int64_t es = static_cast<int64_t>(dtype_size(dt));
    const char* q = static_cast<const char*>(args.inputs[0].data) + g.q_offset * es;
    const char* k = static_cast<const char*>(args.inputs[1].data) + g.k_offset * es;
    const char* v = static_cast<const char*>(args.inputs[2].data) + g.v_offset * es;
    char* y = static_cast<char*>(yv.data);
    char* ws = static_cast<char*>(args.workspace);
    const bool aligned = cuda::is_aligned(q, 16) && cuda::is_aligned(k, 16) &&
                         cuda::is_aligned(v, 16) && cuda::is_aligned(y, 16) &&
                         cuda::is_aligned(ws, 16);
    KILN_ASSIGN_OR_RETURN(AttentionGemmPlan p, plan_attention_gemms(g, c_.k, dt, aligned));
    const size_t scratch = attention_gemm_scratch_bytes(p);
    if (ws == nullptr || args.workspace_size < scratch) {
      return invalid_argument("Attention cublas_batched: workspace of " +
                              std::to_string(args.workspace_size) + " bytes, needs " +
                              std::to_string(scratch) + " for the scores");
    }
    // cuBLAS's workspace: the rest, from a 256-byte boundary.
    char* blas_ws = ws + p.blas_offset;
    size_t blas_bytes = args.workspace_size - p.blas_offset;
    const size_t pad = (256 - reinterpret_cast<uintptr_t>(blas_ws) % 256) % 256;
    blas_bytes = blas_bytes > pad ? blas_bytes - pad : 0;
    blas_ws = blas_bytes ? blas_ws + pad : nullptr;

    KILN_ASSIGN_OR_RETURN(auto lease, cuda::acquire_cublas());
    cublasHandle_t h = lease.get();
    // cublasSetStream resets the workspace to cuBLAS's own pool, so set the workspace after it:
    // cuBLAS then allocates nothing (capturable).
    KILN_CUDA_RETURN_IF_ERROR(cublasSetStream(h, stream));
    KILN_CUDA_RETURN_IF_ERROR(cublasSetWorkspace(h, blas_ws, blas_bytes));
    KILN_CUDA_RETURN_IF_ERROR(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));

    float* scores = reinterpret_cast<float*>(ws);
    const cudaDataType_t t = cuda::blas_data_type(dt);
    const cublasComputeType_t compute = cuda::blas_compute_type(dt, tf32_);
    char* arrays = ws + p.scores_bytes;
    auto array = [&](int i) {
      return reinterpret_cast<void**>(arrays + i * p.pointer_array_bytes);
    };
    if (p.mode == AttentionBatchMode::kPointers) {
      PointerArgs a;
      a.k = k;
      a.q = q;
      a.s = ws;
      a.v = v;
      a.y = y;
      a.k_st = p.scores.a;
      a.q_st = p.scores.b;
      a.v_st = p.pv.a;
      a.y_st = p.pv.c;
      a.elem = es;
      a.s_stride_bytes = p.score_stride * 4;
      a.heads = p.heads;
      a.batch = p.batch;
      a.arrays = arrays;
      a.array_bytes = static_cast<int64_t>(p.pointer_array_bytes);
      const int64_t blocks = (p.batch + kPointerThreads - 1) / kPointerThreads;
      attention_fill_pointers<<<static_cast<unsigned>(blocks), kPointerThreads, 0, stream>>>(a);
      KILN_RETURN_IF_ERROR(cuda::check_launch("attention_fill_pointers"));
    }

    // 1. S = scale · Q·Kᵀ (float).
    if (g.d == 0) {
      KILN_CUDA_RETURN_IF_ERROR(
          cudaMemsetAsync(scores, 0, static_cast<size_t>(p.batch * p.score_stride) * 4, stream));
    } else if (p.mode == AttentionBatchMode::kPointers) {
      KILN_RETURN_IF_ERROR(gemm_pointers(h, p, p.scores, g.scale, array(0), t, array(1), t,
                                         array(2), CUDA_R_32F, compute));
    } else {
      KILN_RETURN_IF_ERROR(gemm_strided(h, p, p.scores, g.scale, Operand{k, t, es},
                                        Operand{q, t, es}, ws, CUDA_R_32F, 4, compute));
    }

    // 2. P = softmax(S + mask), in the input dtype over the scores.
    switch (dt) {
      case DataType::kFloat32:
        KILN_RETURN_IF_ERROR(launch_softmax<float>(p, scores, m, sms_, stream));
        break;
      case DataType::kFloat16:
        KILN_RETURN_IF_ERROR(launch_softmax<Half>(p, scores, m, sms_, stream));
        break;
      default:
        KILN_RETURN_IF_ERROR(launch_softmax<BFloat16>(p, scores, m, sms_, stream));
        break;
    }

    // 3. Y = P·V.
    if (p.mode == AttentionBatchMode::kPointers) {
      return gemm_pointers(h, p, p.pv, 1.f, array(3), t, array(2), t, array(4), t, compute);
    }
    return gemm_strided(h, p, p.pv, 1.f, Operand{v, t, es}, Operand{ws, t, es}, y, t, es, compute);
  }

 private:
  AttentionConfig c_;
  DataType dtype_;
  bool tf32_;
  size_t blas_workspace_;
  int sms_;
};

// Geometry at one profile shape (the mask's shape when present).
Result<AttentionGeometry> geometry_at(const KernelInfo& info, const AttentionConfig& c,
                                      const NodeShapes& s) {
  if (s.inputs.size() < 3 || s.outputs.empty()) return invalid_argument("shapes missing");
  const Dims* mask = info.has_input(3) && s.inputs.size() > 3 ? &s.inputs[3] : nullptr;
  return attention_geometry(c, s.inputs[0], s.inputs[1], s.inputs[2], s.outputs[0], mask);
}

}  // namespace

bool attention_cublas_supports(const KernelInfo& info) {
  auto c = attention_config(info.attrs());
  if (!c.is_ok()) return false;
  const DataType dt = info.input_dtype(0);
  if (!cuda::is_blas_float(dt) || info.output_dtype(0) != dt) return false;
  for (int i = 1; i < 3; ++i) {
    if (info.input_dtype(i) != dt) return false;
  }
  if (info.has_input(3)) {
    const DataType mt = info.input_dtype(3);
    if (!cuda::is_blas_float(mt) && mt != DataType::kBool) return false;
  }
  for (const NodeShapes* s : {&info.min, &info.opt, &info.max}) {
    auto g = geometry_at(info, *c, *s);
    if (!g.is_ok() || !plan_attention_gemms(*g, c->k, dt, true).is_ok()) return false;
  }
  return true;
}

Result<std::unique_ptr<Kernel>> attention_cublas_create(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(AttentionConfig c, attention_config(info.attrs()));
  int device = 0, major = 0;
  KILN_CUDA_RETURN_IF_ERROR(cudaGetDevice(&device));
  KILN_CUDA_RETURN_IF_ERROR(
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  // cuBLAS's recommended workspace: 32 MiB on Hopper and later, 4 MiB before.
  const size_t blas_workspace = major >= 9 ? (size_t{32} << 20) : (size_t{4} << 20);
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(
      new AttentionCublasKernel(c, info.input_dtype(0), info.allow_tf32(), blas_workspace, sms));
}

}  // namespace kiln::ops
