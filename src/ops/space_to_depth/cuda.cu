// CUDA tactic of SpaceToDepth: "strided", one strided copy of cuda_copy (any dtype). The output
// [N, C*b^2, H/b, W/b] is walked as [N, i, j, C, H', W'] (its memory order, channel (i*b + j)*C
// + c) reading x[n, c, h*b + i, w*b + j], a fixed input stride per dim.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/identity/cuda_copy.h"
#include "ops/space_to_depth/space_to_depth.h"

#include <string>

namespace kiln::ops {

namespace {

class SpaceToDepthCudaKernel final : public Kernel {
 public:
  SpaceToDepthCudaKernel(int64_t b, int sms) : b_(b), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    const Dims& s = x.shape;
    const int64_t b = b_;
    if (s.rank() != 4 || s[2] % b != 0 || s[3] % b != 0 || y.dtype != x.dtype ||
        !(y.shape == Dims{s[0], s[1] * b * b, s[2] / b, s[3] / b})) {
      return invalid_argument("space-to-depth of input " + s.to_string() + " with blocksize " +
                              std::to_string(b) + " does not match output " + y.shape.to_string());
    }
    if (y.numel() == 0) return Status::ok();
    const int64_t w = s[3], plane = s[2] * w;
    const int64_t dims[6] = {s[0], b, b, s[1], s[2] / b, w / b};
    const int64_t strides[6] = {s[1] * plane, w, 1, plane, b * w, b};  // n, i, j, c, h', w'
    cuda_copy::StridedCopy copy;
    copy.rank = 6;
    for (int d = 0; d < 6; ++d) {
      copy.dims[d] = dims[d];
      copy.strides[d] = strides[d];
    }
    return cuda_copy::strided_copy(x.data, y.data, dtype_size(x.dtype), copy, sms_, args.stream);
  }

 private:
  int64_t b_;
  int sms_;
};

bool supports_strided(const KernelInfo& info) {
  return info.has_input(0) && info.input_dtype(0) == info.output_dtype(0) &&
         info.attrs().get_int("blocksize", 0) >= 1;
}

Result<std::unique_ptr<Kernel>> create_strided(const KernelInfo& info) {
  if (info.attrs().get_int("blocksize", 0) < 1) return invalid_argument("blocksize must be >= 1");
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(
      new SpaceToDepthCudaKernel(info.attrs().get_int("blocksize", 1), sms));
}

const TacticDef kCudaTactics[] = {
    {"strided", TacticSource::kKilnCuda, kAllDtypes, supports_strided, create_strided},
};

}  // namespace

std::span<const TacticDef> space_to_depth_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
