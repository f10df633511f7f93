// CUDA tactic of LpNormalization: "groups", the group kernels of ops/common/group_reduce.cuh
// with the axis reduced (a thread per line when the axis is not the last dim, a warp or a block
// per line when it is). The norm (sum of |x|, or the root of the sum of squares) accumulates in
// float; y = x / norm, and 0 on a line whose norm is 0 (as the CPU reference).
#include "ops/common/group_reduce.cuh"
#include "ops/lp_norm/lp_norm.h"

#include <string>

namespace kiln::ops {

namespace {

struct LpOp {
  using Acc = float;
  static constexpr bool kTwoPass = false;
  bool l1;
  __device__ __forceinline__ float identity() const { return 0.f; }
  __device__ __forceinline__ float combine(float a, float b) const { return a + b; }
  __device__ __forceinline__ float pass1(float x, int64_t, float) const {
    return l1 ? fabsf(x) : x * x;
  }
  __device__ __forceinline__ float out(float x, int64_t, float, float sum, float) const {
    const float norm = l1 ? sum : sqrtf(sum);
    return norm != 0.f ? x / norm : 0.f;
  }
};

class LpNormCudaKernel final : public Kernel {
 public:
  LpNormCudaKernel(std::vector<bool> mask, bool l1, int sms)
      : mask_(std::move(mask)), l1_(l1), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    return run_group_op(
        "LpNormalization CUDA kernel", args, mask_, [&](const GroupLayout&) { return LpOp{l1_}; },
        sms_);
  }

 private:
  std::vector<bool> mask_;
  bool l1_;
  int sms_;
};

bool supports_groups(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", -1);
  const int64_t p = info.attrs().get_int("p", 2);
  return info.num_inputs() == 1 && is_floating(info.input_dtype(0)) && (p == 1 || p == 2) &&
         normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis").is_ok();
}

Result<std::unique_ptr<Kernel>> create_groups(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", -1);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis"));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  const int rank = static_cast<int>(info.input(0).shape.size());
  return std::unique_ptr<Kernel>(
      new LpNormCudaKernel(axis_mask(rank, axis), info.attrs().get_int("p", 2) == 1, sms));
}

const TacticDef kCudaTactics[] = {
    {"groups", TacticSource::kKilnCuda, kFloatDtypes, supports_groups, create_groups},
};

}  // namespace

std::span<const TacticDef> lp_norm_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
