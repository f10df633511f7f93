// CUDA tactics of MatMul.
//   lt_heuristic_0..7     (cuBLASLt) the i-th algorithm cublasLtMatmulAlgoGetHeuristic returns
//                         for the opt shape. supports() is true only if that many results exist
//                         and the algorithm also passes cublasLtMatmulAlgoCheck at the min and max
//                         shapes; create() queries again and keeps result i (a plan stores the
//                         tactic name, so a loaded engine re-derives the algorithm). Bias and
//                         activation use cuBLASLt epilogues where it has them (BIAS, RELU(_BIAS),
//                         GELU(_BIAS) for gelu_tanh only: cuBLASLt's GELU is the tanh form); any
//                         other activation, or a [1] bias broadcast over N > 1, runs in kiln's
//                         epilogue kernel afterwards. At a shape other than opt (or with pointers
//                         less than 16-byte aligned) the kept algorithm is checked again and, if
//                         it does not apply, the best heuristic result for that shape is used
//                         (cached per shape).
//   gemm_strided_batched  (cuBLAS) cublasGemmStridedBatchedEx, then kiln's epilogue kernel for
//                         bias/activation. Workspace: 32 MiB on Hopper and later, 4 MiB before
//                         (cuBLAS's recommendation), handed to cuBLAS with cublasSetWorkspace.
//   naive                 (kiln) a shared-memory tiled GEMM (64x64 tiles, 4x4 per thread, float
//                         accumulation; int32/int64 accumulate in wrapping 64-bit integers), any
//                         batch broadcast, transposes, fused bias and activation.
// float32 runs on TF32 tensor cores in the cuBLAS tactics (CUBLAS_COMPUTE_32F_FAST_TF32) when
// the build allows TF32 (BuilderFlag::kTf32, on by default), else in full FP32; float16/bfloat16
// accumulate in float (CUBLAS_COMPUTE_32F).
//
// Row-major Y[M,N] = A[M,K]·B[K,N] is the column-major product Y^T = B^T·A^T, so cuBLAS sees B as
// its first operand and A as its second, with m = N and n = M. Batches: when B is shared and A is
// dense (and not transposed) the batch folds into M (one GEMM); otherwise the longest run of
// trailing batch dims over which each operand is either dense or broadcast becomes one strided
// batch (stride 0 for a broadcast operand) and any leading batch dims loop on the host.
#include "backends/cuda/blas_types.h"
#include "backends/cuda/handles.h"
#include "backends/cuda/kernel_utils.cuh"
#include "ops/activation/activation.cuh"
#include "ops/matmul/matmul.h"

#include <cublasLt.h>
#include <cublas_v2.h>

#include <algorithm>
#include <climits>
#include <mutex>
#include <string>
#include <type_traits>

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;
constexpr int kHeuristicCount = 8;
constexpr size_t kLtMaxWorkspace = size_t{32} << 20;
constexpr uint32_t kAssumedAlignment = 16;  // bytes: the alignment algorithms are chosen for

bool attr_flag(const ir::Attrs& attrs, const char* name) {
  return attrs.get_int(name, 0) != 0;
}

const TensorView* bias_view(const ExecArgs& args) {
  return args.inputs.size() > 2 && args.inputs[2].data != nullptr ? &args.inputs[2] : nullptr;
}

Status check_bias(const TensorView* bias, int64_t n, DataType dt) {
  if (bias == nullptr) return Status::ok();
  if (bias->shape.rank() != 1 || (bias->shape[0] != n && bias->shape[0] != 1) ||
      bias->dtype != dt) {
    return invalid_argument("MatMul Bias " + bias->shape.to_string() +
                            " does not match N=" + std::to_string(n));
  }
  return Status::ok();
}

// ---------------------------------------------------------------------------------------------
// Device epilogue math (activation.cuh: the formulas of the CPU apply_activation).

struct EpilogueParams {
  bool has_activation = false;
  ActivationKind kind = ActivationKind::kRelu;
  float alpha = 0.f, beta = 0.f;
};

EpilogueParams epilogue_params(const MatMulEpilogue& e) {
  return EpilogueParams{e.has_activation, e.kind, e.alpha, e.beta};
}

__device__ __forceinline__ float activate(const EpilogueParams& p, float x) {
  return activate_device(p.kind, x, p.alpha, p.beta);
}

// y = act(y + bias[col]) over `total` elements of rows of n (y = act(bias) when zero_first: the
// K = 0 case, where the product is empty).
template <typename T>
__global__ void epilogue_kernel(T* __restrict__ y, int64_t total, int64_t n,
                                const T* __restrict__ bias, int64_t bias_len, EpilogueParams p,
                                bool add_bias, bool zero_first) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    float v = zero_first ? 0.f : cuda::to_float(y[i]);
    if (add_bias) v += cuda::to_float(bias[bias_len == 1 ? 0 : i % n]);
    if (p.has_activation) v = activate(p, v);
    y[i] = cuda::from_float<T>(v);
  }
}

// The same with 16-byte accesses: kVec elements of one row per access (n and the buffers are
// multiples / aligned accordingly; bias, when present, is [n]). The activation after a GEMM
// (gelu_erf after cuBLASLt's bias epilogue: BERT's FFN) reads and writes the whole output once,
// so the access width decides its speed — and the activation's switch must not run per element:
// kKind is the activation as a template constant (kRuntimeKind: p.kind, or none).
constexpr int kRuntimeKind = -1;

