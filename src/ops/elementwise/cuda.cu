// CUDA tactics of ElementWise: "broadcast". Host side (shapes only, at execute) picks one of:
//   same shape    both operands cover the output: a flat kernel, with 16-byte vector loads and
//                 stores for arithmetic ops when every buffer is 16-byte aligned;
//   scalar        one operand is a single element: the same flat kernel with stride 0;
//   broadcast     dims collapsed to the fewest runs with one broadcast pattern, then one thread
//                 per output element maps its index to the operands' offsets (32-bit index math
//                 when the output has fewer than 2^31 elements).
// Semantics are the CPU reference's: float16/bfloat16 computed in float, integer overflow wraps,
// integer division or mod by zero gives 0, min/max propagate NaN, bool inputs are read as
// x != 0. Every dtype the op accepts. Capturable: no allocation, no synchronization.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/elementwise/elementwise.h"

#include <math_constants.h>

#include <cstdint>
#include <string>
#include <type_traits>

namespace kiln::ops {

namespace {

// ---- scalar semantics on the device; C is float for the float types, else the integer type.

template <typename C>
constexpr bool kFloatCompute = std::is_floating_point_v<C>;

template <typename C>
__device__ __forceinline__ C wrap(uint64_t v) {
  return static_cast<C>(v);
}
template <typename C>
__device__ __forceinline__ uint64_t u(C v) {
  return static_cast<uint64_t>(static_cast<int64_t>(v));
}

template <typename C>
__device__ __forceinline__ C int_pow(C a, C b) {
  if constexpr (std::is_signed_v<C>) {
    if (b < 0) {  // truncation of 1 / a^-b
      if (a == 1) return 1;
      if (a == -1) return (b % 2 == 0) ? 1 : -1;
      return 0;
    }
  }
  uint64_t result = 1, base = u(a);
  for (uint64_t e = static_cast<uint64_t>(b); e != 0; e >>= 1) {
    if (e & 1) result *= base;
    base *= base;
  }
  return wrap<C>(result);
}

template <typename C>
__device__ __forceinline__ C arith(ElementWiseOp op, bool fmod_mode, C a, C b) {
  if constexpr (kFloatCompute<C>) {
    switch (op) {
      case ElementWiseOp::kSum:
        return a + b;
      case ElementWiseOp::kSub:
        return a - b;
      case ElementWiseOp::kProd:
        return a * b;
      case ElementWiseOp::kDiv:
        return a / b;
      case ElementWiseOp::kMin:
        return (isnan(a) || isnan(b)) ? CUDART_NAN_F : (b < a ? b : a);
      case ElementWiseOp::kMax:
        return (isnan(a) || isnan(b)) ? CUDART_NAN_F : (a < b ? b : a);
      case ElementWiseOp::kPow:
        return powf(a, b);
      case ElementWiseOp::kMod: {
        C r = fmodf(a, b);
        if (!fmod_mode && r != 0 && ((r < 0) != (b < 0))) r += b;
        return r;
      }
      default:
        return C{};
    }
  } else {
    switch (op) {
      case ElementWiseOp::kSum:
        return wrap<C>(u(a) + u(b));
      case ElementWiseOp::kSub:
        return wrap<C>(u(a) - u(b));
      case ElementWiseOp::kProd:
        return wrap<C>(u(a) * u(b));
      case ElementWiseOp::kDiv:
        if (b == 0) return 0;
        if constexpr (std::is_signed_v<C>) {
          if (b == -1) return wrap<C>(0 - u(a));  // INT_MIN / -1 overflows
        }
        return static_cast<C>(a / b);
      case ElementWiseOp::kMin:
        return b < a ? b : a;
      case ElementWiseOp::kMax:
        return a < b ? b : a;
      case ElementWiseOp::kPow:
        return int_pow(a, b);
      case ElementWiseOp::kMod: {
        if (b == 0) return 0;
        if constexpr (std::is_signed_v<C>) {
          if (b == -1) return 0;  // INT_MIN % -1 overflows
        }
        C r = static_cast<C>(a % b);
        if constexpr (std::is_signed_v<C>) {
          if (!fmod_mode && r != 0 && ((r < 0) != (b < 0))) r = static_cast<C>(r + b);
        }
        return r;
      }
      default:
        return C{};
    }
  }
}

template <typename C>
__device__ __forceinline__ bool predicate(ElementWiseOp op, C a, C b) {
  switch (op) {
    case ElementWiseOp::kEqual:
      return a == b;
    case ElementWiseOp::kLess:
      return a < b;
    case ElementWiseOp::kGreater:
      return a > b;
    case ElementWiseOp::kLessEqual:
      return a <= b;
    case ElementWiseOp::kGreaterEqual:
      return a >= b;
    case ElementWiseOp::kAnd:
      return a && b;
    case ElementWiseOp::kOr:
      return a || b;
    case ElementWiseOp::kXor:
      return a != b;
    default:
      return false;
  }
}

struct Params {
  ElementWiseOp op;
  bool fmod;
  bool boolean;    // bool inputs: read as x != 0
  bool predicate;  // comparison or logic: the output is bool (uint8)
};

template <typename T>
using ComputeOf =
    std::conditional_t<std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>, float, T>;

template <typename T>
__device__ __forceinline__ ComputeOf<T> load(T v) {
  if constexpr (std::is_same_v<ComputeOf<T>, float>) {
    return cuda::to_float(v);
  } else {
    return v;
  }
}
template <typename T>
__device__ __forceinline__ T store(ComputeOf<T> v) {
  if constexpr (std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>) {
    return cuda::from_float<T>(v);
  } else {
    return v;
  }
}

// One output element: y[i] = a op b (y is T for arithmetic ops, uint8 for predicates).
template <typename T>
__device__ __forceinline__ void compute_one(const Params& p, T a, T b, void* y, int64_t i) {
  using C = ComputeOf<T>;
  C ca = load(a), cb = load(b);
  if (p.boolean) {
    ca = ca != 0;
    cb = cb != 0;
  }
  if (p.predicate) {
    static_cast<uint8_t*>(y)[i] = predicate(p.op, ca, cb) ? 1 : 0;
  } else {
    static_cast<T*>(y)[i] = store<T>(arith(p.op, p.fmod, ca, cb));
  }
}

// Same shape, arithmetic, every buffer 16-byte aligned: kVec elements per access.
template <typename T, int kVec>
__global__ void elementwise_vector_kernel(const T* a, const T* b, T* y, int64_t n, Params p) {
  using V = cuda::AlignedVector<T, kVec>;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t nvec = n / kVec;
  for (int64_t i = tid; i < nvec; i += stride) {
    V va = reinterpret_cast<const V*>(a)[i];
    V vb = reinterpret_cast<const V*>(b)[i];
    V vy;
#pragma unroll
    for (int k = 0; k < kVec; ++k) {
      vy.val[k] = store<T>(arith(p.op, p.fmod, load(va.val[k]), load(vb.val[k])));
    }
    reinterpret_cast<V*>(y)[i] = vy;
  }
  for (int64_t i = nvec * kVec + tid; i < n; i += stride) compute_one(p, a[i], b[i], y, i);
}

// Flat: each operand contiguous (stride 1) or a single element (stride 0).
template <typename T>
__global__ void elementwise_flat_kernel(const T* a, int64_t sa, const T* b, int64_t sb, void* y,
                                        int64_t n, Params p) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    compute_one(p, a[i * sa], b[i * sb], y, i);
  }
}

