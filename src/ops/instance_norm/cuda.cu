// CUDA tactic of InstanceNorm, "planes": each (n, c) plane of S = prod(spatial dims) elements is
// one row of the shared row kernel (layer_norm/row_norm.cuh: a warp per plane up to 1024
// elements, else a block); y = (x - mean) * (scale[c] / sqrt(var + eps)) + bias[c], with scale
// and bias read in their own float dtype.
#include "ops/instance_norm/instance_norm.h"
#include "ops/layer_norm/row_norm.cuh"

#include <string>

namespace kiln::ops {

namespace {

struct ChannelAffine {
  const void* scale;
  const void* bias;
  DataType scale_dtype, bias_dtype;
  int64_t channels;
  __device__ __forceinline__ float operator()(int64_t r, int64_t, float d, float inv_std,
                                              float) const {
    const int64_t c = r % channels;
    return d * (cuda::load_float(scale, scale_dtype, c) * inv_std) +
           cuda::load_float(bias, bias_dtype, c);
  }
};

class InstanceNormCudaKernel final : public Kernel {
 public:
  InstanceNormCudaKernel(float eps, int sms) : eps_(eps), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    if (x.numel() == 0) return Status::ok();
    const int64_t N = x.shape[0], C = x.shape[1];
    int64_t S = 1;
    for (int i = 2; i < x.shape.rank(); ++i) S *= x.shape[i];
    for (int i = 1; i < 3; ++i) {
      if (args.inputs[i].numel() != C) {
        return invalid_argument("InstanceNorm: " + std::string(i == 1 ? "scale" : "bias") +
                                " has shape " + args.inputs[i].shape.to_string() + ", expected [" +
                                std::to_string(C) + "]");
      }
    }
    const ChannelAffine aff{args.inputs[1].data, args.inputs[2].data, args.inputs[1].dtype,
                            args.inputs[2].dtype, C};
    auto s = static_cast<cudaStream_t>(args.stream);
    switch (x.dtype) {
      case DataType::kFloat32:
        return row_norm::launch(x.as<const float>(), args.outputs[0].as<float>(), N * C, S, eps_,
                                aff, nullptr, nullptr, sms_, s);
      case DataType::kFloat16:
        return row_norm::launch(x.as<const __half>(), args.outputs[0].as<__half>(), N * C, S, eps_,
                                aff, nullptr, nullptr, sms_, s);
      case DataType::kBFloat16:
        return row_norm::launch(x.as<const __nv_bfloat16>(), args.outputs[0].as<__nv_bfloat16>(),
                                N * C, S, eps_, aff, nullptr, nullptr, sms_, s);
      default:
        return unsupported("InstanceNorm CUDA kernel: dtype " + std::string(dtype_name(x.dtype)));
    }
  }

 private:
  float eps_;
  int sms_;
};

bool supports_planes(const KernelInfo& info) {
  if (info.num_inputs() != 3 || info.input(0).shape.size() < 2) return false;
  for (int i = 0; i < 3; ++i) {
    if (!info.has_input(i) || !is_floating(info.input_dtype(i))) return false;
  }
  return true;
}

Result<std::unique_ptr<Kernel>> create_planes(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(
      new InstanceNormCudaKernel(static_cast<float>(info.attrs().get_float("epsilon", 1e-5)), sms));
}

const TacticDef kCudaTactics[] = {
    {"planes", TacticSource::kKilnCuda, kFloatDtypes, supports_planes, create_planes},
};

}  // namespace

std::span<const TacticDef> instance_norm_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
