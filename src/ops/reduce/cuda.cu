// CUDA tactics of Reduce. One tactic, "blocked", picks its kernel per run after merging X's dims
// into alternating kept / reduced groups (size-1 dims dropped):
//   reduced dims innermost ([rows, R])  one block per row (32 to 512 threads, sized by R) with a
//                                       warp-shuffle block reduction
//   anything else                       one thread per output walking its reduced sub-box; for
//                                       the common [O, R, I] layout adjacent threads read
//                                       adjacent elements, so the walk stays coalesced
// Few outputs over many elements (a full reduction, a column sum of a tall matrix) would leave
// the GPU idle, so the reduction is split: chunks of a row (or of the outermost reduced dim)
// reduce in parallel into partials in the workspace, and a second kernel combines them.
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

// ---- plans ----

// When few outputs reduce many elements each, every output's reduction is cut into `chunks`
// pieces reduced in parallel into per-chunk partials (workspace), then combined:
//   rows path     a row's R elements in chunks of `chunk_len`
//   generic path  the outermost reduced dim in chunks of `chunk_len` indices
struct Plan {
  bool rows = false;  // reduced dims innermost ([rows, R])
  int64_t chunks = 1, chunk_len = 0;
};

constexpr size_t kPartialBytes = 8;  // every Acc (float, float2, int64, uint64) fits in 8 bytes

Plan make_plan(const Layout& l, int sms) {
  Plan p;
  p.rows = l.nred == 1 && l.red_stride[0] == 1;
  if (l.out_numel == 0 || l.R == 0) return p;
  const int64_t s = std::max(sms, 1);
  if (p.rows) {
    if (l.out_numel >= 2 * s || l.R < (int64_t{1} << 15)) return p;
    const int64_t want = std::max<int64_t>(1, (4 * s + l.out_numel - 1) / l.out_numel);
    p.chunks = std::min(want, (l.R + 8191) / 8192);
    p.chunk_len = (l.R + p.chunks - 1) / p.chunks;
    p.chunks = (l.R + p.chunk_len - 1) / p.chunk_len;
  } else {
    if (l.nred == 0 || l.out_numel >= s * 512 || l.red_ext[0] < 16) return p;
    const int64_t want = std::max<int64_t>(1, (s * 2048 + l.out_numel - 1) / l.out_numel);
    p.chunks = std::min(want, l.red_ext[0]);
    p.chunk_len = (l.red_ext[0] + p.chunks - 1) / p.chunks;
    p.chunks = (l.red_ext[0] + p.chunk_len - 1) / p.chunk_len;
  }
  return p;
}

size_t plan_workspace(const Layout& l, const Plan& p) {
  return p.chunks > 1 ? static_cast<size_t>(l.out_numel * p.chunks) * kPartialBytes : 0;
}

// ---- kernels ----

// Blocks reduce [begin, end) of row r of R contiguous elements; chunk c of a row covers
// [c * chunk_len, (c + 1) * chunk_len). Unsplit: one chunk of R. Writes the row's value (one
// chunk) or the chunk's partial.
template <typename T, typename Red>
__global__ void reduce_rows(const T* x, T* y, typename Red::Acc* partial, int64_t rows, int64_t R,
                            int64_t chunks, int64_t chunk_len) {
  using Acc = typename Red::Acc;
  __shared__ Acc scratch[32];
  const Red red{};
  const int64_t items = rows * chunks;
  for (int64_t it = blockIdx.x; it < items; it += gridDim.x) {  // uniform per block
    const int64_t r = it / chunks, c = it % chunks;
    const int64_t begin = c * chunk_len, end = min(R, begin + chunk_len);
    const T* xr = x + r * R;
    Acc acc = Red::identity();
    for (int64_t j = begin + threadIdx.x; j < end; j += blockDim.x) acc = red(acc, Red::map(xr[j]));
    acc = cuda::block_all_reduce(acc, red, Red::identity(), scratch);
    if (threadIdx.x == 0) {
      if (chunks == 1) {
        y[r] = Red::finalize(acc, R);
      } else {
        partial[it] = acc;
      }
    }
  }
}

// One block per row combines the row's `chunks` partials.
template <typename T, typename Red>
__global__ void reduce_row_partials(const typename Red::Acc* partial, T* y, int64_t rows,
                                    int64_t chunks, int64_t R) {
  using Acc = typename Red::Acc;
  __shared__ Acc scratch[32];
  const Red red{};
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    Acc acc = Red::identity();
    for (int64_t c = threadIdx.x; c < chunks; c += blockDim.x)
      acc = red(acc, partial[r * chunks + c]);
    acc = cuda::block_all_reduce(acc, red, Red::identity(), scratch);
    if (threadIdx.x == 0) y[r] = Red::finalize(acc, R);
  }
}

