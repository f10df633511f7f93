// CUDA tactic of BatchNorm (inference), "elementwise" (either layout): a per-channel kernel first
// folds the parameters (any float dtype) into the workspace as a[c] = scale / sqrt(var + eps),
// mean[c] and bias[c]; then a grid-stride kernel applies y = (x - mean[c]) * a[c] + bias[c] (not
// x * a + (bias - mean * a), which cancels badly when var is small).
#include "backends/cuda/kernel_utils.cuh"
#include "ops/batch_norm/batch_norm.h"
#include "ops/common/layout.h"
#include "ops/reduce/block_reduce.cuh"

#include <string>

namespace kiln::ops {

namespace {

struct Params {
  const void* p[4];  // scale, bias, mean, var
  DataType dt[4];
};

__global__ void fold_params(Params prm, int64_t C, float eps, float* a, float* mean, float* bias) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < C; c += step) {
    const float scale = cuda::load_float(prm.p[0], prm.dt[0], c);
    const float var = cuda::load_float(prm.p[3], prm.dt[3], c);
    a[c] = scale / sqrtf(var + eps);
    mean[c] = cuda::load_float(prm.p[2], prm.dt[2], c);
    bias[c] = cuda::load_float(prm.p[1], prm.dt[1], c);
  }
}

template <typename T>
__global__ void batch_norm_apply(const T* x, T* y, int64_t n, int64_t S, int64_t C, const float* a,
                                 const float* mean, const float* bias) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t c = (i / S) % C;
    y[i] = cuda::from_float<T>((cuda::to_float(x[i]) - mean[c]) * a[c] + bias[c]);
  }
}

class BatchNormCudaKernel final : public Kernel {
 public:
  BatchNormCudaKernel(float eps, bool channels_last, int sms)
      : eps_(eps), channels_last_(channels_last), sms_(sms) {}

  size_t workspace_size(const NodeShapes& shapes) const override {
    const Dims& x = shapes.inputs[0];
    return 3 * static_cast<size_t>(x[channels_last_ ? x.rank() - 1 : 1]) * sizeof(float);
  }

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const int64_t n = x.numel();
    if (n == 0) return Status::ok();
    // Element i's channel is (i / S) % C: channels-last has the channel innermost (S = 1).
    const int64_t C = x.shape[channels_last_ ? x.shape.rank() - 1 : 1];
    int64_t S = 1;
    if (!channels_last_) {
      for (int i = 2; i < x.shape.rank(); ++i) S *= x.shape[i];
    }
    Params prm{};
    for (int i = 1; i < 5; ++i) {
      if (args.inputs[i].numel() != C) {
        return invalid_argument("BatchNorm: parameter " + std::to_string(i) + " has shape " +
                                args.inputs[i].shape.to_string() + ", expected [" +
                                std::to_string(C) + "]");
      }
      prm.p[i - 1] = args.inputs[i].data;
      prm.dt[i - 1] = args.inputs[i].dtype;
    }
    if (args.workspace_size < 3 * static_cast<size_t>(C) * sizeof(float)) {
      return resource_exhausted("BatchNorm CUDA kernel: workspace too small");
    }
    float* a = static_cast<float*>(args.workspace);
    float* mean = a + C;
    float* bias = mean + C;
    auto s = static_cast<cudaStream_t>(args.stream);
    fold_params<<<cuda::grid_size(C, sms_), cuda::kElementwiseThreads, 0, s>>>(prm, C, eps_, a,
                                                                               mean, bias);
    KILN_RETURN_IF_ERROR(cuda::check_launch("batch_norm fold_params"));
    const unsigned grid = cuda::grid_size(n, sms_);
    switch (x.dtype) {
      case DataType::kFloat32:
        batch_norm_apply<<<grid, cuda::kElementwiseThreads, 0, s>>>(
            x.as<const float>(), args.outputs[0].as<float>(), n, S, C, a, mean, bias);
        break;
      case DataType::kFloat16:
        batch_norm_apply<<<grid, cuda::kElementwiseThreads, 0, s>>>(
            x.as<const __half>(), args.outputs[0].as<__half>(), n, S, C, a, mean, bias);
        break;
      case DataType::kBFloat16:
        batch_norm_apply<<<grid, cuda::kElementwiseThreads, 0, s>>>(
            x.as<const __nv_bfloat16>(), args.outputs[0].as<__nv_bfloat16>(), n, S, C, a, mean,
            bias);
        break;
      default:
        return unsupported("BatchNorm CUDA kernel: dtype " + std::string(dtype_name(x.dtype)));
    }
    return cuda::check_launch("batch_norm_apply");
  }

 private:
  float eps_;
  bool channels_last_;
  int sms_;
};

bool supports_elementwise(const KernelInfo& info) {
  if (info.num_inputs() != 5 || info.input(0).shape.size() < 2) return false;
  for (int i = 0; i < 5; ++i) {
    if (!info.has_input(i) || !is_floating(info.input_dtype(i))) return false;
  }
  return true;
}

Result<std::unique_ptr<Kernel>> create_elementwise(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(
      new BatchNormCudaKernel(static_cast<float>(info.attrs().get_float("epsilon", 1e-5)),
                              channels_last(info.attrs()), sms));
}

const TacticDef kCudaTactics[] = {
    {"elementwise", TacticSource::kKilnCuda, kFloatDtypes, supports_elementwise,
     create_elementwise},
};

}  // namespace

std::span<const TacticDef> batch_norm_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