// Collapsed broadcast geometry, passed by value (kernel parameter space).
struct Geometry {
  int rank;
  int64_t dims[Dims::kMaxDims];
  int64_t sa[Dims::kMaxDims], sb[Dims::kMaxDims];
};

template <typename T, typename Index>
__global__ void elementwise_broadcast_kernel(const T* a, const T* b, void* y, int64_t n, Geometry g,
                                             Params p) {
  const Index stride = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < static_cast<Index>(n); i += stride) {
    Index rem = i, ao = 0, bo = 0;
#pragma unroll
    for (int d = Dims::kMaxDims - 1; d >= 0; --d) {
      if (d < g.rank) {
        Index dim = static_cast<Index>(g.dims[d]);
        Index idx = rem % dim;
        rem /= dim;
        ao += idx * static_cast<Index>(g.sa[d]);
        bo += idx * static_cast<Index>(g.sb[d]);
      }
    }
    compute_one(p, a[ao], b[bo], y, static_cast<int64_t>(i));
  }
}

// Output dims without size-1 dims, neighbours of one broadcast pattern merged (as the CPU fast
// tactic does): [N,C,H,W] + [1,C,1,1] becomes [N, C, H*W] with strides a (C*HW, HW, 1), b (0,1,0).
Geometry collapse(const Dims& a, const Dims& b, const Dims& y) {
  Geometry c{};
  bool pa[Dims::kMaxDims] = {}, pb[Dims::kMaxDims] = {};
  int r = y.rank();
  for (int d = 0; d < r; ++d) {
    if (y[d] == 1) continue;
    int ia = d - (r - a.rank()), ib = d - (r - b.rank());
    bool has_a = ia >= 0 && a[ia] != 1, has_b = ib >= 0 && b[ib] != 1;
    if (c.rank > 0 && pa[c.rank - 1] == has_a && pb[c.rank - 1] == has_b) {
      c.dims[c.rank - 1] *= y[d];
    } else {
      c.dims[c.rank] = y[d];
      pa[c.rank] = has_a;
      pb[c.rank] = has_b;
      ++c.rank;
    }
  }
  if (c.rank == 0) {
    c.rank = 1;
    c.dims[0] = 1;
  }
  int64_t stride_a = 1, stride_b = 1;
  for (int d = c.rank - 1; d >= 0; --d) {
    c.sa[d] = pa[d] ? stride_a : 0;
    c.sb[d] = pb[d] ? stride_b : 0;
    if (pa[d]) stride_a *= c.dims[d];
    if (pb[d]) stride_b *= c.dims[d];
  }
  return c;
}

