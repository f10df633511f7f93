// CPU tactic of OneHot: the reference. Depth is the output's extent on the new axis; off/on
// values are copied bytewise (exact for every dtype).
#include "ops/one_hot/one_hot.h"

#include <cmath>
#include <cstring>

namespace kiln::ops {

namespace {

class OneHotKernel final : public Kernel {
 public:
  explicit OneHotKernel(int axis) : axis_(axis) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& idx = args.inputs[0];
    const TensorView& values = args.inputs[2];
    const TensorView& y = args.outputs[0];
    const int r = idx.shape.rank();
    bool ok =
        y.shape.rank() == r + 1 && axis_ <= r && values.numel() == 2 && values.dtype == y.dtype;
    for (int d = 0; ok && d < r; ++d) ok = idx.shape[d] == y.shape[d < axis_ ? d : d + 1];
    if (!ok) {
      return invalid_argument("one-hot output " + y.shape.to_string() + " does not match indices " +
                              idx.shape.to_string());
    }
    const int64_t depth = y.shape[axis_];
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis_; ++d) outer *= idx.shape[d];
    for (int d = axis_; d < r; ++d) inner *= idx.shape[d];
    const size_t es = dtype_size(y.dtype);
    const char* off = static_cast<const char*>(values.data);
    const char* on = off + es;
    char* out = static_cast<char*>(y.data);
    const bool float_idx = is_floating(idx.dtype);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t at = o * inner + i;
        int64_t k;
        if (float_idx) {
          const double v = std::trunc(load_as_double(idx.data, idx.dtype, at));
          k = std::fabs(v) <= static_cast<double>(depth) ? static_cast<int64_t>(v) : depth;
        } else {
          k = load_as_int(idx.data, idx.dtype, at);
        }
        if (k < 0 && k >= -depth) k += depth;
        for (int64_t d = 0; d < depth; ++d) {
          std::memcpy(out + ((o * depth + d) * inner + i) * es, d == k ? on : off, es);
        }
      }
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
  int64_t axis = info.attrs().get_int("axis", -1);
  KILN_RETURN_IF_ERROR(
      normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()) + 1, "axis"));
  return std::unique_ptr<Kernel>(new OneHotKernel(static_cast<int>(axis)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
};

}  // namespace

std::span<const TacticDef> one_hot_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
