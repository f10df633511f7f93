// CUDA tactic of GroupNormalization, "groups": X viewed as [N * G, (C / G) * S]; each (n, g)
// group is one row of the shared row kernel (layer_norm/row_norm.cuh: a warp per group up to
// 1024 elements, else a block); y = (x - mean) * (scale[c] / sqrt(var + eps)) + bias[c] with c
// the element's channel (or its group with per_group_affine), parameters read in their own
// float dtype.
#include "ops/group_norm/group_norm.h"
#include "ops/layer_norm/row_norm.cuh"

#include <algorithm>
#include <string>

namespace kiln::ops {

namespace {

struct GroupAffine {
  const void* scale;
  const void* bias;
  DataType scale_dtype, bias_dtype;
  int64_t groups, channels_per_group, spatial;
  bool per_group;
  __device__ __forceinline__ float operator()(int64_t r, int64_t j, float d, float inv_std,
                                              float) const {
    const int64_t g = r % groups;
    const int64_t p = per_group ? g : g * channels_per_group + j / spatial;
    return d * (cuda::load_float(scale, scale_dtype, p) * inv_std) +
           cuda::load_float(bias, bias_dtype, p);
  }
};

class GroupNormCudaKernel final : public Kernel {
 public:
  GroupNormCudaKernel(int64_t groups, float eps, bool per_group, int sms)
      : groups_(groups), eps_(eps), per_group_(per_group), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    if (x.numel() == 0) return Status::ok();
    const int64_t N = x.shape[0], C = x.shape[1];
    int64_t S = 1;
    for (int i = 2; i < x.shape.rank(); ++i) S *= x.shape[i];
    if (C % groups_ != 0) {
      return invalid_argument("GroupNormalization: channels " + std::to_string(C) +
                              " are not divisible by num_groups " + std::to_string(groups_));
    }
    const int64_t want = per_group_ ? groups_ : C;
    for (int i = 1; i < 3; ++i) {
      if (args.inputs[i].numel() != want || args.inputs[i].shape.rank() != 1) {
        return invalid_argument("GroupNormalization: " + std::string(i == 1 ? "scale" : "bias") +
                                " has shape " + args.inputs[i].shape.to_string() + ", expected [" +
                                std::to_string(want) + "]");
      }
    }
    const int64_t cg = C / groups_;
    const GroupAffine aff{args.inputs[1].data,
                          args.inputs[2].data,
                          args.inputs[1].dtype,
                          args.inputs[2].dtype,
                          groups_,
                          cg,
                          S,
                          per_group_};
    const int64_t rows = N * groups_, D = cg * S;
    auto s = static_cast<cudaStream_t>(args.stream);
    switch (x.dtype) {
      case DataType::kFloat32:
        return row_norm::launch(x.as<const float>(), args.outputs[0].as<float>(), rows, D, eps_,
                                aff, nullptr, nullptr, sms_, s);
      case DataType::kFloat16:
        return row_norm::launch(x.as<const __half>(), args.outputs[0].as<__half>(), rows, D, eps_,
                                aff, nullptr, nullptr, sms_, s);
      case DataType::kBFloat16:
        return row_norm::launch(x.as<const __nv_bfloat16>(), args.outputs[0].as<__nv_bfloat16>(),
                                rows, D, eps_, aff, nullptr, nullptr, sms_, s);
      default:
        return unsupported("GroupNormalization CUDA kernel: dtype " +
                           std::string(dtype_name(x.dtype)));
    }
  }

 private:
  int64_t groups_;
  float eps_;
  bool per_group_;
  int sms_;
};

bool supports_groups(const KernelInfo& info) {
  if (info.num_inputs() != 3 || info.input(0).shape.size() < 2) return false;
  for (int i = 0; i < 3; ++i) {
    if (!info.has_input(i) || !is_floating(info.input_dtype(i))) return false;
  }
  return info.attrs().get_int("num_groups", 0) >= 1;
}

Result<std::unique_ptr<Kernel>> create_groups(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(
      new GroupNormCudaKernel(std::max<int64_t>(1, info.attrs().get_int("num_groups", 1)),
                              static_cast<float>(info.attrs().get_float("epsilon", 1e-5)),
                              info.attrs().get_int("per_group_affine", 0) != 0, sms));
}

const TacticDef kCudaTactics[] = {
    {"groups", TacticSource::kKilnCuda, kFloatDtypes, supports_groups, create_groups},
};

}  // namespace

std::span<const TacticDef> group_norm_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
