// CUDA tactic of Split: "strided", one strided copy per output (cuda_copy: any dtype; pieces
// whose rows are contiguous move as 16-byte words where sizes and addresses allow, a piece that
// is one contiguous block is one cudaMemcpyAsync). Piece extents come from the output shapes.
#include "backends/cuda/kernel_utils.cuh"
#include "ops/identity/cuda_copy.h"
#include "ops/split/split.h"

#include <string>

namespace kiln::ops {

namespace {

class SplitCudaKernel final : public Kernel {
 public:
  SplitCudaKernel(int axis, int sms) : axis_(axis), sms_(sms) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const int r = x.shape.rank();
    if (axis_ >= r) return invalid_argument("split axis is out of range for the input");
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis_; ++d) outer *= x.shape[d];
    for (int d = axis_ + 1; d < r; ++d) inner *= x.shape[d];
    int64_t total = 0;
    for (const TensorView& y : args.outputs) {
      bool ok = y.shape.rank() == r && y.dtype == x.dtype;
      for (int d = 0; ok && d < r; ++d) ok = d == axis_ || y.shape[d] == x.shape[d];
      if (!ok) {
        return invalid_argument("split output " + y.shape.to_string() + " does not match input " +
                                x.shape.to_string());
      }
      total += y.shape[axis_];
    }
    if (total != x.shape[axis_]) {
      return invalid_argument("split pieces sum to " + std::to_string(total) + " but axis " +
                              std::to_string(axis_) + " of the input " + x.shape.to_string() +
                              " has extent " + std::to_string(x.shape[axis_]));
    }
    const int64_t in_row = x.shape[axis_] * inner;  // elements per outer index
    int64_t at = 0;
    for (const TensorView& y : args.outputs) {
      const int64_t run = y.shape[axis_] * inner;
      // Output [outer, run] reads input rows of in_row elements from column `at`.
      cuda_copy::StridedCopy c;
      c.rank = 2;
      c.dims[0] = outer;
      c.dims[1] = run;
      c.strides[0] = in_row;
      c.strides[1] = 1;
      c.offset = at;
      if (outer > 0 && run > 0) {
        KILN_RETURN_IF_ERROR(
            cuda_copy::strided_copy(x.data, y.data, dtype_size(x.dtype), c, sms_, args.stream));
      }
      at += run;
    }
    return Status::ok();
  }

 private:
  int axis_;
  int sms_;
};

bool supports_strided(const KernelInfo& info) {
  if (!info.has_input(0)) return false;
  for (size_t o = 0; o < info.node->outputs.size(); ++o) {
    if (info.output_dtype(static_cast<int>(o)) != info.input_dtype(0)) return false;
  }
  return true;
}

Result<std::unique_ptr<Kernel>> create_strided(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", 0);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "split axis"));
  KILN_ASSIGN_OR_RETURN(int sms, cuda::current_multiprocessor_count());
  return std::unique_ptr<Kernel>(new SplitCudaKernel(static_cast<int>(axis), sms));
}

const TacticDef kCudaTactics[] = {
    {"strided", TacticSource::kKilnCuda, kAllDtypes, supports_strided, create_strided},
};

}  // namespace

std::span<const TacticDef> split_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
