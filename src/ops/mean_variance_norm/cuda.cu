// CUDA tactic of MeanVarianceNormalization: "groups", the group kernels of
// ops/common/group_reduce.cuh with the "axes" dims reduced (default [0, 2, 3] on NCHW: one
// group per channel, N x H*W elements, read along H*W). Two passes in float relative to the
// group's first element (sum -> mean, then the sum of squared deviations -> biased variance: no
// cancellation as in E[x^2] - mean^2), then y = (x - mean) / (sqrt(var) + 1e-9).
#include "ops/common/group_reduce.cuh"
#include "ops/mean_variance_norm/mean_variance_norm.h"

#include <string>

namespace kiln::ops {

namespace {

struct MvnOp {
  using Acc = float;
  static constexpr bool kTwoPass = true;
  float inv_count;  // 1 / R
  __device__ __forceinline__ float identity() const { return 0.f; }
  __device__ __forceinline__ float combine(float a, float b) const { return a + b; }
  __device__ __forceinline__ float pass1(float x, int64_t, float first) const { return x - first; }
  __device__ __forceinline__ float pass2(float x, float first, float sum) const {
    const float d = (x - first) - sum * inv_count;
    return d * d;
  }
  __device__ __forceinline__ float out(float x, int64_t, float first, float sum, float sq) const {
    return ((x - first) - sum * inv_count) / (sqrtf(sq * inv_count) + 1e-9f);
  }
};

class MvnCudaKernel final : public Kernel {
 public:
  MvnCudaKernel(std::vector<bool> mask, int sms) : mask_(std::move(mask)), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    return run_group_op(
        "MeanVarianceNormalization CUDA kernel", args, mask_,
        [](const GroupLayout& l) {
          return MvnOp{l.reduced > 0 ? 1.f / static_cast<float>(l.reduced) : 0.f};
        },
        sms_);
  }

 private:
  std::vector<bool> mask_;
  int sms_;
};

bool supports_groups(const KernelInfo& info) {
  return info.num_inputs() == 1 && is_floating(info.input_dtype(0)) &&
         mvn_axes_mask(info.attrs(), static_cast<int64_t>(info.input(0).shape.size())).is_ok();
}

Result<std::unique_ptr<Kernel>> create_groups(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(
      std::vector<bool> mask,
      mvn_axes_mask(info.attrs(), static_cast<int64_t>(info.input(0).shape.size())));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new MvnCudaKernel(std::move(mask), sms));
}

const TacticDef kCudaTactics[] = {
    {"groups", TacticSource::kKilnCuda, kFloatDtypes, supports_groups, create_groups},
};

}  // namespace

std::span<const TacticDef> mean_variance_norm_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