Status check_shapes(const ExecArgs& args) {
  const Dims& a = args.inputs[0].shape;
  const Dims& b = args.inputs[1].shape;
  const Dims& y = args.outputs[0].shape;
  int rank = std::max(a.rank(), b.rank());
  bool ok = y.rank() == rank;
  for (int d = 0; ok && d < rank; ++d) {
    int ia = d - (rank - a.rank()), ib = d - (rank - b.rank());
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    ok = (da == db || da == 1 || db == 1) && y[d] == (da == 1 ? db : da);
  }
  if (!ok) {
    return invalid_argument("ElementWise shapes " + a.to_string() + " and " + b.to_string() +
                            " do not broadcast to " + y.to_string());
  }
  return Status::ok();
}

template <typename T>
Status launch(const ExecArgs& args, const Params& p, int sms) {
  using D = typename cuda::DeviceElement<T>::type;
  const TensorView& a = args.inputs[0];
  const TensorView& b = args.inputs[1];
  const TensorView& y = args.outputs[0];
  const int64_t n = y.numel();
  const D* ap = static_cast<const D*>(a.data);
  const D* bp = static_cast<const D*>(b.data);
  auto stream = static_cast<cudaStream_t>(args.stream);
  const int64_t na = a.numel(), nb = b.numel();
  const bool flat_a = na == n || na == 1, flat_b = nb == n || nb == 1;

  if (na == n && nb == n && !p.predicate && cuda::is_aligned(a.data, 16) &&
      cuda::is_aligned(b.data, 16) && cuda::is_aligned(y.data, 16)) {
    constexpr int kVec = cuda::kVectorWidth<D>;
    int64_t items = std::max<int64_t>(n / kVec, n % kVec);
    elementwise_vector_kernel<D, kVec>
        <<<cuda::grid_size(items, sms), cuda::kElementwiseThreads, 0, stream>>>(
            ap, bp, static_cast<D*>(y.data), n, p);
    return cuda::check_launch("elementwise_vector_kernel");
  }
  if (flat_a && flat_b) {
    elementwise_flat_kernel<D><<<cuda::grid_size(n, sms), cuda::kElementwiseThreads, 0, stream>>>(
        ap, na == n ? 1 : 0, bp, nb == n ? 1 : 0, y.data, n, p);
    return cuda::check_launch("elementwise_flat_kernel");
  }
  Geometry g = collapse(a.shape, b.shape, y.shape);
  // 32-bit index math while i + grid stride cannot wrap.
  if (n <= static_cast<int64_t>(INT32_MAX)) {
    elementwise_broadcast_kernel<D, uint32_t>
        <<<cuda::grid_size(n, sms), cuda::kElementwiseThreads, 0, stream>>>(ap, bp, y.data, n, g,
                                                                            p);
  } else {
    elementwise_broadcast_kernel<D, int64_t>
        <<<cuda::grid_size(n, sms), cuda::kElementwiseThreads, 0, stream>>>(ap, bp, y.data, n, g,
                                                                            p);
  }
  return cuda::check_launch("elementwise_broadcast_kernel");
}

