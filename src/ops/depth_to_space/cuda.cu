// CUDA tactic of DepthToSpace: "strided", the rearrangement as one strided copy of cuda_copy (any
// dtype). The output [N, C/b^2, H*b, W*b] is walked as [N, C', H, i, W, j] (its memory order);
// each of those dims has a fixed input stride in either mode:
//   DCR: x[n, (i*b + j) * C' + c, h, w]        CRD: x[n, c * b^2 + i*b + j, h, w]
// cuda_copy drops extent-1 dims and merges adjacent ones, and widens words where it can.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/depth_to_space/depth_to_space.h"
#include "ops/identity/cuda_copy.h"

#include <string>

namespace kiln::ops {

namespace {

class DepthToSpaceCudaKernel final : public Kernel {
 public:
  DepthToSpaceCudaKernel(int64_t b, bool crd, int sms) : b_(b), crd_(crd), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    const Dims& s = x.shape;
    const int64_t b = b_;
    const bool ok = s.rank() == 4 && s[1] % (b * b) == 0 && y.dtype == x.dtype &&
                    y.shape == Dims{s[0], s[1] / (b * b), s[2] * b, s[3] * b};
    if (!ok) {
      return invalid_argument("depth-to-space of input " + s.to_string() + " with blocksize " +
                              std::to_string(b) + " does not match output " + y.shape.to_string());
    }
    if (y.numel() == 0) return Status::ok();
    const int64_t c = s[1], oc = c / (b * b), h = s[2], w = s[3], plane = h * w;
    cuda_copy::StridedCopy copy;
    copy.rank = 6;
    const int64_t dims[6] = {s[0], oc, h, b, w, b};
    // Input strides of n, c', h, i, w, j.
    const int64_t dcr[6] = {c * plane, plane, w, b * oc * plane, 1, oc * plane};
    const int64_t crd[6] = {c * plane, b * b * plane, w, b * plane, 1, plane};
    for (int d = 0; d < 6; ++d) {
      copy.dims[d] = dims[d];
      copy.strides[d] = crd_ ? crd[d] : dcr[d];
    }
    return cuda_copy::strided_copy(x.data, y.data, dtype_size(x.dtype), copy, sms_, args.stream);
  }

 private:
  int64_t b_;
  bool crd_;
  int sms_;
};

bool supports_strided(const KernelInfo& info) {
  return info.has_input(0) && info.input_dtype(0) == info.output_dtype(0) &&
         info.attrs().get_int("blocksize", 0) >= 1;
}

Result<std::unique_ptr<Kernel>> create_strided(const KernelInfo& info) {
  if (info.attrs().get_int("blocksize", 0) < 1) return invalid_argument("blocksize must be >= 1");
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new DepthToSpaceCudaKernel(
      info.attrs().get_int("blocksize", 1), info.attrs().get_string("mode", "DCR") == "CRD", sms));
}

const TacticDef kCudaTactics[] = {
    {"strided", TacticSource::kKilnCuda, kAllDtypes, supports_strided, create_strided},
};

}  // namespace

std::span<const TacticDef> depth_to_space_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
