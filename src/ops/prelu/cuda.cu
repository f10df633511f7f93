// CUDA tactic of PRelu: "broadcast", a grid-stride map over X with the slope broadcast to it
// (ops/common/broadcast_map.cuh: [N, C, H, W] with a [C, 1, 1] slope runs as [N, C, H*W]).
// Floats compute slope * x in float and round once (as the CPU reference: bit-exact); int32 /
// int64 multiply in wrapping 64-bit arithmetic.
#include "ops/common/broadcast_map.cuh"
#include "ops/prelu/prelu.h"

#include <string>
#include <type_traits>

namespace kiln::ops {

namespace {

template <typename T>  // device element type
struct PreluFn {
  __device__ __forceinline__ T operator()(T x, T slope) const {
    if constexpr (std::is_integral_v<T>) {
      if (x >= 0) return x;
      return static_cast<T>(static_cast<uint64_t>(static_cast<int64_t>(x)) *
                            static_cast<uint64_t>(static_cast<int64_t>(slope)));
    } else {
      const float v = cuda::to_float(x);
      return v < 0.f ? cuda::from_float<T>(cuda::to_float(slope) * v) : x;
    }
  }
};

template <typename H>  // host element type
Status launch(const ExecArgs& args, const BroadcastGeometry& g, int sms) {
  using D = typename cuda::DeviceElement<H>::type;
  return cuda::launch_broadcast_map(
      static_cast<const D*>(args.inputs[0].data), static_cast<const D*>(args.inputs[1].data),
      static_cast<D*>(args.outputs[0].data), args.outputs[0].numel(), g, PreluFn<D>{}, sms,
      static_cast<cudaStream_t>(args.stream), "prelu broadcast_map_kernel");
}

class PreluCudaKernel final : public Kernel {
 public:
  explicit PreluCudaKernel(int sms) : sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (!(y.shape == x.shape) || y.dtype != x.dtype || args.inputs[1].dtype != x.dtype) {
      return invalid_argument("PRelu CUDA kernel: X " + x.shape.to_string() + ", slope " +
                              args.inputs[1].shape.to_string() + " and Y " + y.shape.to_string() +
                              " do not match");
    }
    BroadcastGeometry g;
    KILN_RETURN_IF_ERROR(broadcast_geometry("PRelu", x.shape, args.inputs[1].shape, y.shape, &g));
    switch (x.dtype) {
      case DataType::kFloat32:
        return launch<float>(args, g, sms_);
      case DataType::kFloat16:
        return launch<Half>(args, g, sms_);
      case DataType::kBFloat16:
        return launch<BFloat16>(args, g, sms_);
      case DataType::kInt32:
        return launch<int32_t>(args, g, sms_);
      case DataType::kInt64:
        return launch<int64_t>(args, g, sms_);
      default:
        return unsupported("PRelu CUDA kernel: dtype " + std::string(dtype_name(x.dtype)));
    }
  }

 private:
  int sms_;
};

bool supports_broadcast(const KernelInfo& info) {
  const DataType t = info.input_dtype(0);
  return info.num_inputs() == 2 &&
         (is_floating(t) || t == DataType::kInt32 || t == DataType::kInt64) &&
         info.input_dtype(1) == t && info.output_dtype(0) == t;
}

Result<std::unique_ptr<Kernel>> create_broadcast(const KernelInfo&) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new PreluCudaKernel(sms));
}

const TacticDef kCudaTactics[] = {
    {"broadcast", TacticSource::kKilnCuda,
     kFloatDtypes | DtypeSet{DataType::kInt32, DataType::kInt64}, supports_broadcast,
     create_broadcast},
};

}  // namespace

std::span<const TacticDef> prelu_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
