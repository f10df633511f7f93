// CUDA tactic of Hardmax: "groups", the group kernels of ops/common/group_reduce.cuh with the
// axis reduced. The reduction finds the line's winner as an (value, index) pair: a NaN beats any
// number, a larger value beats a smaller one, and between equals (or two NaNs) the lower index
// wins, so the answer is the reference's first maximum (first NaN) in any reduction order.
#include "ops/common/group_reduce.cuh"
#include "ops/hardmax/hardmax.h"

#include <string>

namespace kiln::ops {

namespace {

struct ArgMax {
  float value;
  int64_t index;
};

// Found by argument-dependent lookup from cuda::warp_all_reduce.
__device__ __forceinline__ ArgMax shfl_xor(ArgMax v, int lane_mask) {
  return ArgMax{cuda::shfl_xor(v.value, lane_mask), cuda::shfl_xor(v.index, lane_mask)};
}

struct HardmaxOp {
  using Acc = ArgMax;
  static constexpr bool kTwoPass = false;
  __device__ __forceinline__ ArgMax identity() const { return ArgMax{-INFINITY, INT64_MAX}; }
  __device__ __forceinline__ ArgMax combine(const ArgMax& a, const ArgMax& b) const {
    const bool an = isnan(a.value), bn = isnan(b.value);
    if (an != bn) return an ? a : b;
    if (!an && a.value != b.value) return a.value > b.value ? a : b;
    return a.index <= b.index ? a : b;
  }
  __device__ __forceinline__ ArgMax pass1(float x, int64_t r, float) const { return {x, r}; }
  __device__ __forceinline__ float out(float, int64_t r, float, const ArgMax& best,
                                       const ArgMax&) const {
    return r == best.index ? 1.f : 0.f;
  }
};

class HardmaxCudaKernel final : public Kernel {
 public:
  HardmaxCudaKernel(std::vector<bool> mask, int sms) : mask_(std::move(mask)), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    return run_group_op(
        "Hardmax CUDA kernel", args, mask_, [](const GroupLayout&) { return HardmaxOp{}; }, sms_);
  }

 private:
  std::vector<bool> mask_;
  int sms_;
};

bool supports_groups(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", -1);
  return info.num_inputs() == 1 && is_floating(info.input_dtype(0)) &&
         info.output_dtype(0) == info.input_dtype(0) &&
         normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis").is_ok();
}

Result<std::unique_ptr<Kernel>> create_groups(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", -1);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis"));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  const int rank = static_cast<int>(info.input(0).shape.size());
  return std::unique_ptr<Kernel>(new HardmaxCudaKernel(axis_mask(rank, axis), sms));
}

const TacticDef kCudaTactics[] = {
    {"groups", TacticSource::kKilnCuda, kFloatDtypes, supports_groups, create_groups},
};

}  // namespace

std::span<const TacticDef> hardmax_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
