// CPU tactic of Split: the reference block copy (any dtype). Piece extents come from the output
// shapes; each piece is `outer` contiguous runs of extent * inner elements.
#include "ops/split/split.h"

#include <cstring>

namespace kiln::ops {

namespace {

class SplitKernel final : public Kernel {
 public:
  explicit SplitKernel(int axis) : axis_(axis) {}

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
    const size_t es = dtype_size(x.dtype);
    const int64_t in_row = x.shape[axis_] * inner;  // elements per outer index
    const char* src = static_cast<const char*>(x.data);
    int64_t at = 0;
    for (const TensorView& y : args.outputs) {
      const int64_t run = y.shape[axis_] * inner;
      if (run > 0) {
        char* dst = static_cast<char*>(y.data);
        for (int64_t o = 0; o < outer; ++o) {
          std::memcpy(dst + o * run * es, src + (o * in_row + at) * es, run * es);
        }
      }
      at += run;
    }
    return Status::ok();
  }

 private:
  int axis_;
};

bool supports_any(const KernelInfo& info) {
  (void)info;
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", 0);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "split axis"));
  return std::unique_ptr<Kernel>(new SplitKernel(static_cast<int>(axis)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
};

}  // namespace

std::span<const TacticDef> split_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
