// CUDA tactic of ConstantOfShape: "fill". The value is converted to the output dtype once on the
// host (as the CPU kernel does), then written by cudaMemsetAsync when all its bytes are equal
// (zeros) or by a fill kernel in 16-byte words where size and address allow.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/constant_of_shape/constant_of_shape.h"
#include "ops/identity/cuda_copy.h"

namespace kiln::ops {

namespace {

class FillCudaKernel final : public Kernel {
 public:
  FillCudaKernel(double value, int sms) : value_(value), sms_(sms) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& y = args.outputs[0];
    unsigned char word[8] = {};
    store_from_double(word, y.dtype, 0, value_);
    return cuda_copy::fill(y.data, y.numel(), dtype_size(y.dtype), word, sms_, args.stream);
  }

 private:
  double value_;
  int sms_;
};

bool supports_any(const KernelInfo& info) {
  return true;
}

Result<std::unique_ptr<Kernel>> create_fill(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new FillCudaKernel(info.attrs().get_float("value", 0.0), sms));
}

const TacticDef kCudaTactics[] = {
    {"fill", TacticSource::kKilnCuda, kAllDtypes, supports_any, create_fill},
};

}  // namespace

std::span<const TacticDef> constant_of_shape_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
