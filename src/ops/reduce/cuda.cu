// CUDA tactics of Reduce. One tactic, "blocked", picks its kernel per run after merging X's dims
// into alternating kept / reduced groups (size-1 dims dropped):
//   reduced dims innermost ([rows, R])  one block per row (32 to 512 threads, sized by R) with a
//                                       warp-shuffle block reduction
//   anything else                       one thread per output walking its reduced sub-box; for
//                                       the common [O, R, I] layout adjacent threads read
//                                       adjacent elements, so the walk stays coalesced
// Floats accumulate in float (the CPU reference uses double); integer sum and prod wrap in
// 64 bits then truncate, as the reference does. max/min propagate NaN; log_sum_exp keeps a
// running (max, sum of exp(x - max)) pair.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/reduce/block_reduce.cuh"
#include "ops/reduce/reduce.h"

#include <string>
#include <type_traits>

namespace kiln::ops {

namespace {

constexpr int kMaxDims = Dims::kMaxDims;

// X's dims as kept and reduced groups (input strides, in elements).
struct Layout {
  int nkept = 0, nred = 0;
  int64_t kept_ext[kMaxDims], kept_stride[kMaxDims];
  int64_t red_ext[kMaxDims], red_stride[kMaxDims];
  int64_t out_numel = 1, R = 1;
};

Layout make_layout(const Dims& shape, const std::vector<bool>& reduced) {
  Layout l;
  int64_t stride = 1;
  int last = -1;  // kind of the group most recently added (0 kept, 1 reduced), walking inwards
  // Walk from the innermost dim outwards so strides are known; groups are built reversed.
  int64_t ext[2][kMaxDims], str[2][kMaxDims];
  int n[2] = {0, 0};
  for (int i = shape.rank() - 1; i >= 0; --i) {
    const int64_t e = shape[i];
    const int kind = reduced[i] ? 1 : 0;
    if (kind) {
      l.R *= e;
    } else {
      l.out_numel *= e;
    }
    if (e != 1) {
      if (kind == last) {
        ext[kind][n[kind] - 1] *= e;  // merge with the inner neighbour of the same kind
      } else {
        ext[kind][n[kind]] = e;
        str[kind][n[kind]++] = stride;
        last = kind;
      }
    }
    stride *= e;
  }
  // Reverse into outer-to-inner order.
  l.nkept = n[0];
  l.nred = n[1];
  for (int k = 0; k < n[0]; ++k) {
    l.kept_ext[k] = ext[0][n[0] - 1 - k];
    l.kept_stride[k] = str[0][n[0] - 1 - k];
  }
  for (int k = 0; k < n[1]; ++k) {
    l.red_ext[k] = ext[1][n[1] - 1 - k];
    l.red_stride[k] = str[1][n[1] - 1 - k];
  }
  return l;
}

// ---- reducers: Acc, identity, map (load), combine, finalize (store) ----

__device__ __forceinline__ float nan_max(float a, float b) {
  return a != a ? a : (b != b ? b : fmaxf(a, b));
}
__device__ __forceinline__ float nan_min(float a, float b) {
  return a != a ? a : (b != b ? b : fminf(a, b));
}

template <ReduceOp kOp, typename T>
struct FloatReducer {
  using Acc = std::conditional_t<kOp == ReduceOp::kLogSumExp, float2, float>;
  __device__ __forceinline__ static Acc identity() {
    if constexpr (kOp == ReduceOp::kLogSumExp) {
      return make_float2(-INFINITY, 0.f);
    } else if constexpr (kOp == ReduceOp::kMax) {
      return -INFINITY;
    } else if constexpr (kOp == ReduceOp::kMin) {
      return INFINITY;
    } else if constexpr (kOp == ReduceOp::kProd) {
      return 1.f;
    } else {
      return 0.f;
    }
  }
  __device__ __forceinline__ static Acc map(T v) {
    const float x = cuda::to_float(v);
    if constexpr (kOp == ReduceOp::kLogSumExp) {
      return make_float2(x, 1.f);
    } else if constexpr (kOp == ReduceOp::kSumSquare || kOp == ReduceOp::kL2) {
      return x * x;
    } else if constexpr (kOp == ReduceOp::kL1) {
      return fabsf(x);
    } else {
      return x;
    }
  }
  __device__ __forceinline__ Acc operator()(Acc a, Acc b) const {
    if constexpr (kOp == ReduceOp::kLogSumExp) {
      const float m = nan_max(a.x, b.x);
      if (!isfinite(m)) return make_float2(m, 0.f);  // finalize returns m itself
      return make_float2(m, a.y * expf(a.x - m) + b.y * expf(b.x - m));
    } else if constexpr (kOp == ReduceOp::kMax) {
      return nan_max(a, b);
    } else if constexpr (kOp == ReduceOp::kMin) {
      return nan_min(a, b);
    } else if constexpr (kOp == ReduceOp::kProd) {
      return a * b;
    } else {
      return a + b;
    }
  }
  __device__ __forceinline__ static T finalize(Acc a, int64_t R) {
    float v;
    if constexpr (kOp == ReduceOp::kLogSumExp) {
      v = isfinite(a.x) ? a.x + logf(a.y) : a.x;
    } else if constexpr (kOp == ReduceOp::kMean) {
      v = a / static_cast<float>(R);
    } else if constexpr (kOp == ReduceOp::kL2) {
      v = sqrtf(a);
    } else {
      v = a;
    }
    return cuda::from_float<T>(v);
  }
};

// Integer limits as plain constants (std::numeric_limits is host-only without relaxed constexpr).
template <typename T>
struct IntLimits;
template <>
struct IntLimits<int32_t> {
  static constexpr int64_t kLowest = -2147483647LL - 1, kMax = 2147483647LL;
};
template <>
struct IntLimits<int64_t> {
  static constexpr int64_t kLowest = -9223372036854775807LL - 1, kMax = 9223372036854775807LL;
};

template <ReduceOp kOp, typename T>
struct IntReducer {
  static constexpr bool kWrap = kOp == ReduceOp::kSum || kOp == ReduceOp::kProd;
  using Acc = std::conditional_t<kWrap, uint64_t, int64_t>;
  __device__ __forceinline__ static Acc identity() {
    if constexpr (kOp == ReduceOp::kProd) {
      return 1;
    } else if constexpr (kOp == ReduceOp::kMax) {
      return IntLimits<T>::kLowest;
    } else if constexpr (kOp == ReduceOp::kMin) {
      return IntLimits<T>::kMax;
    } else {
      return 0;
    }
  }
  __device__ __forceinline__ static Acc map(T v) {
    return static_cast<Acc>(static_cast<int64_t>(v));
  }
  __device__ __forceinline__ Acc operator()(Acc a, Acc b) const {
    if constexpr (kOp == ReduceOp::kProd) {
      return a * b;
    } else if constexpr (kOp == ReduceOp::kMax) {
      return a > b ? a : b;
    } else if constexpr (kOp == ReduceOp::kMin) {
      return a < b ? a : b;
    } else {
      return a + b;
    }
  }
  __device__ __forceinline__ static T finalize(Acc a, int64_t) { return static_cast<T>(a); }
};

// One block per row of R contiguous elements.
template <typename T, typename Red>
__global__ void reduce_rows(const T* x, T* y, int64_t rows, int64_t R) {
  using Acc = typename Red::Acc;
  __shared__ Acc scratch[32];
  const Red red{};
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {  // uniform per block
    const T* xr = x + r * R;
    Acc acc = Red::identity();
    for (int64_t j = threadIdx.x; j < R; j += blockDim.x) acc = red(acc, Red::map(xr[j]));
    acc = cuda::block_all_reduce(acc, red, Red::identity(), scratch);
    if (threadIdx.x == 0) y[r] = Red::finalize(acc, R);
  }
}

// One thread per output, walking the reduced sub-box.
template <typename T, typename Red>
__global__ void reduce_generic(const T* x, T* y, Layout l) {
  using Acc = typename Red::Acc;
  const Red red{};
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; q < l.out_numel;
       q += step) {
    int64_t base = 0;
    for (int64_t d = l.nkept - 1, rest = q; d >= 0; --d) {
      base += (rest % l.kept_ext[d]) * l.kept_stride[d];
      rest /= l.kept_ext[d];
    }
    Acc acc = Red::identity();
    if (l.nred == 0) {
      if (l.R > 0) acc = Red::map(x[base]);
    } else {
      int64_t idx[kMaxDims] = {};
      int64_t off = base;
      const int inner = l.nred - 1;
      for (int64_t r = 0; r < l.R; r += l.red_ext[inner]) {
        for (int64_t j = 0; j < l.red_ext[inner]; ++j) {
          acc = red(acc, Red::map(x[off + j * l.red_stride[inner]]));
        }
        // Advance the outer reduced dims (odometer).
        for (int d = inner - 1; d >= 0; --d) {
          if (++idx[d] < l.red_ext[d]) {
            off += l.red_stride[d];
            break;
          }
          off -= (l.red_ext[d] - 1) * l.red_stride[d];
          idx[d] = 0;
        }
      }
    }
    y[q] = Red::finalize(acc, l.R);
  }
}

template <typename T, typename Red>
Status launch_reducer(const Layout& l, const void* xv, void* yv, int sms, cudaStream_t s) {
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  const bool inner_rows = l.nred == 1 && l.red_stride[0] == 1;
  if (inner_rows) {
    const int threads = cuda::block_threads_for(l.R / 4, 512);
    const int64_t blocks = std::min<int64_t>(l.out_numel, static_cast<int64_t>(sms) * 64);
    reduce_rows<T, Red><<<static_cast<unsigned>(blocks), threads, 0, s>>>(x, y, l.out_numel, l.R);
    return cuda::check_launch("reduce_rows");
  }
  reduce_generic<T, Red><<<cuda::grid_size(l.out_numel, sms), cuda::kElementwiseThreads, 0, s>>>(
      x, y, l);
  return cuda::check_launch("reduce_generic");
}

template <typename H>
Status launch_float(ReduceOp op, const Layout& l, const void* x, void* y, int sms,
                    cudaStream_t s) {
  using T = typename cuda::DeviceElement<H>::type;
  switch (op) {
#define KILN_REDUCE_CASE(OP) \
  case OP: return launch_reducer<T, FloatReducer<OP, T>>(l, x, y, sms, s);
    KILN_REDUCE_CASE(ReduceOp::kSum)
    KILN_REDUCE_CASE(ReduceOp::kMean)
    KILN_REDUCE_CASE(ReduceOp::kMax)
    KILN_REDUCE_CASE(ReduceOp::kMin)
    KILN_REDUCE_CASE(ReduceOp::kProd)
    KILN_REDUCE_CASE(ReduceOp::kSumSquare)
    KILN_REDUCE_CASE(ReduceOp::kL1)
    KILN_REDUCE_CASE(ReduceOp::kL2)
    KILN_REDUCE_CASE(ReduceOp::kLogSumExp)
#undef KILN_REDUCE_CASE
  }
  return unsupported("Reduce CUDA kernel: unknown op");
}

template <typename T>
Status launch_int(ReduceOp op, const Layout& l, const void* x, void* y, int sms, cudaStream_t s) {
  switch (op) {
    case ReduceOp::kSum: return launch_reducer<T, IntReducer<ReduceOp::kSum, T>>(l, x, y, sms, s);
    case ReduceOp::kProd: return launch_reducer<T, IntReducer<ReduceOp::kProd, T>>(l, x, y, sms, s);
    case ReduceOp::kMax: return launch_reducer<T, IntReducer<ReduceOp::kMax, T>>(l, x, y, sms, s);
    case ReduceOp::kMin: return launch_reducer<T, IntReducer<ReduceOp::kMin, T>>(l, x, y, sms, s);
    default:
      return unsupported("Reduce CUDA kernel: op " + std::string(reduce_op_name(op)) +
                         " on integers");
  }
}

class ReduceCudaKernel final : public Kernel {
 public:
  ReduceCudaKernel(ReduceOp op, std::vector<bool> reduced, int sms)
      : op_(op), reduced_(std::move(reduced)), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (y.numel() == 0) return Status::ok();
    if (static_cast<int>(reduced_.size()) != x.shape.rank()) {
      return internal_error("Reduce CUDA kernel: X " + x.shape.to_string() +
                            " does not have the rank the kernel was built for");
    }
    const Layout l = make_layout(x.shape, reduced_);
    auto s = static_cast<cudaStream_t>(args.stream);
    switch (x.dtype) {
      case DataType::kFloat32: return launch_float<float>(op_, l, x.data, y.data, sms_, s);
      case DataType::kFloat16: return launch_float<Half>(op_, l, x.data, y.data, sms_, s);
      case DataType::kBFloat16: return launch_float<BFloat16>(op_, l, x.data, y.data, sms_, s);
      case DataType::kInt32: return launch_int<int32_t>(op_, l, x.data, y.data, sms_, s);
      case DataType::kInt64: return launch_int<int64_t>(op_, l, x.data, y.data, sms_, s);
      default:
        return unsupported("Reduce CUDA kernel: dtype " + std::string(dtype_name(x.dtype)));
    }
  }

