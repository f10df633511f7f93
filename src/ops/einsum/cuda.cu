// CUDA tactics of Einsum.
//   cublas_gemm  (TacticSource::kCublas) two operands that form a (batched) matrix product up
//                to permutation (EinsumGemm in einsum.h: "bij,bjk->bik", "ij,kj->ik",
//                "bhqd,bhkd->bhqk", "ik,kj->ji", ...; every label one size, no broadcast, no
//                diagonal). Operands already laid out as [batch, m, k] / [batch, k, m] (A) and
//                [batch, k, n] / [batch, n, k] (B) are read in place with the matching transpose;
//                others are permuted into the workspace by the generic kernel below; one
//                cublasGemmStridedBatchedEx; C [batch, m, n] is permuted into the output unless
//                it already has its order. float32 (TF32 tensor cores only when the build allows
//                them), float16 and bfloat16 (float accumulation).
//   generic      (kKilnCuda) any equation of up to kMaxOperands operands and kMaxSummed summed
//                labels, every dtype of the op: one thread per output element walks the summed
//                labels with an odometer, reading each operand through per-label strides (a
//                repeated label adds its strides: the diagonal; a broadcast dim has stride 0).
//                Floats accumulate in float, integers in wrapping 64-bit arithmetic (as the
//                reference).
// The geometry is computed on the host at each run from the concrete shapes and passed by value
// (kernel parameter space): no allocation, no copies. Capturable (cuBLAS runs with a workspace
// from kiln's arena).
#include "backends/cuda/blas_types.h"
#include "backends/cuda/handles.h"
#include "backends/cuda/kernel_utils.cuh"
#include "ops/einsum/einsum.h"

#include <cublas_v2.h>

#include <climits>
#include <string>
#include <type_traits>

