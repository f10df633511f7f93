// CUDA tactic of FloatClass (IsNaN / IsInf): "elementwise", a grid-stride map from float32 /
// float16 / bfloat16 to bool (16-byte loads when aligned). The value is widened to float, which
// keeps NaN and infinities, so the answers are exact.
#include "ops/common/elementwise_map.cuh"
#include "ops/common/float_kernel_utils.h"
#include "ops/float_class/float_class.h"

#include <string>

namespace kiln::ops {

namespace {

struct FloatClassParams {
  bool isnan = true;
  bool positive = true, negative = true;
};

template <typename T>  // device element type
struct ClassifyFn {
  FloatClassParams p;
  __device__ __forceinline__ uint8_t operator()(T x) const {
    const float v = cuda::to_float(x);
    const bool hit = p.isnan ? isnan(v) : (isinf(v) && (v > 0.f ? p.positive : p.negative));
    return hit ? 1 : 0;
  }
};

class FloatClassCudaKernel final : public Kernel {
 public:
  FloatClassCudaKernel(FloatClassParams p, int sms) : p_(p), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (y.dtype != DataType::kBool || y.numel() != x.numel()) {
      return invalid_argument("FloatClass CUDA kernel: Y " + std::string(dtype_name(y.dtype)) +
                              y.shape.to_string() + " does not match X " + x.shape.to_string());
    }
    auto stream = static_cast<cudaStream_t>(args.stream);
    return dispatch_float_dtype("FloatClass CUDA kernel", x.dtype, [&](auto tag) {
      using D = typename cuda::DeviceElement<decltype(tag)>::type;
      return cuda::launch_map(static_cast<const D*>(x.data), static_cast<uint8_t*>(y.data),
                              x.numel(), ClassifyFn<D>{p_}, sms_, stream, "float_class map_kernel");
    });
  }

 private:
  FloatClassParams p_;
  int sms_;
};

bool supports_elementwise(const KernelInfo& info) {
  const std::string op = info.attrs().get_string("op");
  return info.num_inputs() == 1 && is_floating(info.input_dtype(0)) &&
         info.output_dtype(0) == DataType::kBool && (op == "isnan" || op == "isinf");
}

Result<std::unique_ptr<Kernel>> create_elementwise(const KernelInfo& info) {
  FloatClassParams p;
  p.isnan = info.attrs().get_string("op") == "isnan";
  p.positive = info.attrs().get_int("detect_positive", 1) != 0;
  p.negative = info.attrs().get_int("detect_negative", 1) != 0;
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new FloatClassCudaKernel(p, sms));
}

const TacticDef kCudaTactics[] = {
    {"elementwise", TacticSource::kKilnCuda, kFloatDtypes, supports_elementwise,
     create_elementwise},
};

}  // namespace

std::span<const TacticDef> float_class_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
