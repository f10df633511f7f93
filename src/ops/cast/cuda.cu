// CUDA tactic of Cast: "convert", a grid-stride conversion kernel for every pair of dtypes (one
// instantiation per pair), with the CPU reference's semantics (cast.h): float -> integer
// truncates toward zero, NaN gives 0 and out-of-range values saturate; integer -> narrower
// integer wraps; anything -> bool is x != 0; integer -> float16/bfloat16 rounds once (round to
// odd into float, then to nearest even). The same dtype is a device-to-device copy.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/cast/cast.h"
#include "ops/identity/cuda_copy.h"

#include <string>

namespace kiln::ops {

namespace {

template <DataType D>
struct Dev;
template <>
struct Dev<DataType::kFloat32> {
  using type = float;
};
template <>
struct Dev<DataType::kFloat16> {
  using type = __half;
};
template <>
struct Dev<DataType::kBFloat16> {
  using type = __nv_bfloat16;
};
template <>
struct Dev<DataType::kInt8> {
  using type = int8_t;
};
template <>
struct Dev<DataType::kUInt8> {
  using type = uint8_t;
};
template <>
struct Dev<DataType::kInt32> {
  using type = int32_t;
};
template <>
struct Dev<DataType::kInt64> {
  using type = int64_t;
};
template <>
struct Dev<DataType::kBool> {
  using type = uint8_t;
};
template <DataType D>
using DevT = typename Dev<D>::type;

template <DataType T>
constexpr bool kIsFloat =
    T == DataType::kFloat32 || T == DataType::kFloat16 || T == DataType::kBFloat16;

// Range of an integer target: 2^digits (the first value above max), the lowest value and max.
template <DataType D>
struct IntRange;
template <>
struct IntRange<DataType::kInt8> {
  static constexpr double kHiExcl = 128.0, kLo = -128.0;
  static constexpr int8_t kMax = 127;
};
template <>
struct IntRange<DataType::kUInt8> {
  static constexpr double kHiExcl = 256.0, kLo = 0.0;
  static constexpr uint8_t kMax = 255;
};
template <>
struct IntRange<DataType::kInt32> {
  static constexpr double kHiExcl = 2147483648.0, kLo = -2147483648.0;
  static constexpr int32_t kMax = 2147483647;
};
template <>
struct IntRange<DataType::kInt64> {
  static constexpr double kHiExcl = 9223372036854775808.0, kLo = -9223372036854775808.0;
  static constexpr int64_t kMax = 9223372036854775807LL;
};

// An integer rounded to float with round-to-odd (truncate, then set the last bit if anything was
// dropped): rounding that to float16/bfloat16 gives the correctly rounded result.
__device__ __forceinline__ float int_to_float_odd(long long v) {
  const unsigned long long u =
      v < 0 ? 0ull - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
  float f;
  if (u < (1ull << 24)) {
    f = static_cast<float>(u);
  } else {
    const int shift = (64 - __clzll(static_cast<long long>(u))) - 24;
    unsigned long long m = u >> shift;
    if (u & ((1ull << shift) - 1)) m |= 1;
    f = ldexpf(static_cast<float>(m), shift);
  }
  return v < 0 ? -f : f;
}

template <DataType S, DataType D>
__device__ __forceinline__ DevT<D> convert(DevT<S> v) {
  if constexpr (D == DataType::kBool) {
    if constexpr (kIsFloat<S>) {
      return cuda::to_float(v) != 0.f ? 1 : 0;  // NaN is true
    } else {
      return v != 0 ? 1 : 0;
    }
  } else if constexpr (kIsFloat<D>) {
    if constexpr (kIsFloat<S>) {
      return cuda::from_float<DevT<D>>(cuda::to_float(v));
    } else if constexpr (D == DataType::kFloat32) {
      return static_cast<float>(static_cast<long long>(v));  // correctly rounded
    } else {
      return cuda::from_float<DevT<D>>(int_to_float_odd(static_cast<long long>(v)));
    }
  } else if constexpr (kIsFloat<S>) {
    const double t = trunc(static_cast<double>(cuda::to_float(v)));
    if (isnan(t)) return DevT<D>{0};
    if (t >= IntRange<D>::kHiExcl) return IntRange<D>::kMax;
    if (t < IntRange<D>::kLo) return static_cast<DevT<D>>(IntRange<D>::kLo);
    return static_cast<DevT<D>>(t);
  } else {
    return static_cast<DevT<D>>(v);  // integers: modular (two's complement) narrowing
  }
}

template <DataType S, DataType D>
__global__ void cast_kernel(const DevT<S>* __restrict__ x, DevT<D>* __restrict__ y, int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    y[i] = convert<S, D>(x[i]);
  }
}

template <DataType S, DataType D>
Status launch(const void* x, void* y, int64_t n, int sms, cudaStream_t stream) {
  cast_kernel<S, D><<<cuda::grid_size(n, sms), cuda::kElementwiseThreads, 0, stream>>>(
      static_cast<const DevT<S>*>(x), static_cast<DevT<D>*>(y), n);
  return cuda::check_launch("cast_kernel");
}

template <DataType S>
Status launch_from(DataType d, const void* x, void* y, int64_t n, int sms, cudaStream_t stream) {
  switch (d) {
    case DataType::kFloat32:
      return launch<S, DataType::kFloat32>(x, y, n, sms, stream);
    case DataType::kFloat16:
      return launch<S, DataType::kFloat16>(x, y, n, sms, stream);
    case DataType::kBFloat16:
      return launch<S, DataType::kBFloat16>(x, y, n, sms, stream);
    case DataType::kInt8:
      return launch<S, DataType::kInt8>(x, y, n, sms, stream);
    case DataType::kUInt8:
      return launch<S, DataType::kUInt8>(x, y, n, sms, stream);
    case DataType::kInt32:
      return launch<S, DataType::kInt32>(x, y, n, sms, stream);
    case DataType::kInt64:
      return launch<S, DataType::kInt64>(x, y, n, sms, stream);
    case DataType::kBool:
      return launch<S, DataType::kBool>(x, y, n, sms, stream);
  }
  return invalid_argument("Cast: unknown target dtype");
}

Status launch_cast(DataType s, DataType d, const void* x, void* y, int64_t n, int sms,
                   cudaStream_t stream) {
  switch (s) {
    case DataType::kFloat32:
      return launch_from<DataType::kFloat32>(d, x, y, n, sms, stream);
    case DataType::kFloat16:
      return launch_from<DataType::kFloat16>(d, x, y, n, sms, stream);
    case DataType::kBFloat16:
      return launch_from<DataType::kBFloat16>(d, x, y, n, sms, stream);
    case DataType::kInt8:
      return launch_from<DataType::kInt8>(d, x, y, n, sms, stream);
    case DataType::kUInt8:
      return launch_from<DataType::kUInt8>(d, x, y, n, sms, stream);
    case DataType::kInt32:
      return launch_from<DataType::kInt32>(d, x, y, n, sms, stream);
    case DataType::kInt64:
      return launch_from<DataType::kInt64>(d, x, y, n, sms, stream);
    case DataType::kBool:
      return launch_from<DataType::kBool>(d, x, y, n, sms, stream);
  }
  return invalid_argument("Cast: unknown source dtype");
}

class CastCudaKernel final : public Kernel {
 public:
  explicit CastCudaKernel(int sms) : sms_(sms) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (x.numel() != y.numel()) {
      return invalid_argument("Cast: input " + x.shape.to_string() + " and output " +
                              y.shape.to_string() + " differ in size");
    }
    const int64_t n = x.numel();
    if (n == 0) return Status::ok();
    if (x.dtype == y.dtype) return cuda_copy::copy_bytes(x.data, y.data, x.nbytes(), args.stream);
    return launch_cast(x.dtype, y.dtype, x.data, y.data, n, sms_,
                       static_cast<cudaStream_t>(args.stream));
  }

 private:
  int sms_;
};

bool supports_any(const KernelInfo& info) {
  return info.num_inputs() == 1 && info.has_input(0);
}

Result<std::unique_ptr<Kernel>> create_convert(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new CastCudaKernel(sms));
}

const TacticDef kCudaTactics[] = {
    {"convert", TacticSource::kKilnCuda, kAllDtypes, supports_any, create_convert},
};

}  // namespace

std::span<const TacticDef> cast_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