class ElementWiseCudaKernel final : public Kernel {
 public:
  ElementWiseCudaKernel(Params p, int multiprocessors) : p_(p), sms_(multiprocessors) {}

  Status execute(const ExecArgs& args) const override {
    KILN_RETURN_IF_ERROR(check_shapes(args));
    if (args.outputs[0].numel() == 0) return Status::ok();
    switch (args.inputs[0].dtype) {
      case DataType::kFloat32:
        return launch<float>(args, p_, sms_);
      case DataType::kFloat16:
        return launch<Half>(args, p_, sms_);
      case DataType::kBFloat16:
        return launch<BFloat16>(args, p_, sms_);
      case DataType::kInt8:
        return launch<int8_t>(args, p_, sms_);
      case DataType::kUInt8:
      case DataType::kBool:
        return launch<uint8_t>(args, p_, sms_);
      case DataType::kInt32:
        return launch<int32_t>(args, p_, sms_);
      case DataType::kInt64:
        return launch<int64_t>(args, p_, sms_);
    }
    return unsupported("ElementWise CUDA kernel: dtype " +
                       std::string(dtype_name(args.inputs[0].dtype)));
  }

 private:
  Params p_;
  int sms_;
};

bool supports_broadcast(const KernelInfo& info) {
  ElementWiseOp op;
  if (info.num_inputs() != 2 || !parse_elementwise_op(info.attrs().get_string("op"), &op)) {
    return false;
  }
  DataType t = info.input_dtype(0);
  if (info.input_dtype(1) != t) return false;
  bool boolean = t == DataType::kBool;
  // The combinations shape inference accepts: logic ops on bool only; bool otherwise only for
  // equal.
  if (is_logic(op) != boolean && !(boolean && op == ElementWiseOp::kEqual)) return false;
  DataType out = (is_comparison(op) || is_logic(op)) ? DataType::kBool : t;
  return info.output_dtype(0) == out;
}

Result<std::unique_ptr<Kernel>> create_broadcast(const KernelInfo& info) {
  Params p{};
  std::string name = info.attrs().get_string("op");
  if (!parse_elementwise_op(name, &p.op)) {
    return invalid_argument("unknown elementwise op '" + name + "'");
  }
  p.fmod = info.attrs().get_int("fmod", 0) != 0;
  p.boolean = info.input_dtype(0) == DataType::kBool;
  p.predicate = is_comparison(p.op) || is_logic(p.op);
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new ElementWiseCudaKernel(p, sms));
}

const TacticDef kCudaTactics[] = {
    {"broadcast", TacticSource::kKilnCuda, kAllDtypes, supports_broadcast, create_broadcast},
};

}  // namespace

std::span<const TacticDef> elementwise_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