namespace kiln::ops {

namespace {

constexpr int kMaxOperands = 8;
constexpr int kMaxSummed = 12;
constexpr int kMaxOut = Dims::kMaxDims;

// One run of the generic kernel: output dims and summed dims, each operand's strides along them.
struct GenericParams {
  int num_ops = 0, out_rank = 0, sum_rank = 0;
  int64_t out_dims[kMaxOut] = {};
  int64_t sum_dims[kMaxSummed] = {};
  int64_t sum_count = 1;
  int64_t out_strides[kMaxOperands][kMaxOut] = {};
  int64_t sum_strides[kMaxOperands][kMaxSummed] = {};
  const void* ptr[kMaxOperands] = {};
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
__global__ void einsum_generic_kernel(T* y, int64_t out_count, GenericParams p) {
  using Acc = typename Accum<T>::type;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < out_count;
       o += step) {
    int64_t off[kMaxOperands];
    for (int i = 0; i < p.num_ops; ++i) off[i] = 0;
    for (int64_t d = p.out_rank - 1, rest = o; d >= 0; --d) {
      const int64_t idx = rest % p.out_dims[d];
      rest /= p.out_dims[d];
      for (int i = 0; i < p.num_ops; ++i) off[i] += idx * p.out_strides[i][d];
    }
    int64_t sidx[kMaxSummed];
    for (int d = 0; d < p.sum_rank; ++d) sidx[d] = 0;
    Acc acc = 0;
    for (int64_t s = 0; s < p.sum_count; ++s) {
      Acc prod = 1;
      for (int i = 0; i < p.num_ops; ++i) prod *= load_acc(static_cast<const T*>(p.ptr[i])[off[i]]);
      acc += prod;
      // Next summed index (the last summed label runs fastest).
      for (int d = p.sum_rank - 1; d >= 0; --d) {
        if (++sidx[d] < p.sum_dims[d]) {
          for (int i = 0; i < p.num_ops; ++i) off[i] += p.sum_strides[i][d];
          break;
        }
        for (int i = 0; i < p.num_ops; ++i) off[i] -= (p.sum_dims[d] - 1) * p.sum_strides[i][d];
        sidx[d] = 0;
      }
    }
    y[o] = store_acc<T>(acc);
  }
}

// What the labels outside the output do.
enum class Rest { kSum, kIgnore };

// Parameters for output labels `out` (in output order) and operands with per-label strides
// `strides[i]`. With Rest::kSum every other label (but those of size 1) is summed over: an
// einsum. With Rest::kIgnore they are left out: a permuting copy of one operand whose labels are
// all in `out`.
Status make_generic_params(const std::vector<int>& out, const std::vector<int64_t>& size,
                           const std::vector<std::vector<int64_t>>& strides,
                           const std::vector<const void*>& ptrs, Rest rest, GenericParams* p) {
  if (strides.size() > static_cast<size_t>(kMaxOperands) || out.size() > kMaxOut) {
    return unsupported("Einsum generic: more than " + std::to_string(kMaxOperands) +
                       " operands or " + std::to_string(kMaxOut) + " output dims");
  }
  *p = GenericParams{};
  p->num_ops = static_cast<int>(strides.size());
  std::vector<bool> in_out(size.size(), false);
  for (int l : out) {
    in_out[l] = true;
    const int d = p->out_rank++;
    p->out_dims[d] = size[l];
    for (int i = 0; i < p->num_ops; ++i) p->out_strides[i][d] = strides[i][l];
  }
  for (size_t l = 0; l < size.size(); ++l) {
    // A label of size 1 sums one term; one of size 0 makes every sum empty, so it stays.
    if (in_out[l] || rest == Rest::kIgnore || size[l] == 1) continue;
    if (p->sum_rank == kMaxSummed) {
      return unsupported("Einsum generic: more than " + std::to_string(kMaxSummed) +
                         " summed labels");
    }
    const int d = p->sum_rank++;
    p->sum_dims[d] = size[l];
    p->sum_count *= size[l];
    for (int i = 0; i < p->num_ops; ++i) p->sum_strides[i][d] = strides[i][l];
  }
  for (int i = 0; i < p->num_ops; ++i) p->ptr[i] = ptrs[i];
  return Status::ok();
}

Status launch_generic(DataType dt, void* y, int64_t out_count, const GenericParams& p, int sms,
                      cudaStream_t stream) {
  if (out_count == 0) return Status::ok();
  const unsigned grid = cuda::grid_size(out_count, sms);
  constexpr int kThreads = cuda::kElementwiseThreads;
  switch (dt) {
    case DataType::kFloat32:
      einsum_generic_kernel<float>
          <<<grid, kThreads, 0, stream>>>(static_cast<float*>(y), out_count, p);
      break;
    case DataType::kFloat16:
      einsum_generic_kernel<__half>
          <<<grid, kThreads, 0, stream>>>(static_cast<__half*>(y), out_count, p);
      break;
    case DataType::kBFloat16:
      einsum_generic_kernel<__nv_bfloat16>
          <<<grid, kThreads, 0, stream>>>(static_cast<__nv_bfloat16*>(y), out_count, p);
      break;
    case DataType::kInt32:
      einsum_generic_kernel<int32_t>
          <<<grid, kThreads, 0, stream>>>(static_cast<int32_t*>(y), out_count, p);
      break;
    case DataType::kInt64:
      einsum_generic_kernel<int64_t>
          <<<grid, kThreads, 0, stream>>>(static_cast<int64_t*>(y), out_count, p);
      break;
    default:
      return unsupported("Einsum CUDA kernel: dtype " + std::string(dtype_name(dt)));
  }
  return cuda::check_launch("einsum_generic_kernel");
}

bool is_einsum_dtype(DataType t) {
  return is_floating(t) || t == DataType::kInt32 || t == DataType::kInt64;
}

// Summed labels of an equation (labels not in the output), an upper bound of what a run sums.
int summed_labels(const EinsumSpec& spec) {
  std::vector<bool> in_out(spec.num_labels, false);
  for (int l : spec.output) in_out[l] = true;
  int n = 0;
  for (int l = 0; l < spec.num_labels; ++l) n += in_out[l] ? 0 : 1;
  return n;
}

// ---------------------------------------------------------------- generic

class GenericCudaKernel final : public Kernel {
 public:
  GenericCudaKernel(EinsumSpec spec, int sms) : spec_(std::move(spec)), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    std::vector<int64_t> size;
    KILN_RETURN_IF_ERROR(einsum_label_sizes(spec_, args.inputs, &size));
    std::vector<std::vector<int64_t>> strides;
    std::vector<const void*> ptrs;
    for (size_t i = 0; i < args.inputs.size(); ++i) {
      if (args.inputs[i].dtype != args.outputs[0].dtype) {
        return invalid_argument("Einsum CUDA kernel: input " + std::to_string(i) +
                                " has another dtype than the output");
      }
      strides.push_back(einsum_label_strides(spec_, i, args.inputs[i].shape));
      ptrs.push_back(args.inputs[i].data);
    }
    GenericParams p;
    KILN_RETURN_IF_ERROR(make_generic_params(spec_.output, size, strides, ptrs, Rest::kSum, &p));
    return launch_generic(args.outputs[0].dtype, args.outputs[0].data, args.outputs[0].numel(), p,
                          sms_, static_cast<cudaStream_t>(args.stream));
  }