template <typename T, int kVec, int kKind>
__global__ void epilogue_vector_kernel(T* __restrict__ y, int64_t vectors, int64_t n,
                                       const T* __restrict__ bias, EpilogueParams p) {
  using V = cuda::AlignedVector<T, kVec>;
  V* yv = reinterpret_cast<V*>(y);
  const V* bv = reinterpret_cast<const V*>(bias);
  const int64_t row_vectors = n / kVec;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < vectors;
       i += step) {
    V v = yv[i];
    V b{};
    if (bias != nullptr) b = bv[i % row_vectors];
#pragma unroll
    for (int k = 0; k < kVec; ++k) {
      float x = cuda::to_float(v.val[k]);
      if (bias != nullptr) x += cuda::to_float(b.val[k]);
      if constexpr (kKind != kRuntimeKind) {
        x = activate_device(static_cast<ActivationKind>(kKind), x, p.alpha, p.beta);
      } else if (p.has_activation) {
        x = activate(p, x);
      }
      v.val[k] = cuda::from_float<T>(x);
    }
    yv[i] = v;
  }
}

template <typename D, int kVec, int kKind>
Status launch_epilogue_vector(D* y, int64_t vectors, int64_t n, const D* bias,
                              const EpilogueParams& p, int sms, cudaStream_t stream) {
  epilogue_vector_kernel<D, kVec, kKind>
      <<<cuda::grid_size(vectors, sms), cuda::kElementwiseThreads, 0, stream>>>(y, vectors, n,
                                                                                 bias, p);
  return cuda::check_launch("matmul epilogue_vector_kernel");
}

template <typename T>
Status launch_epilogue_t(void* y, int64_t total, int64_t n, const void* bias, int64_t bias_len,
                         const EpilogueParams& p, bool zero_first, int sms, cudaStream_t stream) {
  using D = typename cuda::DeviceElement<T>::type;
  constexpr int kVec = cuda::kVectorWidth<D>;
  const bool vector = !zero_first && n % kVec == 0 && total % kVec == 0 &&
                      cuda::is_aligned(y, 16) &&
                      (bias == nullptr || (bias_len == n && cuda::is_aligned(bias, 16)));
  if (vector) {
    const int64_t vectors = total / kVec;
    D* yd = static_cast<D*>(y);
    const D* bd = static_cast<const D*>(bias);
    // The activations that follow GEMMs in transformers and CNNs get their own instantiation.
    if (p.has_activation) {
      switch (p.kind) {
        case ActivationKind::kGeluErf:
          return launch_epilogue_vector<D, kVec, static_cast<int>(ActivationKind::kGeluErf)>(
              yd, vectors, n, bd, p, sms, stream);
        case ActivationKind::kGeluTanh:
          return launch_epilogue_vector<D, kVec, static_cast<int>(ActivationKind::kGeluTanh)>(
              yd, vectors, n, bd, p, sms, stream);
        case ActivationKind::kRelu:
          return launch_epilogue_vector<D, kVec, static_cast<int>(ActivationKind::kRelu)>(
              yd, vectors, n, bd, p, sms, stream);
        case ActivationKind::kSilu:
          return launch_epilogue_vector<D, kVec, static_cast<int>(ActivationKind::kSilu)>(
              yd, vectors, n, bd, p, sms, stream);
        default:
          break;
      }
    }
    return launch_epilogue_vector<D, kVec, kRuntimeKind>(yd, vectors, n, bd, p, sms, stream);
  }
  epilogue_kernel<D><<<cuda::grid_size(total, sms), cuda::kElementwiseThreads, 0, stream>>>(
      static_cast<D*>(y), total, n, static_cast<const D*>(bias), bias_len, p, bias != nullptr,
      zero_first);
  return cuda::check_launch("matmul epilogue_kernel");
}

Status launch_epilogue(DataType dt, void* y, int64_t total, int64_t n, const void* bias,
                       int64_t bias_len, const EpilogueParams& p, bool zero_first, int sms,
                       cudaStream_t stream) {
  if (total == 0) return Status::ok();
  switch (dt) {
    case DataType::kFloat32:
      return launch_epilogue_t<float>(y, total, n, bias, bias_len, p, zero_first, sms, stream);
    case DataType::kFloat16:
      return launch_epilogue_t<Half>(y, total, n, bias, bias_len, p, zero_first, sms, stream);
    case DataType::kBFloat16:
      return launch_epilogue_t<BFloat16>(y, total, n, bias, bias_len, p, zero_first, sms, stream);
    default:
      return unsupported("MatMul epilogue: dtype " + std::string(dtype_name(dt)));
  }
}

// ---------------------------------------------------------------------------------------------
// Decomposition of a (broadcast-)batched MatMul into strided-batched GEMM calls.

struct GemmPlan {
  int64_t m = 0, n = 0, k = 0;  // per matrix (m includes a folded batch)
  bool ta = false, tb = false;
  int64_t batch = 1;                   // matrices per call
  int64_t stride_a = 0, stride_b = 0;  // elements between matrices of one call (0 = broadcast)
  int64_t calls = 1;                   // host loop; call c starts at output matrix c * batch
};

GemmPlan plan_gemm(const MatMulGeometry& g) {
  GemmPlan p;
  p.m = g.m;
  p.n = g.n;
  p.k = g.k;
  p.ta = g.trans_a;
  p.tb = g.trans_b;
  if (g.batch <= 1) return p;
  if (g.b_shared() && g.a_dense() && !g.trans_a) {
    p.m = g.m * g.batch;  // A is [batch*M, K] row-major, Y is [batch*M, N]
    return p;
  }
  // Longest suffix of batch dims over which A (and B) is either all broadcast or all dense.
  enum { kUnknown, kBroadcast, kDense } sa = kUnknown, sb = kUnknown;
  int first = g.batch_rank;
  for (int i = g.batch_rank - 1; i >= 0; --i) {
    const int64_t d = g.batch_dims[i];
    if (d != 1) {
      const auto ka = g.a_batch_stride[i] == 0 ? kBroadcast : kDense;
      const auto kb = g.b_batch_stride[i] == 0 ? kBroadcast : kDense;
      if ((sa != kUnknown && sa != ka) || (sb != kUnknown && sb != kb)) break;
      sa = ka;
      sb = kb;
    }
    first = i;
  }
  int64_t inner = 1;
  for (int i = first; i < g.batch_rank; ++i) inner *= g.batch_dims[i];
  p.batch = inner;
  p.calls = inner == 0 ? 0 : g.batch / inner;
  p.stride_a = sa == kDense ? g.m * g.k : 0;
  p.stride_b = sb == kDense ? g.k * g.n : 0;
  return p;
}

