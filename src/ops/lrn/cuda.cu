// CUDA tactic of LRN: "window", one thread per output element (grid-stride; neighbouring threads
// take neighbouring spatial positions, so every channel read is coalesced). Each sums the squares
// of its channel window in float and writes x / (bias + alpha / size * sum) ^ beta with powf.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/common/float_kernel_utils.h"
#include "ops/lrn/lrn.h"

#include <algorithm>
#include <string>

namespace kiln::ops {

namespace {

struct LrnParams {
  int64_t lo = 0, hi = 0;  // window: channels [c - lo, c + hi]
  float scale = 0, bias = 1, beta = 0.75f;
};

template <typename T>
__global__ void lrn_kernel(const T* x, T* y, int64_t total, int64_t C, int64_t S, LrnParams p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    const int64_t nc = i / S;
    const int64_t c = nc % C;
    const T* column = x + (i - c * S);  // element (n, 0, s)
    const int64_t c0 = max(c - p.lo, int64_t{0}), c1 = min(c + p.hi, C - 1);
    float sum = 0.f;
    for (int64_t j = c0; j <= c1; ++j) {
      const float v = cuda::to_float(column[j * S]);
      sum += v * v;
    }
    y[i] = cuda::from_float<T>(cuda::to_float(x[i]) / powf(p.bias + p.scale * sum, p.beta));
  }
}

template <typename T>
Status launch_lrn(const T* x, T* y, int64_t total, int64_t C, int64_t S, const LrnParams& p,
                  int sms, cudaStream_t stream) {
  lrn_kernel<T>
      <<<cuda::grid_size(total, sms), cuda::kElementwiseThreads, 0, stream>>>(x, y, total, C, S, p);
  return cuda::check_launch("lrn_kernel");
}

class LrnCudaKernel final : public Kernel {
 public:
  LrnCudaKernel(LrnParams p, int sms) : p_(p), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (x.shape.rank() < 2 || !(y.shape == x.shape) || y.dtype != x.dtype) {
      return invalid_argument("LRN CUDA kernel: X " + x.shape.to_string() + " and Y " +
                              y.shape.to_string() + " do not match (rank >= 2 needed)");
    }
    const int64_t total = x.numel();
    if (total == 0) return Status::ok();
    const int64_t C = x.shape[1], S = total / (x.shape[0] * C);
    auto stream = static_cast<cudaStream_t>(args.stream);
    return dispatch_float_dtype("LRN CUDA kernel", x.dtype, [&](auto tag) {
      using D = typename cuda::DeviceElement<decltype(tag)>::type;
      return launch_lrn(static_cast<const D*>(x.data), static_cast<D*>(y.data), total, C, S, p_,
                        sms_, stream);
    });
  }

 private:
  LrnParams p_;
  int sms_;
};

bool supports_window(const KernelInfo& info) {
  return info.num_inputs() == 1 && is_floating(info.input_dtype(0)) &&
         info.input(0).shape.size() >= 2 && info.attrs().get_int("size", 1) >= 1;
}

Result<std::unique_ptr<Kernel>> create_window(const KernelInfo& info) {
  const int64_t size = std::max<int64_t>(1, info.attrs().get_int("size", 1));
  LrnParams p;
  p.lo = (size - 1) / 2;
  p.hi = size - 1 - p.lo;
  p.scale = static_cast<float>(info.attrs().get_float("alpha", 1e-4) / static_cast<double>(size));
  p.bias = static_cast<float>(info.attrs().get_float("bias", 1.0));
  p.beta = static_cast<float>(info.attrs().get_float("beta", 0.75));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new LrnCudaKernel(p, sms));
}

const TacticDef kCudaTactics[] = {
    {"window", TacticSource::kKilnCuda, kFloatDtypes, supports_window, create_window},
};

}  // namespace

std::span<const TacticDef> lrn_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