 private:
  EinsumSpec spec_;
  int sms_;
};

bool supports_generic(const KernelInfo& info) {
  if (info.num_inputs() > kMaxOperands || !is_einsum_dtype(info.input_dtype(0))) return false;
  auto spec = einsum_spec(info);
  return spec.is_ok() && summed_labels(*spec) <= kMaxSummed;
}

Result<std::unique_ptr<Kernel>> create_generic(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(EinsumSpec spec, einsum_spec(info));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new GenericCudaKernel(std::move(spec), sms));
}

// ---------------------------------------------------------------- cuBLAS

constexpr size_t kAlign = 256;

size_t align_up(size_t v) {
  return (v + kAlign - 1) / kAlign * kAlign;
}

// Workspace layout of one run: cuBLAS's workspace, then the permuted A, B and C (when copied).
struct GemmWorkspace {
  size_t a = 0, b = 0, c = 0, total = 0;  // byte offsets, and the total
};

GemmWorkspace gemm_workspace(const EinsumGemm& plan, size_t cublas_bytes, size_t element,
                             int64_t a_count, int64_t b_count, int64_t c_count) {
  GemmWorkspace w;
  size_t at = align_up(cublas_bytes);
  auto take = [&](bool used, int64_t count) {
    const size_t off = at;
    if (used) at += align_up(static_cast<size_t>(count) * element);
    return off;
  };
  w.a = take(plan.a_copy, a_count);
  w.b = take(plan.b_copy, b_count);
  w.c = take(plan.c_copy, c_count);
  w.total = at;
  return w;
}

int64_t product(const std::vector<int>& labels, const std::vector<int64_t>& size) {
  int64_t p = 1;
  for (int l : labels) p *= size[l];
  return p;
}

class CublasEinsumKernel final : public Kernel {
 public:
  CublasEinsumKernel(EinsumGemm plan, DataType dt, bool tf32, size_t cublas_bytes, int sms)
      : plan_(std::move(plan)), dt_(dt), tf32_(tf32), cublas_bytes_(cublas_bytes), sms_(sms) {}

  size_t workspace_size(const NodeShapes& shapes) const override {
    return gemm_workspace(plan_, cublas_bytes_, dtype_size(dt_), shapes.inputs[0].volume(),
                          shapes.inputs[1].volume(), shapes.outputs[0].volume())
        .total;
  }

  Status execute(const ExecArgs& args) const override {
    const EinsumSpec& spec = plan_.spec;
    const TensorView& a = args.inputs[0];
    const TensorView& b = args.inputs[1];
    const TensorView& y = args.outputs[0];
    const DataType dt = dt_;
    if (a.dtype != dt || b.dtype != dt || y.dtype != dt) {
      return invalid_argument("Einsum cuBLAS: operands and output must share a float dtype");
    }
    std::vector<int64_t> size;
    KILN_RETURN_IF_ERROR(einsum_label_sizes(spec, args.inputs, &size));
    for (size_t i = 0; i < 2; ++i) {
      const Dims& d = args.inputs[i].shape;
      for (int j = 0; j < d.rank(); ++j) {
        if (d[j] != size[spec.inputs[i][j]]) {
          return unsupported("Einsum cuBLAS: input " + std::to_string(i) + " " + d.to_string() +
                             " broadcasts a label");
        }
      }
    }
    const int64_t batch = product(plan_.batch, size), m = product(plan_.m, size),
                  n = product(plan_.n, size), k = product(plan_.k, size);
    auto stream = static_cast<cudaStream_t>(args.stream);
    if (y.numel() == 0) return Status::ok();
    if (k == 0) {  // empty sums
      KILN_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(y.data, 0, y.nbytes(), stream));
      return Status::ok();
    }
    if (m > INT_MAX || n > INT_MAX || k > INT_MAX || batch > INT_MAX) {
      return unsupported("Einsum cuBLAS: a matrix extent exceeds int");
    }
    const size_t es = dtype_size(dt);
    const GemmWorkspace w =
        gemm_workspace(plan_, cublas_bytes_, es, a.numel(), b.numel(), y.numel());
    if (args.workspace_size < w.total || (w.total > 0 && args.workspace == nullptr)) {
      return resource_exhausted("Einsum cuBLAS: workspace of " +
                                std::to_string(args.workspace_size) + " bytes, needs " +
                                std::to_string(w.total));
    }
    char* ws = static_cast<char*>(args.workspace);
    const void* ap = a.data;
    const void* bp = b.data;
    if (plan_.a_copy) {
      KILN_RETURN_IF_ERROR(permute(0, a, plan_.a_order(), size, ws + w.a, stream));
      ap = ws + w.a;
    }
    if (plan_.b_copy) {
      KILN_RETURN_IF_ERROR(permute(1, b, plan_.b_order(), size, ws + w.b, stream));
      bp = ws + w.b;
    }
    void* cp = plan_.c_copy ? ws + w.c : y.data;