// Accumulates the reduced sub-box at `base` with the outermost reduced dim limited to
// [b0, e0) (the other reduced dims in full).
template <typename T, typename Red>
__device__ __forceinline__ typename Red::Acc walk(const T* x, int64_t base, const Layout& l,
                                                  int64_t b0, int64_t e0, const Red& red,
                                                  typename Red::Acc acc) {
  if (l.nred == 1) {
    for (int64_t i0 = b0; i0 < e0; ++i0) acc = red(acc, Red::map(x[base + i0 * l.red_stride[0]]));
    return acc;
  }
  const int inner = l.nred - 1;
  int64_t runs = 1;  // runs of the innermost reduced dim per index of the outermost
  for (int d = 1; d < inner; ++d) runs *= l.red_ext[d];
  for (int64_t i0 = b0; i0 < e0; ++i0) {
    int64_t idx[kMaxDims] = {};
    int64_t off = base + i0 * l.red_stride[0];
    for (int64_t r = 0; r < runs; ++r) {
      for (int64_t j = 0; j < l.red_ext[inner]; ++j) {
        acc = red(acc, Red::map(x[off + j * l.red_stride[inner]]));
      }
      for (int d = inner - 1; d >= 1; --d) {  // odometer over the middle reduced dims
        if (++idx[d] < l.red_ext[d]) {
          off += l.red_stride[d];
          break;
        }
        off -= (l.red_ext[d] - 1) * l.red_stride[d];
        idx[d] = 0;
      }
    }
  }
  return acc;
}

// One thread per (chunk, output): chunk c covers indices [c * chunk_len, (c + 1) * chunk_len)
// of the outermost reduced dim. Unsplit (one chunk): writes the output.
template <typename T, typename Red>
__global__ void reduce_generic(const T* x, T* y, typename Red::Acc* partial, Layout l,
                               int64_t chunks, int64_t chunk_len) {
  using Acc = typename Red::Acc;
  const Red red{};
  const int64_t items = l.out_numel * chunks;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t it = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; it < items;
       it += step) {
    const int64_t q = it % l.out_numel, c = it / l.out_numel;
    int64_t base = 0;
    for (int64_t d = l.nkept - 1, rest = q; d >= 0; --d) {
      base += (rest % l.kept_ext[d]) * l.kept_stride[d];
      rest /= l.kept_ext[d];
    }
    Acc acc = Red::identity();
    if (l.nred == 0) {
      acc = Red::map(x[base]);
    } else {
      const int64_t b0 = c * chunk_len;
      const int64_t e0 = chunks == 1 ? l.red_ext[0] : min(l.red_ext[0], b0 + chunk_len);
      acc = walk<T, Red>(x, base, l, b0, e0, red, acc);
    }
    if (chunks == 1) {
      y[q] = Red::finalize(acc, l.R);
    } else {
      partial[it] = acc;  // [chunk][output]: coalesced across outputs
    }
  }
}

// One thread per output combines its `chunks` partials ([chunk][output] layout).
template <typename T, typename Red>
__global__ void reduce_generic_partials(const typename Red::Acc* partial, T* y, int64_t outputs,
                                        int64_t chunks, int64_t R) {
  using Acc = typename Red::Acc;
  const Red red{};
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; q < outputs;
       q += step) {
    Acc acc = Red::identity();
    for (int64_t c = 0; c < chunks; ++c) acc = red(acc, partial[c * outputs + q]);
    y[q] = Red::finalize(acc, R);
  }
}