 private:
  ReduceOp op_;
  std::vector<bool> reduced_;
  int sms_;
};

bool supports_blocked(const KernelInfo& info) {
  ReduceOp op;
  if (!parse_reduce_op(info.attrs().get_string("op"), &op)) return false;
  if (!reduce_axes(*info.graph, *info.node).is_ok()) return false;
  const DataType dt = info.input_dtype(0);
  if (is_floating(dt)) return true;
  return (dt == DataType::kInt32 || dt == DataType::kInt64) &&
         (op == ReduceOp::kSum || op == ReduceOp::kMax || op == ReduceOp::kMin ||
          op == ReduceOp::kProd);
}

Result<std::unique_ptr<Kernel>> create_blocked(const KernelInfo& info) {
  ReduceOp op;
  if (!parse_reduce_op(info.attrs().get_string("op"), &op)) {
    return invalid_argument("unknown reduce op '" + info.attrs().get_string("op") + "'");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<bool> reduced, reduce_axes(*info.graph, *info.node));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new ReduceCudaKernel(op, std::move(reduced), sms));
}

const TacticDef kCudaTactics[] = {
    {"blocked", TacticSource::kKilnCuda, supports_blocked, create_blocked},
};

}  // namespace

std::span<const TacticDef> reduce_cuda_tactics() { return kCudaTactics; }

}  // namespace kiln::ops