// Element offsets of A, B and Y for call c.
void call_offsets(const MatMulGeometry& g, const GemmPlan& p, int64_t c, int64_t* ao, int64_t* bo,
                  int64_t* yo) {
  g.offsets(c * p.batch, ao, bo);
  *yo = c * p.batch * p.m * p.n;
}

bool fits_int(const GemmPlan& p) {
  return p.m <= INT_MAX && p.n <= INT_MAX && p.k <= INT_MAX && p.batch <= INT_MAX;
}

// Largest power of two dividing the address (capped at 256).
uint32_t alignment_of(const void* p) {
  const uintptr_t v = reinterpret_cast<uintptr_t>(p);
  if (v == 0) return 256;
  return static_cast<uint32_t>(std::min<uintptr_t>(v & (~v + 1), 256));
}

// Concrete shapes -> geometry, for supports()/create() (inputs 0 and 1 of a profile shape).
Result<MatMulGeometry> geometry_of(const KernelInfo& info, const NodeShapes& s) {
  if (s.inputs.size() < 2) return invalid_argument("MatMul shapes missing");
  return matmul_geometry(s.inputs[0], s.inputs[1], attr_flag(info.attrs(), "transpose_a"),
                         attr_flag(info.attrs(), "transpose_b"));
}

bool degenerate(const GemmPlan& p) {
  return p.m == 0 || p.n == 0 || p.k == 0 || p.batch == 0 || p.calls == 0;
}

// ---------------------------------------------------------------------------------------------
// cuBLASLt

// How the bias and activation split between cuBLASLt's epilogue and kiln's.
struct EpilogueSplit {
  cublasLtEpilogue_t lt = CUBLASLT_EPILOGUE_DEFAULT;
  bool lt_bias = false;
  bool post = false;  // kiln epilogue kernel after the GEMM
  bool post_bias = false;
  EpilogueParams post_params;
};

EpilogueSplit split_epilogue(const MatMulEpilogue& e, bool has_bias, int64_t bias_len, int64_t n) {
  EpilogueSplit s;
  s.lt_bias = has_bias && bias_len == n;
  const bool lt_act =
      e.has_activation && (e.kind == ActivationKind::kRelu || e.kind == ActivationKind::kGeluTanh);
  if (has_bias && !s.lt_bias) {
    // A [1] bias broadcast over N > 1: bias and activation both afterwards.
    s.post = true;
    s.post_bias = true;
    s.post_params = epilogue_params(e);
    return s;
  }
  if (lt_act) {
    const bool relu = e.kind == ActivationKind::kRelu;
    s.lt = s.lt_bias ? (relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_GELU_BIAS)
                     : (relu ? CUBLASLT_EPILOGUE_RELU : CUBLASLT_EPILOGUE_GELU);
  } else {
    s.lt = s.lt_bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    if (e.has_activation) {
      s.post = true;
      s.post_params = epilogue_params(e);
    }
  }
  return s;
}

// Descriptors of one cuBLASLt call, initialized in place (host only: no allocation).
struct LtDescs {
  cublasLtMatmulDescOpaque_t op;
  cublasLtMatrixLayoutOpaque_t a, b, c;  // a = kiln's B, b = kiln's A, c = Y (column-major)
};