template <typename T, typename Red>
Status launch_reducer(const Layout& l, Plan plan, const void* xv, void* yv, void* workspace,
                      int sms, cudaStream_t s) {
  using Acc = typename Red::Acc;
  static_assert(sizeof(Acc) <= kPartialBytes);
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  Acc* partial = static_cast<Acc*>(workspace);
  const int64_t max_blocks = static_cast<int64_t>(sms) * 64;
  if (plan.rows) {
    const int64_t chunks = plan.chunks > 1 ? plan.chunks : 1;
    const int64_t len = plan.chunks > 1 ? plan.chunk_len : l.R;
    const int threads = cuda::block_threads_for(len / 4, 512);
    const int64_t blocks = std::min<int64_t>(l.out_numel * chunks, max_blocks);
    reduce_rows<T, Red><<<static_cast<unsigned>(blocks), threads, 0, s>>>(
        x, y, partial, l.out_numel, l.R, chunks, len);
    KILN_RETURN_IF_ERROR(cuda::check_launch("reduce_rows"));
    if (chunks == 1) return Status::ok();
    const int t2 = cuda::block_threads_for(chunks, 256);
    reduce_row_partials<T, Red>
        <<<static_cast<unsigned>(std::min(l.out_numel, max_blocks)), t2, 0, s>>>(
            partial, y, l.out_numel, chunks, l.R);
    return cuda::check_launch("reduce_row_partials");
  }
  const int64_t chunks = plan.chunks > 1 ? plan.chunks : 1;
  reduce_generic<T, Red>
      <<<cuda::grid_size(l.out_numel * chunks, sms), cuda::kElementwiseThreads, 0, s>>>(
          x, y, partial, l, chunks, plan.chunk_len);
  KILN_RETURN_IF_ERROR(cuda::check_launch("reduce_generic"));
  if (chunks == 1) return Status::ok();
  reduce_generic_partials<T, Red>
      <<<cuda::grid_size(l.out_numel, sms), cuda::kElementwiseThreads, 0, s>>>(
          partial, y, l.out_numel, chunks, l.R);
  return cuda::check_launch("reduce_generic_partials");
}

template <typename H>
Status launch_float(ReduceOp op, const Layout& l, const Plan& p, const void* x, void* y, void* ws,
                    int sms, cudaStream_t s) {
  using T = typename cuda::DeviceElement<H>::type;
  switch (op) {
#define KILN_REDUCE_CASE(OP) \
  case OP:                   \
    return launch_reducer<T, FloatReducer<OP, T>>(l, p, x, y, ws, sms, s);
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
Status launch_int(ReduceOp op, const Layout& l, const Plan& p, const void* x, void* y, void* ws,
                  int sms, cudaStream_t s) {
  switch (op) {
    case ReduceOp::kSum:
      return launch_reducer<T, IntReducer<ReduceOp::kSum, T>>(l, p, x, y, ws, sms, s);
    case ReduceOp::kProd:
      return launch_reducer<T, IntReducer<ReduceOp::kProd, T>>(l, p, x, y, ws, sms, s);
    case ReduceOp::kMax:
      return launch_reducer<T, IntReducer<ReduceOp::kMax, T>>(l, p, x, y, ws, sms, s);
    case ReduceOp::kMin:
      return launch_reducer<T, IntReducer<ReduceOp::kMin, T>>(l, p, x, y, ws, sms, s);
    default:
      return unsupported("Reduce CUDA kernel: op " + std::string(reduce_op_name(op)) +
                         " on integers");
  }
}

class ReduceCudaKernel final : public Kernel {
 public:
  ReduceCudaKernel(ReduceOp op, std::vector<bool> reduced, int sms)
      : op_(op), reduced_(std::move(reduced)), sms_(sms) {}

  size_t workspace_size(const NodeShapes& shapes) const override {
    if (shapes.inputs.empty() || static_cast<int>(reduced_.size()) != shapes.inputs[0].rank()) {
      return 0;
    }
    const Layout l = make_layout(shapes.inputs[0], reduced_);
    return plan_workspace(l, make_plan(l, sms_));
  }

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (y.numel() == 0) return Status::ok();
    if (static_cast<int>(reduced_.size()) != x.shape.rank()) {
      return internal_error("Reduce CUDA kernel: X " + x.shape.to_string() +
                            " does not have the rank the kernel was built for");
    }
    const Layout l = make_layout(x.shape, reduced_);
    Plan p = make_plan(l, sms_);
    // A smaller workspace than this shape's split needs (a plan sized at other shapes of the
    // profile): run unsplit, which needs none.
    if (args.workspace_size < plan_workspace(l, p) || args.workspace == nullptr) p.chunks = 1;
    void* ws = args.workspace;
    auto s = static_cast<cudaStream_t>(args.stream);
    switch (x.dtype) {
      case DataType::kFloat32:
        return launch_float<float>(op_, l, p, x.data, y.data, ws, sms_, s);
      case DataType::kFloat16:
        return launch_float<Half>(op_, l, p, x.data, y.data, ws, sms_, s);
      case DataType::kBFloat16:
        return launch_float<BFloat16>(op_, l, p, x.data, y.data, ws, sms_, s);
      case DataType::kInt32:
        return launch_int<int32_t>(op_, l, p, x.data, y.data, ws, sms_, s);
      case DataType::kInt64:
        return launch_int<int64_t>(op_, l, p, x.data, y.data, ws, sms_, s);
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
    {"blocked", TacticSource::kKilnCuda,
     kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64}, supports_blocked, create_blocked},
};

}  // namespace

std::span<const TacticDef> reduce_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