    KILN_ASSIGN_OR_RETURN(auto lease, cuda::acquire_cublas());
    cublasHandle_t h = lease.get();
    // cublasSetStream resets the workspace to cuBLAS's own pool, so set the workspace after it:
    // cuBLAS then allocates nothing (capturable).
    KILN_CUDA_RETURN_IF_ERROR(cublasSetStream(h, stream));
    KILN_CUDA_RETURN_IF_ERROR(cublasSetWorkspace(h, cublas_bytes_ ? ws : nullptr, cublas_bytes_));
    KILN_CUDA_RETURN_IF_ERROR(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));
    // Row-major C[m, n] = A[m, k] * B[k, n] is column-major C^T = B^T * A^T: cuBLAS's first
    // operand is B (n x k), its second A (k x m).
    const cudaDataType_t t = cuda::blas_data_type(dt);
    const cublasComputeType_t compute = cuda::blas_compute_type(dt, tf32_);
    const int ldb = static_cast<int>(plan_.b_trans ? k : n);
    const int lda = static_cast<int>(plan_.a_trans ? m : k);
    const float alpha = 1.f, beta = 0.f;
    KILN_CUDA_RETURN_IF_ERROR(cublasGemmStridedBatchedEx(
        h, plan_.b_trans ? CUBLAS_OP_T : CUBLAS_OP_N, plan_.a_trans ? CUBLAS_OP_T : CUBLAS_OP_N,
        static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, bp, t, ldb, k * n,
        ap, t, lda, m * k, &beta, cp, t, static_cast<int>(n), m * n, static_cast<int>(batch),
        compute, CUBLAS_GEMM_DEFAULT));
    if (!plan_.c_copy) return Status::ok();
    // C is [batch, m, n]: read it in the output's label order.
    const std::vector<int> c_labels = plan_.c_order();
    std::vector<int64_t> cst(spec.num_labels, 0);
    for (int64_t j = static_cast<int64_t>(c_labels.size()) - 1, s = 1; j >= 0; --j) {
      cst[c_labels[j]] = s;
      s *= size[c_labels[j]];
    }
    GenericParams p;
    KILN_RETURN_IF_ERROR(make_generic_params(spec.output, size, {cst}, {cp}, Rest::kIgnore, &p));
    return launch_generic(dt, y.data, y.numel(), p, sms_, stream);
  }

 private:
  // Copies operand i into `dst`, laid out over the labels `order`.
  Status permute(size_t i, const TensorView& t, const std::vector<int>& order,
                 const std::vector<int64_t>& size, void* dst, cudaStream_t stream) const {
    GenericParams p;
    KILN_RETURN_IF_ERROR(make_generic_params(
        order, size, {einsum_label_strides(plan_.spec, i, t.shape)}, {t.data}, Rest::kIgnore, &p));
    return launch_generic(t.dtype, dst, t.numel(), p, sms_, stream);
  }

  EinsumGemm plan_;
  DataType dt_;
  bool tf32_;
  size_t cublas_bytes_;
  int sms_;
};

bool supports_cublas(const KernelInfo& info) {
  const DataType dt = info.input_dtype(0);
  if (info.num_inputs() != 2 || !is_floating(dt) || info.input_dtype(1) != dt ||
      info.output_dtype(0) != dt) {
    return false;
  }
  auto plan = einsum_gemm(info);
  if (!plan.is_ok()) return false;
  // cuBLAS takes int extents; the permutes run on the generic kernel (labels of one operand).
  for (const NodeShapes* s : {&info.min, &info.opt, &info.max}) {
    if (s->inputs.size() < 2) return false;
    for (const Dims& d : s->inputs) {
      if (d.volume() > INT_MAX) return false;
    }
  }
  return true;
}

Result<std::unique_ptr<Kernel>> create_cublas(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(EinsumGemm plan, einsum_gemm(info));
  int device = 0, major = 0;
  KILN_CUDA_RETURN_IF_ERROR(cudaGetDevice(&device));
  KILN_CUDA_RETURN_IF_ERROR(
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  // cuBLAS's recommended workspace: 32 MiB on Hopper and later, 4 MiB before.
  const size_t cublas_bytes = major >= 9 ? (size_t{32} << 20) : (size_t{4} << 20);
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new CublasEinsumKernel(std::move(plan), info.input_dtype(0),
                                                        info.allow_tf32(), cublas_bytes, sms));
}

const TacticDef kCudaTactics[] = {
    {"cublas_gemm", TacticSource::kCublas, kFloatDtypes, supports_cublas, create_cublas},
    {"generic", TacticSource::kKilnCuda,
     kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64}, supports_generic, create_generic},
};

}  // namespace

std::span<const TacticDef> einsum_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