Status set_batch(cublasLtMatrixLayout_t layout, int64_t batch, int64_t stride) {
  if (batch <= 1) return Status::ok();
  const int32_t count = static_cast<int32_t>(batch);
  KILN_CUDA_RETURN_IF_ERROR(cublasLtMatrixLayoutSetAttribute(
      layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
  KILN_CUDA_RETURN_IF_ERROR(cublasLtMatrixLayoutSetAttribute(
      layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
  return Status::ok();
}

Status init_descs(const GemmPlan& p, DataType dt, bool tf32, cublasLtEpilogue_t epilogue,
                  const void* bias, LtDescs* d) {
  const cudaDataType_t t = cuda::blas_data_type(dt);
  KILN_CUDA_RETURN_IF_ERROR(
      cublasLtMatmulDescInit(&d->op, cuda::blas_compute_type(dt, tf32), CUDA_R_32F));
  const int32_t op_a = p.tb ? CUBLAS_OP_T : CUBLAS_OP_N;  // kiln's B
  const int32_t op_b = p.ta ? CUBLAS_OP_T : CUBLAS_OP_N;  // kiln's A
  KILN_CUDA_RETURN_IF_ERROR(
      cublasLtMatmulDescSetAttribute(&d->op, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof(op_a)));
  KILN_CUDA_RETURN_IF_ERROR(
      cublasLtMatmulDescSetAttribute(&d->op, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof(op_b)));
  const uint32_t epi = static_cast<uint32_t>(epilogue);
  KILN_CUDA_RETURN_IF_ERROR(
      cublasLtMatmulDescSetAttribute(&d->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
  if (epilogue == CUBLASLT_EPILOGUE_BIAS || epilogue == CUBLASLT_EPILOGUE_RELU_BIAS ||
      epilogue == CUBLASLT_EPILOGUE_GELU_BIAS) {
    KILN_CUDA_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(
        &d->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  }
  // kiln's B: [K,N] row-major is N x K column-major (ld N); transposed [N,K] is K x N (ld K).
  const uint64_t a_rows = p.tb ? p.k : p.n, a_cols = p.tb ? p.n : p.k;
  KILN_CUDA_RETURN_IF_ERROR(
      cublasLtMatrixLayoutInit(&d->a, t, a_rows, a_cols, static_cast<int64_t>(a_rows)));
  // kiln's A: [M,K] row-major is K x M column-major (ld K); transposed [K,M] is M x K (ld M).
  const uint64_t b_rows = p.ta ? p.m : p.k, b_cols = p.ta ? p.k : p.m;
  KILN_CUDA_RETURN_IF_ERROR(
      cublasLtMatrixLayoutInit(&d->b, t, b_rows, b_cols, static_cast<int64_t>(b_rows)));
  KILN_CUDA_RETURN_IF_ERROR(
      cublasLtMatrixLayoutInit(&d->c, t, p.n, p.m, static_cast<int64_t>(p.n)));
  KILN_RETURN_IF_ERROR(set_batch(&d->a, p.batch, p.stride_b));
  KILN_RETURN_IF_ERROR(set_batch(&d->b, p.batch, p.stride_a));
  KILN_RETURN_IF_ERROR(set_batch(&d->c, p.batch, p.m * p.n));
  return Status::ok();
}

// Heuristic results, best first (a fixed array: no allocation).
struct Heuristics {
  cublasLtMatmulHeuristicResult_t results[kHeuristicCount];
  int count = 0;
};

// Up to `count` (<= kHeuristicCount) heuristic results for the problem, for pointers of
// `alignment` bytes.
Status query_heuristics(cublasLtHandle_t handle, LtDescs& d, uint32_t alignment,
                        size_t max_workspace, int count, Heuristics* out) {
  cublasLtMatmulPreferenceOpaque_t pref;
  KILN_CUDA_RETURN_IF_ERROR(cublasLtMatmulPreferenceInit(&pref));
  const uint64_t ws = max_workspace;
  KILN_CUDA_RETURN_IF_ERROR(cublasLtMatmulPreferenceSetAttribute(
      &pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
  const cublasLtMatmulPreferenceAttributes_t aligns[] = {
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
  for (cublasLtMatmulPreferenceAttributes_t attr : aligns) {
    KILN_CUDA_RETURN_IF_ERROR(
        cublasLtMatmulPreferenceSetAttribute(&pref, attr, &alignment, sizeof(alignment)));
  }
  out->count = 0;
  int returned = 0;
  cublasStatus_t st =
      cublasLtMatmulAlgoGetHeuristic(handle, &d.op, &d.a, &d.b, &d.c, &d.c, &pref,
                                     std::min(count, kHeuristicCount), out->results, &returned);
  if (st == CUBLAS_STATUS_NOT_SUPPORTED) return Status::ok();  // no algorithm for the problem
  KILN_CUDA_RETURN_IF_ERROR(st);
  // Keep the results that report success, in order.
  returned = std::max(0, std::min(returned, kHeuristicCount));
  for (int i = 0; i < returned; ++i) {
    if (out->results[i].state == CUBLAS_STATUS_SUCCESS)
      out->results[out->count++] = out->results[i];
  }
  return Status::ok();
}

// A fake bias address of exactly the assumed alignment: heuristics read its alignment only.
const void* fake_bias() {
  return reinterpret_cast<const void*>(uintptr_t{kAssumedAlignment});
}

// The problem as far as algorithm choice is concerned.
struct ProblemKey {
  int64_t m, n, k, batch, stride_a, stride_b;
  uint32_t epilogue;
  uint32_t alignment;
  bool operator==(const ProblemKey& o) const {
    return m == o.m && n == o.n && k == o.k && batch == o.batch && stride_a == o.stride_a &&
           stride_b == o.stride_b && epilogue == o.epilogue && alignment == o.alignment;
  }
};

ProblemKey key_of(const GemmPlan& p, cublasLtEpilogue_t epi, uint32_t alignment) {
  return ProblemKey{p.m,      p.n, p.k, p.batch, p.stride_a, p.stride_b, static_cast<uint32_t>(epi),
                    alignment};
}

struct Choice {
  cublasLtMatmulAlgo_t algo;
  size_t workspace;
};

// The epilogue split at a profile shape (bias [N] or [1] from the shapes).
EpilogueSplit split_at(const KernelInfo& info, const NodeShapes& s, const MatMulGeometry& g) {
  const bool has_bias = info.has_input(2) && s.inputs.size() > 2;
  const int64_t bias_len = has_bias ? s.inputs[2].volume() : 0;
  return split_epilogue(matmul_epilogue(info.attrs()), has_bias, bias_len, g.n);
}

// The algorithm of heuristic result `index` at opt, checked at min and max. Error if absent.
struct LtSelection {
  Choice choice;
  ProblemKey key;
  size_t workspace = 0;  // the most any profile shape needs
};

Result<LtSelection> select_lt(const KernelInfo& info, int index) {
  const DataType dt = info.input_dtype(0);
  if (!cuda::is_blas_float(dt) || info.output_dtype(0) != dt) {
    return unsupported("cuBLASLt MatMul: dtype " + std::string(dtype_name(dt)));
  }
  if (info.has_input(2) && info.input_dtype(2) != dt) return unsupported("bias dtype");
  KILN_ASSIGN_OR_RETURN(MatMulGeometry g, geometry_of(info, info.opt));
  const GemmPlan p = plan_gemm(g);
  if (degenerate(p)) return unsupported("cuBLASLt MatMul: empty problem at the opt shape");
  if (!fits_int(p)) return unsupported("cuBLASLt MatMul: problem too large");
  const EpilogueSplit split = split_at(info, info.opt, g);
  KILN_ASSIGN_OR_RETURN(auto lease, cuda::acquire_cublaslt());
  LtDescs d;
  KILN_RETURN_IF_ERROR(init_descs(p, dt, info.allow_tf32(), split.lt, fake_bias(), &d));
  Heuristics h;
  KILN_RETURN_IF_ERROR(
      query_heuristics(lease.get(), d, kAssumedAlignment, kLtMaxWorkspace, kHeuristicCount, &h));
  if (h.count <= index) {
    return unsupported("cuBLASLt returned " + std::to_string(h.count) + " algorithms, fewer than " +
                       std::to_string(index + 1));
  }
  LtSelection sel;
  sel.choice = Choice{h.results[index].algo, h.results[index].workspaceSize};
  sel.key = key_of(p, split.lt, kAssumedAlignment);
  sel.workspace = h.results[index].workspaceSize;
  for (const NodeShapes* s : {&info.min, &info.max}) {
    KILN_ASSIGN_OR_RETURN(MatMulGeometry gs, geometry_of(info, *s));
    const GemmPlan ps = plan_gemm(gs);
    if (degenerate(ps)) continue;  // no cuBLASLt call at such a shape
    if (!fits_int(ps)) return unsupported("cuBLASLt MatMul: problem too large at min/max");
    LtDescs ds;
    KILN_RETURN_IF_ERROR(
        init_descs(ps, dt, info.allow_tf32(), split_at(info, *s, gs).lt, fake_bias(), &ds));
    cublasLtMatmulHeuristicResult_t check{};
    cublasStatus_t st = cublasLtMatmulAlgoCheck(lease.get(), &ds.op, &ds.a, &ds.b, &ds.c, &ds.c,
                                                &sel.choice.algo, &check);
    if (st != CUBLAS_STATUS_SUCCESS || check.workspaceSize > kLtMaxWorkspace) {
      return unsupported("cuBLASLt algorithm " + std::to_string(index) +
                         " does not apply at the min/max shapes");
    }
    sel.workspace = std::max(sel.workspace, check.workspaceSize);
  }
  return sel;
}

class LtMatMul final : public Kernel {
 public:
  LtMatMul(bool ta, bool tb, MatMulEpilogue ep, LtSelection sel, int sms, bool tf32)
      : ta_(ta), tb_(tb), ep_(ep), sel_(sel), sms_(sms), tf32_(tf32) {}

  size_t workspace_size(const NodeShapes& shapes) const override { return sel_.workspace; }

  Status execute(const ExecArgs& args) const override {
    const TensorView& a = args.inputs[0];
    const TensorView& b = args.inputs[1];
    const TensorView& y = args.outputs[0];
    const DataType dt = a.dtype;
    KILN_ASSIGN_OR_RETURN(MatMulGeometry g, matmul_geometry(a.shape, b.shape, ta_, tb_));
    const TensorView* bias = bias_view(args);
    KILN_RETURN_IF_ERROR(check_bias(bias, g.n, dt));
    if (b.dtype != dt || y.dtype != dt || y.numel() != g.batch * g.m * g.n) {
      return invalid_argument("MatMul output " + y.shape.to_string() + " does not match");
    }
    auto stream = static_cast<cudaStream_t>(args.stream);
    const int64_t bias_len = bias ? bias->numel() : 0;
    const void* bias_ptr = bias ? bias->data : nullptr;
    if (y.numel() == 0) return Status::ok();
    if (g.k == 0) {
      return launch_epilogue(dt, y.data, y.numel(), g.n, bias_ptr, bias_len, epilogue_params(ep_),
                             true, sms_, stream);
    }
    const GemmPlan p = plan_gemm(g);
    if (!fits_int(p)) return unsupported("cuBLASLt MatMul: problem too large");
    const EpilogueSplit split = split_epilogue(ep_, bias != nullptr, bias_len, g.n);
    const size_t es = dtype_size(dt);
    const char* ap = static_cast<const char*>(a.data);
    const char* bp = static_cast<const char*>(b.data);
    char* yp = static_cast<char*>(y.data);

    // The least alignment of any pointer a call sees.
    uint32_t alignment = split.lt_bias ? alignment_of(bias_ptr) : 256;
    for (int64_t c = 0; c < p.calls; ++c) {
      int64_t ao, bo, yo;
      call_offsets(g, p, c, &ao, &bo, &yo);
      alignment = std::min({alignment, alignment_of(ap + ao * es), alignment_of(bp + bo * es),
                            alignment_of(yp + yo * es)});
    }
    alignment = std::min(alignment, kAssumedAlignment);

    KILN_ASSIGN_OR_RETURN(auto lease, cuda::acquire_cublaslt());
    LtDescs d;
    KILN_RETURN_IF_ERROR(
        init_descs(p, dt, tf32_, split.lt, split.lt_bias ? bias_ptr : nullptr, &d));
    KILN_ASSIGN_OR_RETURN(Choice choice,
                          choose(lease.get(), d, key_of(p, split.lt, alignment), args));
    const float alpha = 1.f, beta = 0.f;
    for (int64_t c = 0; c < p.calls; ++c) {
      int64_t ao, bo, yo;
      call_offsets(g, p, c, &ao, &bo, &yo);
      KILN_CUDA_RETURN_IF_ERROR(
          cublasLtMatmul(lease.get(), &d.op, &alpha, bp + bo * es, &d.a, ap + ao * es, &d.b, &beta,
                         yp + yo * es, &d.c, yp + yo * es, &d.c, &choice.algo,
                         choice.workspace ? args.workspace : nullptr, choice.workspace, stream));
    }
    if (split.post) {
      return launch_epilogue(dt, y.data, y.numel(), g.n, split.post_bias ? bias_ptr : nullptr,
                             bias_len, split.post_params, false, sms_, stream);
    }
    return Status::ok();
  }

 private:
  // The algorithm for this problem: the selected one at its own key; otherwise (other shapes,
  // less alignment) the selected one if cublasLtMatmulAlgoCheck accepts it, else the best
  // heuristic result. Remembered for the last few problems.
  Result<Choice> choose(cublasLtHandle_t handle, LtDescs& d, const ProblemKey& key,
                        const ExecArgs& args) const {
    if (key == sel_.key && sel_.choice.workspace <= args.workspace_size) return sel_.choice;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int i = 0; i < cached_; ++i) {
        if (cache_[i].key == key && cache_[i].choice.workspace <= args.workspace_size) {
          return cache_[i].choice;
        }
      }
    }
    Choice choice{};
    bool found = false;
    if (key.alignment >= kAssumedAlignment) {
      cublasLtMatmulHeuristicResult_t check{};
      if (cublasLtMatmulAlgoCheck(handle, &d.op, &d.a, &d.b, &d.c, &d.c, &sel_.choice.algo,
                                  &check) == CUBLAS_STATUS_SUCCESS &&
          check.workspaceSize <= args.workspace_size) {
        choice = Choice{sel_.choice.algo, check.workspaceSize};
        found = true;
      }
    }
    if (!found) {
      Heuristics h;
      KILN_RETURN_IF_ERROR(query_heuristics(handle, d, key.alignment,
                                            std::min(args.workspace_size, kLtMaxWorkspace), 1, &h));
      if (h.count == 0) {
        return unsupported(
            "cuBLASLt has no algorithm for this MatMul shape (m=" + std::to_string(key.m) +
            " n=" + std::to_string(key.n) + " k=" + std::to_string(key.k) + ")");
      }
      choice = Choice{h.results[0].algo, h.results[0].workspaceSize};
    }
    std::lock_guard<std::mutex> lock(mu_);
    cache_[next_] = Cached{key, choice};
    next_ = (next_ + 1) % kCacheSize;
    cached_ = std::min(cached_ + 1, kCacheSize);
    return choice;
  }

  bool ta_, tb_;
  MatMulEpilogue ep_;
  LtSelection sel_;
  int sms_;
  bool tf32_;
  // The last kCacheSize problems that needed their own algorithm (shapes of a dynamic profile).
  static constexpr int kCacheSize = 16;
  struct Cached {
    ProblemKey key;
    Choice choice;
  };
  mutable std::mutex mu_;
  mutable Cached cache_[kCacheSize] = {};
  mutable int cached_ = 0, next_ = 0;
};

template <int kIndex>
bool supports_lt(const KernelInfo& info) {
  return select_lt(info, kIndex).is_ok();
}

template <int kIndex>
Result<std::unique_ptr<Kernel>> create_lt(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(LtSelection sel, select_lt(info, kIndex));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(
      new LtMatMul(attr_flag(info.attrs(), "transpose_a"), attr_flag(info.attrs(), "transpose_b"),
                   matmul_epilogue(info.attrs()), sel, sms, info.allow_tf32()));
}

// ---------------------------------------------------------------------------------------------
// cuBLAS

class CublasMatMul final : public Kernel {
 public:
  CublasMatMul(bool ta, bool tb, MatMulEpilogue ep, size_t workspace, int sms, bool tf32)
      : ta_(ta), tb_(tb), ep_(ep), workspace_(workspace), sms_(sms), tf32_(tf32) {}

  size_t workspace_size(const NodeShapes& shapes) const override { return workspace_; }

  Status execute(const ExecArgs& args) const override {
    const TensorView& a = args.inputs[0];
    const TensorView& b = args.inputs[1];
    const TensorView& y = args.outputs[0];
    const DataType dt = a.dtype;
    KILN_ASSIGN_OR_RETURN(MatMulGeometry g, matmul_geometry(a.shape, b.shape, ta_, tb_));
    const TensorView* bias = bias_view(args);
    KILN_RETURN_IF_ERROR(check_bias(bias, g.n, dt));
    if (b.dtype != dt || y.dtype != dt || y.numel() != g.batch * g.m * g.n) {
      return invalid_argument("MatMul output " + y.shape.to_string() + " does not match");
    }
    auto stream = static_cast<cudaStream_t>(args.stream);
    const int64_t bias_len = bias ? bias->numel() : 0;
    const void* bias_ptr = bias ? bias->data : nullptr;
    const EpilogueParams ep = epilogue_params(ep_);
    if (y.numel() == 0) return Status::ok();
    if (g.k == 0) {
      return launch_epilogue(dt, y.data, y.numel(), g.n, bias_ptr, bias_len, ep, true, sms_,
                             stream);
    }
    const GemmPlan p = plan_gemm(g);
    if (!fits_int(p)) return unsupported("cuBLAS MatMul: problem too large");
    KILN_ASSIGN_OR_RETURN(auto lease, cuda::acquire_cublas());
    cublasHandle_t h = lease.get();
    // cublasSetStream resets the workspace to cuBLAS's own pool, so set the workspace after it:
    // cuBLAS then allocates nothing (capturable).
    KILN_CUDA_RETURN_IF_ERROR(cublasSetStream(h, stream));
    KILN_CUDA_RETURN_IF_ERROR(
        cublasSetWorkspace(h, args.workspace_size ? args.workspace : nullptr, args.workspace_size));
    KILN_CUDA_RETURN_IF_ERROR(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));
    const size_t es = dtype_size(dt);
    const cudaDataType_t t = cuda::blas_data_type(dt);
    const char* ap = static_cast<const char*>(a.data);
    const char* bp = static_cast<const char*>(b.data);
    char* yp = static_cast<char*>(y.data);
    const int m = static_cast<int>(p.n), n = static_cast<int>(p.m), k = static_cast<int>(p.k);
    const int lda = static_cast<int>(p.tb ? p.k : p.n);  // kiln's B
    const int ldb = static_cast<int>(p.ta ? p.m : p.k);  // kiln's A
    const float alpha = 1.f, beta = 0.f;
    for (int64_t c = 0; c < p.calls; ++c) {
      int64_t ao, bo, yo;
      call_offsets(g, p, c, &ao, &bo, &yo);
      KILN_CUDA_RETURN_IF_ERROR(cublasGemmStridedBatchedEx(
          h, p.tb ? CUBLAS_OP_T : CUBLAS_OP_N, p.ta ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &alpha,
          bp + bo * es, t, lda, p.stride_b, ap + ao * es, t, ldb, p.stride_a, &beta, yp + yo * es,
          t, m, p.m * p.n, static_cast<int>(p.batch), cuda::blas_compute_type(dt, tf32_),
          CUBLAS_GEMM_DEFAULT));
    }
    if (bias_ptr != nullptr || ep.has_activation) {
      return launch_epilogue(dt, y.data, y.numel(), g.n, bias_ptr, bias_len, ep, false, sms_,
                             stream);
    }
    return Status::ok();
  }

 private:
  bool ta_, tb_;
  MatMulEpilogue ep_;
  size_t workspace_;
  int sms_;
  bool tf32_;
};

bool supports_cublas(const KernelInfo& info) {
  const DataType dt = info.input_dtype(0);
  if (!cuda::is_blas_float(dt) || info.output_dtype(0) != dt) return false;
  if (info.has_input(2) && info.input_dtype(2) != dt) return false;
  for (const NodeShapes* s : {&info.min, &info.opt, &info.max}) {
    auto g = geometry_of(info, *s);
    if (!g.is_ok() || !fits_int(plan_gemm(*g))) return false;
  }
  return true;
}

Result<std::unique_ptr<Kernel>> create_cublas(const KernelInfo& info) {
  int device = 0, major = 0;
  KILN_CUDA_RETURN_IF_ERROR(cudaGetDevice(&device));
  KILN_CUDA_RETURN_IF_ERROR(
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  // cuBLAS's recommended workspace: 32 MiB on Hopper and later, 4 MiB before.
  const size_t workspace = major >= 9 ? (size_t{32} << 20) : (size_t{4} << 20);
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new CublasMatMul(
      attr_flag(info.attrs(), "transpose_a"), attr_flag(info.attrs(), "transpose_b"),
      matmul_epilogue(info.attrs()), workspace, sms, info.allow_tf32()));
}

// ---------------------------------------------------------------------------------------------
// naive: shared-memory tiled GEMM

constexpr int kBM = 64, kBN = 64, kBK = 16;
constexpr int kThreadsX = 16, kThreadsY = 16;  // each thread: 4 rows x 4 columns
constexpr int kMaxGridYZ = 65535;

struct NaiveParams {
  int64_t m, n, k;
  bool ta, tb;
  int64_t batch;
  int batch_rank;
  int64_t batch_dims[kMax], a_stride[kMax], b_stride[kMax];
  int64_t bias_len;
  EpilogueParams ep;
};

template <typename T>
struct Accum {
  using type = float;
};
template <>
struct Accum<int32_t> {
  using type = unsigned long long;  // wraps like the reference's uint64 accumulation
};
template <>
struct Accum<int64_t> {
  using type = unsigned long long;
};

template <typename T>
__device__ __forceinline__ typename Accum<T>::type load_acc(T v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<unsigned long long>(static_cast<long long>(v));
  } else {
    return cuda::to_float(v);
  }
}

template <typename T>
__device__ __forceinline__ T store_acc(typename Accum<T>::type v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<long long>(v));
  } else {
    return cuda::from_float<T>(v);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreadsX* kThreadsY)
    gemm_naive_kernel(const T* __restrict__ A, const T* __restrict__ B, const T* __restrict__ bias,
                      T* __restrict__ Y, NaiveParams p) {
  using Acc = typename Accum<T>::type;
  __shared__ Acc As[kBK][kBM + 1];  // +1: column-wise stores hit distinct banks
  __shared__ Acc Bs[kBK][kBN + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int tid = ty * kThreadsX + tx;
  const int64_t tiles_m = (p.m + kBM - 1) / kBM;
  for (int64_t bz = blockIdx.z; bz < p.batch; bz += gridDim.z) {
    int64_t ao = 0, bo = 0, rem = bz;
    for (int i = p.batch_rank - 1; i >= 0; --i) {
      const int64_t idx = rem % p.batch_dims[i];
      rem /= p.batch_dims[i];
      ao += idx * p.a_stride[i];
      bo += idx * p.b_stride[i];
    }
    const T* a = A + ao;
    const T* b = B + bo;
    T* y = Y + bz * p.m * p.n;
    for (int64_t by = blockIdx.y; by < tiles_m; by += gridDim.y) {
      const int64_t m0 = by * kBM, n0 = static_cast<int64_t>(blockIdx.x) * kBN;
      Acc acc[4][4];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = Acc(0);
      }
      for (int64_t k0 = 0; k0 < p.k; k0 += kBK) {
        // A tile (kBM x kBK) and B tile (kBK x kBN): 4 elements per thread each, loaded along
        // the operand's contiguous dim.
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          const int e = tid + q * kThreadsX * kThreadsY;
          int row, kk;
          if (p.ta) {  // A stored [K, M]
            row = e % kBM;
            kk = e / kBM;
          } else {  // A stored [M, K]
            row = e / kBK;
            kk = e % kBK;
          }
          const int64_t gm = m0 + row, gk = k0 + kk;
          Acc v = Acc(0);
          if (gm < p.m && gk < p.k) v = load_acc(p.ta ? a[gk * p.m + gm] : a[gm * p.k + gk]);
          As[kk][row] = v;
        }
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          const int e = tid + q * kThreadsX * kThreadsY;
          int col, kk;
          if (p.tb) {  // B stored [N, K]
            col = e / kBK;
            kk = e % kBK;
          } else {  // B stored [K, N]
            col = e % kBN;
            kk = e / kBN;
          }
          const int64_t gn = n0 + col, gk = k0 + kk;
          Acc v = Acc(0);
          if (gn < p.n && gk < p.k) v = load_acc(p.tb ? b[gn * p.k + gk] : b[gk * p.n + gn]);
          Bs[kk][col] = v;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kBK; ++kk) {
          Acc av[4], bv[4];
#pragma unroll
          for (int i = 0; i < 4; ++i) av[i] = As[kk][ty + i * kThreadsY];
#pragma unroll
          for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tx + j * kThreadsX];
#pragma unroll
          for (int i = 0; i < 4; ++i) {
#pragma unroll
            for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];
          }
        }
        __syncthreads();
      }
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int64_t gm = m0 + ty + i * kThreadsY;
        if (gm >= p.m) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int64_t gn = n0 + tx + j * kThreadsX;
          if (gn >= p.n) continue;
          Acc v = acc[i][j];
          if (bias != nullptr) v += load_acc(bias[p.bias_len == 1 ? 0 : gn]);
          if constexpr (!std::is_integral_v<T>) {
            if (p.ep.has_activation) v = activate(p.ep, v);
          }
          y[gm * p.n + gn] = store_acc<T>(v);
        }
      }
    }
  }
}

