// CPU tactic of Trilu: the reference (any dtype, moved as 1/2/4/8-byte words). Each matrix row
// copies its kept column range and zero-fills the rest; k is read on the host (host_input).
#include "ops/trilu/trilu.h"

#include <algorithm>
#include <cstring>

namespace kiln::ops {

namespace {

class TriluKernel final : public Kernel {
 public:
  explicit TriluKernel(bool upper) : upper_(upper) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    const int r = x.shape.rank();
    if (r < 2 || !(x.shape == y.shape) || x.dtype != y.dtype) {
      return invalid_argument("trilu output " + y.shape.to_string() + " does not match input " +
                              x.shape.to_string());
    }
    int64_t k = 0;
    if (args.inputs.size() > 1 && host_input(args, 1).data != nullptr) {
      const TensorView& kv = host_input(args, 1);
      if (kv.data == nullptr || kv.numel() != 1) {
        return invalid_argument("trilu k must be one value available on the host");
      }
      k = load_as_int(kv.data, kv.dtype, 0);
    }
    const int64_t rows = x.shape[r - 2], cols = x.shape[r - 1];
    const int64_t mats = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
    const size_t es = dtype_size(x.dtype);
    const char* src = static_cast<const char*>(x.data);
    char* dst = static_cast<char*>(y.data);
    // Clamp k so that i + k cannot overflow.
    const int64_t kk = std::clamp<int64_t>(k, -cols - rows - 1, cols + rows + 1);
    for (int64_t m = 0; m < mats; ++m) {
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t off = (m * rows + i) * cols;
        // Kept columns [lo, hi).
        int64_t lo = 0, hi = cols;
        if (upper_) {
          lo = std::clamp<int64_t>(i + kk, 0, cols);
        } else {
          hi = std::clamp<int64_t>(i + kk + 1, 0, cols);
        }
        std::memset(dst + off * es, 0, lo * es);
        if (hi > lo) std::memcpy(dst + (off + lo) * es, src + (off + lo) * es, (hi - lo) * es);
        const int64_t tail = hi > lo ? hi : lo;
        std::memset(dst + (off + tail) * es, 0, (cols - tail) * es);
      }
    }
    return Status::ok();
  }

 private:
  bool upper_;
};

bool supports_any(const KernelInfo& info) {
  (void)info;
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new TriluKernel(info.attrs().get_int("upper", 1) != 0));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
};

}  // namespace

std::span<const TacticDef> trilu_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
