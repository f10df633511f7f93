// CUDA tactic of Expand: "broadcast", the strided-copy kernel of cuda_copy with input stride 0 on
// broadcast dims (any dtype; rows that are copied whole move as 16-byte words where sizes and
// addresses allow). The target shape input is not read: the output's shape carries it.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/expand/expand.h"
#include "ops/identity/cuda_copy.h"

namespace kiln::ops {

namespace {

class ExpandCudaKernel final : public Kernel {
 public:
  explicit ExpandCudaKernel(int sms) : sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    const int r = y.shape.rank(), xr = x.shape.rank();
    bool ok = xr <= r && x.dtype == y.dtype;
    cuda_copy::StridedCopy c;
    c.rank = r;
    int64_t acc = 1;
    for (int d = r - 1; ok && d >= 0; --d) {
      c.dims[d] = y.shape[d];
      const int xd = d - (r - xr);
      if (xd < 0) {
        c.strides[d] = 0;
        continue;
      }
      const int64_t e = x.shape[xd];
      ok = e == y.shape[d] || e == 1;
      c.strides[d] = e == 1 ? 0 : acc;
      acc *= e;
    }
    if (!ok) {
      return invalid_argument("input " + x.shape.to_string() + " cannot be broadcast to output " +
                              y.shape.to_string());
    }
    if (y.numel() == 0) return Status::ok();
    return cuda_copy::strided_copy(x.data, y.data, dtype_size(x.dtype), c, sms_, args.stream);
  }

 private:
  int sms_;
};

bool supports_broadcast(const KernelInfo& info) {
  return info.num_inputs() >= 1 && info.has_input(0) && info.input_dtype(0) == info.output_dtype(0);
}

Result<std::unique_ptr<Kernel>> create_broadcast(const KernelInfo& info) {
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new ExpandCudaKernel(sms));
}

const TacticDef kCudaTactics[] = {
    {"broadcast", TacticSource::kKilnCuda, kAllDtypes, supports_broadcast, create_broadcast},
};

}  // namespace

std::span<const TacticDef> expand_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