template <typename T>
Status launch_naive(const ExecArgs& args, const NaiveParams& p, cudaStream_t stream) {
  using D = typename cuda::DeviceElement<T>::type;
  const int64_t tiles_n = (p.n + kBN - 1) / kBN, tiles_m = (p.m + kBM - 1) / kBM;
  if (tiles_n > INT_MAX) return unsupported("MatMul naive: N too large");
  const dim3 grid(static_cast<unsigned int>(tiles_n),
                  static_cast<unsigned int>(std::min<int64_t>(tiles_m, kMaxGridYZ)),
                  static_cast<unsigned int>(std::min<int64_t>(p.batch, kMaxGridYZ)));
  const TensorView* bias = bias_view(args);
  gemm_naive_kernel<D><<<grid, dim3(kThreadsX, kThreadsY), 0, stream>>>(
      static_cast<const D*>(args.inputs[0].data), static_cast<const D*>(args.inputs[1].data),
      bias ? static_cast<const D*>(bias->data) : nullptr, static_cast<D*>(args.outputs[0].data), p);
  return cuda::check_launch("gemm_naive_kernel");
}

class NaiveMatMul final : public Kernel {
 public:
  NaiveMatMul(bool ta, bool tb, MatMulEpilogue ep) : ta_(ta), tb_(tb), ep_(ep) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& a = args.inputs[0];
    const TensorView& b = args.inputs[1];
    const TensorView& y = args.outputs[0];
    const DataType dt = a.dtype;
    KILN_ASSIGN_OR_RETURN(MatMulGeometry g, matmul_geometry(a.shape, b.shape, ta_, tb_));
    const TensorView* bias = bias_view(args);
    KILN_RETURN_IF_ERROR(check_bias(bias, g.n, dt));
    if (b.dtype != dt || y.dtype != dt || y.numel() != g.batch * g.m * g.n) {
      return invalid_argument("MatMul output " + y.shape.to_string() + " does not match");
    }
    if (y.numel() == 0) return Status::ok();
    NaiveParams p{};
    p.m = g.m;
    p.n = g.n;
    p.k = g.k;
    p.ta = g.trans_a;
    p.tb = g.trans_b;
    p.batch = g.batch;
    p.batch_rank = g.batch_rank;
    for (int i = 0; i < g.batch_rank; ++i) {
      p.batch_dims[i] = g.batch_dims[i];
      p.a_stride[i] = g.a_batch_stride[i];
      p.b_stride[i] = g.b_batch_stride[i];
    }
    p.bias_len = bias ? bias->numel() : 0;
    p.ep = epilogue_params(ep_);
    auto stream = static_cast<cudaStream_t>(args.stream);
    switch (dt) {
      case DataType::kFloat32:
        return launch_naive<float>(args, p, stream);
      case DataType::kFloat16:
        return launch_naive<Half>(args, p, stream);
      case DataType::kBFloat16:
        return launch_naive<BFloat16>(args, p, stream);
      case DataType::kInt32:
        return launch_naive<int32_t>(args, p, stream);
      case DataType::kInt64:
        return launch_naive<int64_t>(args, p, stream);
      default:
        return unsupported("MatMul naive: dtype " + std::string(dtype_name(dt)));
    }
  }

 private:
  bool ta_, tb_;
  MatMulEpilogue ep_;
};

