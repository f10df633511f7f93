// CUDA tactics of Activation: "elementwise", a grid-stride kernel that loads and stores 16 bytes
// per access (4 float32 or 8 float16/bfloat16 values) when both buffers are 16-byte aligned, and
// one element at a time otherwise. Computes in float with the same formulas as the CPU
// reference (no fast-math intrinsics). Works in place (x == y).
#include "backends/cuda/kernel_utils.cuh"
#include "ops/activation/activation.cuh"

#include <string>

namespace kiln::ops {

namespace {

struct ActivationParams {
  ActivationKind kind;
  float alpha, beta;
};

__device__ __forceinline__ float activate(const ActivationParams& p, float x) {
  return activate_device(p.kind, x, p.alpha, p.beta);
}

// kVec elements per vector access; the n % kVec tail is done one element at a time. The kind is
// a kernel argument (uniform per launch, so the switch costs nothing measurable in a
// memory-bound kernel) to keep the instantiations at dtypes x {vector, scalar}.
template <typename T, int kVec>
__global__ void activation_kernel(const T* x, T* y, int64_t n, ActivationParams p) {
  using V = cuda::AlignedVector<T, kVec>;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t nvec = n / kVec;
  const V* xv = reinterpret_cast<const V*>(x);
  V* yv = reinterpret_cast<V*>(y);
  for (int64_t i = tid; i < nvec; i += stride) {
    V v = xv[i];
#pragma unroll
    for (int k = 0; k < kVec; ++k) {
      v.val[k] = cuda::from_float<T>(activate(p, cuda::to_float(v.val[k])));
    }
    yv[i] = v;
  }
  for (int64_t i = nvec * kVec + tid; i < n; i += stride) {
    y[i] = cuda::from_float<T>(activate(p, cuda::to_float(x[i])));
  }
}

template <typename T>
Status launch(const void* x, void* y, int64_t n, const ActivationParams& p, int sms,
              cudaStream_t stream) {
  using D = typename cuda::DeviceElement<T>::type;
  constexpr int kVec = cuda::kVectorWidth<D>;
  const D* xp = static_cast<const D*>(x);
  D* yp = static_cast<D*>(y);
  if (cuda::is_aligned(x, 16) && cuda::is_aligned(y, 16)) {
    int64_t items = std::max<int64_t>(n / kVec, n % kVec);
    activation_kernel<D, kVec>
        <<<cuda::grid_size(items, sms), cuda::kElementwiseThreads, 0, stream>>>(xp, yp, n, p);
    return cuda::check_launch("activation_kernel (vectorized)");
  }
  activation_kernel<D, 1>
      <<<cuda::grid_size(n, sms), cuda::kElementwiseThreads, 0, stream>>>(xp, yp, n, p);
  return cuda::check_launch("activation_kernel (scalar)");
}

class ActivationCudaKernel final : public Kernel {
 public:
  ActivationCudaKernel(ActivationParams p, int multiprocessors) : p_(p), sms_(multiprocessors) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    int64_t n = x.numel();
    if (n == 0) return Status::ok();
    auto stream = static_cast<cudaStream_t>(args.stream);
    switch (x.dtype) {
      case DataType::kFloat32:
        return launch<float>(x.data, y.data, n, p_, sms_, stream);
      case DataType::kFloat16:
        return launch<Half>(x.data, y.data, n, p_, sms_, stream);
      case DataType::kBFloat16:
        return launch<BFloat16>(x.data, y.data, n, p_, sms_, stream);
      default:
        return unsupported("Activation CUDA kernel: dtype " + std::string(dtype_name(x.dtype)));
    }
  }

 private:
  ActivationParams p_;
  int sms_;
};

bool is_cuda_float(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16;
}

bool supports_elementwise(const KernelInfo& info) {
  ActivationKind kind;
  return info.num_inputs() == 1 && is_cuda_float(info.input_dtype(0)) &&
         info.output_dtype(0) == info.input_dtype(0) &&
         parse_activation(info.attrs().get_string("type"), &kind);
}

Result<std::unique_ptr<Kernel>> create_elementwise(const KernelInfo& info) {
  ActivationParams p{};
  if (!parse_activation(info.attrs().get_string("type"), &p.kind)) {
    return invalid_argument("unknown activation type '" + info.attrs().get_string("type") + "'");
  }
  double a, b;
  activation_defaults(p.kind, &a, &b);
  p.alpha = static_cast<float>(info.attrs().get_float("alpha", a));
  p.beta = static_cast<float>(info.attrs().get_float("beta", b));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new ActivationCudaKernel(p, sms));
}

const TacticDef kCudaTactics[] = {
    {"elementwise", TacticSource::kKilnCuda, kFloatDtypes, supports_elementwise,
     create_elementwise},
};

}  // namespace

std::span<const TacticDef> activation_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
