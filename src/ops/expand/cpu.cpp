// CPU tactic of Expand: the reference broadcast copy (any dtype, 1/2/4/8-byte words). An
// odometer walks the output; broadcast dims have input stride 0.
#include "ops/common/word_dispatch.h"
#include "ops/expand/expand.h"

namespace kiln::ops {

namespace {

constexpr int kMax = Dims::kMaxDims;

template <typename T>
void expand_copy(const T* in, T* out, const int64_t* stride, const Dims& out_shape) {
  const int r = out_shape.rank();
  int64_t idx[kMax] = {}, off = 0;
  const int64_t n = out_shape.volume();
  for (int64_t o = 0; o < n; ++o) {
    out[o] = in[off];
    for (int d = r - 1; d >= 0; --d) {
      off += stride[d];
      if (++idx[d] < out_shape[d]) break;
      off -= stride[d] * out_shape[d];
      idx[d] = 0;
    }
  }
}

class ExpandKernel final : public Kernel {
 public:
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    const int r = y.shape.rank(), xr = x.shape.rank();
    bool ok = xr <= r && x.dtype == y.dtype;
    // Input strides aligned to the output's trailing dims; 0 where X is broadcast.
    int64_t stride[kMax] = {};
    int64_t acc = 1;
    for (int d = r - 1; ok && d >= 0; --d) {
      const int xd = d - (r - xr);
      if (xd < 0) break;
      const int64_t e = x.shape[xd];
      ok = e == y.shape[d] || e == 1;
      stride[d] = e == 1 ? 0 : acc;
      acc *= e;
    }
    if (!ok) {
      return invalid_argument("input " + x.shape.to_string() + " cannot be broadcast to output " +
                              y.shape.to_string());
    }
    if (y.numel() == 0) return Status::ok();
    dispatch_word(dtype_size(x.dtype), [&](auto tag) {
      using T = decltype(tag);
      expand_copy(x.as<const T>(), y.as<T>(), stride, y.shape);
    });
    return Status::ok();
  }
};

bool supports_any(const KernelInfo& info) {
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new ExpandKernel());
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
};

}  // namespace

std::span<const TacticDef> expand_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
