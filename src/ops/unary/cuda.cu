// CUDA tactics of Unary: "elementwise", a grid-stride kernel with 16-byte vector loads and stores
// when both buffers are 16-byte aligned (one element at a time otherwise). Every dtype the op
// supports: float32/float16/bfloat16 computed in float with the accurate (non fast-math) device
// functions, int8/uint8/int32/int64 abs/neg/sign with the CPU's wrapping rules, bool not.
// Works in place.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/unary/unary.h"

#include <string>
#include <type_traits>

namespace kiln::ops {

namespace {

__device__ __forceinline__ float float_op(UnaryOp op, float x) {
  switch (op) {
    case UnaryOp::kExp:
      return expf(x);
    case UnaryOp::kLog:
      return logf(x);
    case UnaryOp::kSqrt:
      return sqrtf(x);
    case UnaryOp::kRsqrt:
      return 1.f / sqrtf(x);  // rsqrtf is approximate; match the reference
    case UnaryOp::kAbs:
      return fabsf(x);
    case UnaryOp::kNeg:
      return -x;
    case UnaryOp::kReciprocal:
      return 1.f / x;
    case UnaryOp::kErf:
      return erff(x);
    case UnaryOp::kSin:
      return sinf(x);
    case UnaryOp::kCos:
      return cosf(x);
    case UnaryOp::kTan:
      return tanf(x);
    case UnaryOp::kFloor:
      return floorf(x);
    case UnaryOp::kCeil:
      return ceilf(x);
    case UnaryOp::kRound:
      return rintf(x);  // round half to even
    case UnaryOp::kSign:
      return isnan(x) ? x : (x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f));
    case UnaryOp::kNot:
      break;
  }
  return x;
}

// Integer ops in uint64 so that the minimum value wraps (as on the CPU) instead of overflowing.
template <typename T>
__device__ __forceinline__ T int_op(UnaryOp op, T x) {
  const uint64_t ux = static_cast<uint64_t>(static_cast<int64_t>(x));
  switch (op) {
    case UnaryOp::kAbs:
      if constexpr (std::is_signed_v<T>) return x < 0 ? static_cast<T>(0 - ux) : x;
      return x;
    case UnaryOp::kNeg:
      return static_cast<T>(0 - ux);
    case UnaryOp::kSign:
      if constexpr (std::is_signed_v<T>) return static_cast<T>(x > 0 ? 1 : (x < 0 ? -1 : 0));
      return static_cast<T>(x > 0 ? 1 : 0);
    default:
      return x;
  }
}

template <typename T>
constexpr bool kFloatElement =
    std::is_same_v<T, float> || std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

// bool_not: the input is bool (uint8 storage) and the op is not.
template <typename T>
__device__ __forceinline__ T apply(UnaryOp op, T x) {
  if constexpr (kFloatElement<T>) {
    return cuda::from_float<T>(float_op(op, cuda::to_float(x)));
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    if (op == UnaryOp::kNot) return x ? 0 : 1;
    return int_op(op, x);
  } else {
    return int_op(op, x);
  }
}

template <typename T, int kVec>
__global__ void unary_kernel(const T* x, T* y, int64_t n, UnaryOp op) {
  using V = cuda::AlignedVector<T, kVec>;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t nvec = n / kVec;
  const V* xv = reinterpret_cast<const V*>(x);
  V* yv = reinterpret_cast<V*>(y);
  for (int64_t i = tid; i < nvec; i += stride) {
    V v = xv[i];
#pragma unroll
    for (int k = 0; k < kVec; ++k) v.val[k] = apply(op, v.val[k]);
    yv[i] = v;
  }
  for (int64_t i = nvec * kVec + tid; i < n; i += stride) y[i] = apply(op, x[i]);
}

template <typename T>
Status launch(const void* x, void* y, int64_t n, UnaryOp op, int sms, cudaStream_t stream) {
  using D = typename cuda::DeviceElement<T>::type;
  constexpr int kVec = cuda::kVectorWidth<D>;
  const D* xp = static_cast<const D*>(x);
  D* yp = static_cast<D*>(y);
  if (cuda::is_aligned(x, 16) && cuda::is_aligned(y, 16)) {
    int64_t items = std::max<int64_t>(n / kVec, n % kVec);
    unary_kernel<D, kVec>
        <<<cuda::grid_size(items, sms), cuda::kElementwiseThreads, 0, stream>>>(xp, yp, n, op);
    return cuda::check_launch("unary_kernel (vectorized)");
  }
  unary_kernel<D, 1>
      <<<cuda::grid_size(n, sms), cuda::kElementwiseThreads, 0, stream>>>(xp, yp, n, op);
  return cuda::check_launch("unary_kernel (scalar)");
}

class UnaryCudaKernel final : public Kernel {
 public:
  UnaryCudaKernel(UnaryOp op, int multiprocessors) : op_(op), sms_(multiprocessors) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    int64_t n = x.numel();
    if (n == 0) return Status::ok();
    auto s = static_cast<cudaStream_t>(args.stream);
    switch (x.dtype) {
      case DataType::kFloat32:
        return launch<float>(x.data, y.data, n, op_, sms_, s);
      case DataType::kFloat16:
        return launch<Half>(x.data, y.data, n, op_, sms_, s);
      case DataType::kBFloat16:
        return launch<BFloat16>(x.data, y.data, n, op_, sms_, s);
      case DataType::kInt8:
        return launch<int8_t>(x.data, y.data, n, op_, sms_, s);
      case DataType::kUInt8:
      case DataType::kBool:
        return launch<uint8_t>(x.data, y.data, n, op_, sms_, s);
      case DataType::kInt32:
        return launch<int32_t>(x.data, y.data, n, op_, sms_, s);
      case DataType::kInt64:
        return launch<int64_t>(x.data, y.data, n, op_, sms_, s);
    }
    return unsupported("Unary CUDA kernel: dtype " + std::string(dtype_name(x.dtype)));
  }

 private:
  UnaryOp op_;
  int sms_;
};

bool supports_elementwise(const KernelInfo& info) {
  UnaryOp op;
  return info.num_inputs() == 1 && parse_unary_op(info.attrs().get_string("op"), &op) &&
         unary_supports_dtype(op, info.input_dtype(0)) &&
         info.output_dtype(0) == info.input_dtype(0);
}

Result<std::unique_ptr<Kernel>> create_elementwise(const KernelInfo& info) {
  UnaryOp op;
  std::string name = info.attrs().get_string("op");
  if (!parse_unary_op(name, &op)) return invalid_argument("unknown unary op '" + name + "'");
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new UnaryCudaKernel(op, sms));
}

const TacticDef kCudaTactics[] = {
    {"elementwise", TacticSource::kKilnCuda, kAllDtypes, supports_elementwise, create_elementwise},
};

}  // namespace

std::span<const TacticDef> unary_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