bool supports_naive(const KernelInfo& info) {
  const DataType dt = info.input_dtype(0);
  const bool ok_dtype = cuda::is_blas_float(dt) || dt == DataType::kInt32 || dt == DataType::kInt64;
  return ok_dtype && info.output_dtype(0) == dt && info.input_dtype(1) == dt &&
         (!info.has_input(2) || info.input_dtype(2) == dt);
}

Result<std::unique_ptr<Kernel>> create_naive(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new NaiveMatMul(attr_flag(info.attrs(), "transpose_a"),
                                                 attr_flag(info.attrs(), "transpose_b"),
                                                 matmul_epilogue(info.attrs())));
}

const TacticDef kCudaTactics[] = {
    {"lt_heuristic_0", TacticSource::kCublasLt, kFloatDtypes, supports_lt<0>, create_lt<0>},
    {"lt_heuristic_1", TacticSource::kCublasLt, kFloatDtypes, supports_lt<1>, create_lt<1>},
    {"lt_heuristic_2", TacticSource::kCublasLt, kFloatDtypes, supports_lt<2>, create_lt<2>},
    {"lt_heuristic_3", TacticSource::kCublasLt, kFloatDtypes, supports_lt<3>, create_lt<3>},
    {"lt_heuristic_4", TacticSource::kCublasLt, kFloatDtypes, supports_lt<4>, create_lt<4>},
    {"lt_heuristic_5", TacticSource::kCublasLt, kFloatDtypes, supports_lt<5>, create_lt<5>},
    {"lt_heuristic_6", TacticSource::kCublasLt, kFloatDtypes, supports_lt<6>, create_lt<6>},
    {"lt_heuristic_7", TacticSource::kCublasLt, kFloatDtypes, supports_lt<7>, create_lt<7>},
    {"gemm_strided_batched", TacticSource::kCublas, kFloatDtypes, supports_cublas, create_cublas},
    {"naive", TacticSource::kKilnCuda, kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64},
     supports_naive, create_naive},
};
static_assert(sizeof(kCudaTactics) / sizeof(kCudaTactics[0]) == kHeuristicCount + 2);

}  // namespace

std::span<const TacticDef> matmul_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
