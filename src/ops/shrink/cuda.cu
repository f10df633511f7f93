// CUDA tactic of Shrink: "elementwise", a grid-stride map (16-byte loads when aligned) over every
// dtype the op accepts. Computes as the CPU reference does, in double (x read exactly, x +- bias
// rounded once to the output dtype; integers truncated toward zero), so results are bit-exact.
#include "ops/common/elementwise_map.cuh"
#include "ops/shrink/shrink.h"

#include <string>
#include <type_traits>

namespace kiln::ops {

namespace {

template <typename T>  // device element type
struct ShrinkFn {
  double bias, lambd;
  __device__ __forceinline__ T operator()(T x) const {
    double v;
    if constexpr (std::is_integral_v<T>) {
      v = static_cast<double>(x);
    } else {
      v = cuda::to_float(x);
    }
    const double r = v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0);
    if constexpr (std::is_integral_v<T>) {
      return static_cast<T>(static_cast<int64_t>(r));
    } else {
      return cuda::from_float<T>(static_cast<float>(r));
    }
  }
};

class ShrinkCudaKernel final : public Kernel {
 public:
  ShrinkCudaKernel(double bias, double lambd, int sms) : bias_(bias), lambd_(lambd), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (x.dtype == DataType::kBool || y.dtype != x.dtype || y.numel() != x.numel()) {
      return invalid_argument("Shrink CUDA kernel: X " + std::string(dtype_name(x.dtype)) +
                              x.shape.to_string() + " and Y " + std::string(dtype_name(y.dtype)) +
                              y.shape.to_string() + " do not match");
    }
    auto stream = static_cast<cudaStream_t>(args.stream);
    return dispatch_dtype(x.dtype, [&](auto tag) {
      using D = typename cuda::DeviceElement<decltype(tag)>::type;
      return cuda::launch_map(static_cast<const D*>(x.data), static_cast<D*>(y.data), x.numel(),
                              ShrinkFn<D>{bias_, lambd_}, sms_, stream, "shrink map_kernel");
    });
  }

 private:
  double bias_, lambd_;
  int sms_;
};

bool supports_elementwise(const KernelInfo& info) {
  return info.num_inputs() == 1 && info.input_dtype(0) != DataType::kBool &&
         info.output_dtype(0) == info.input_dtype(0);
}

Result<std::unique_ptr<Kernel>> create_elementwise(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new ShrinkCudaKernel(info.attrs().get_float("bias", 0.0),
                                                      info.attrs().get_float("lambd", 0.5), sms));
}

const TacticDef kCudaTactics[] = {
    {"elementwise", TacticSource::kKilnCuda, kNumericDtypes, supports_elementwise,
     create_elementwise},
};

}  // namespace

std::span<const TacticDef> shrink_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
