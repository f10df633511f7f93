// CPU tactic of DepthToSpace: the reference, one output row (n, c, h*b + i) at a time; each
// row interleaves b input rows. Any dtype (moved as 1/2/4/8-byte words).
#include "ops/depth_to_space/depth_to_space.h"

namespace kiln::ops {

namespace {

template <typename Fn>
void dispatch_word(size_t size, Fn&& fn) {
  switch (size) {
    case 1:
      fn(uint8_t{});
      break;
    case 2:
      fn(uint16_t{});
      break;
    case 4:
      fn(uint32_t{});
      break;
    default:
      fn(uint64_t{});
      break;
  }
}

template <typename T>
void depth_to_space(const T* x, T* y, int64_t n, int64_t c, int64_t h, int64_t w, int64_t b,
                    bool crd) {
  const int64_t oc = c / (b * b), oh = h * b, ow = w * b;
  for (int64_t in = 0; in < n; ++in) {
    for (int64_t ic = 0; ic < oc; ++ic) {
      for (int64_t yh = 0; yh < oh; ++yh) {
        const int64_t hh = yh / b, i = yh % b;
        T* row = y + ((in * oc + ic) * oh + yh) * ow;
        for (int64_t yw = 0; yw < ow; ++yw) {
          const int64_t ww = yw / b, j = yw % b;
          const int64_t sc = crd ? ic * b * b + i * b + j : (i * b + j) * oc + ic;
          row[yw] = x[((in * c + sc) * h + hh) * w + ww];
        }
      }
    }
  }
}

class DepthToSpaceKernel final : public Kernel {
 public:
  DepthToSpaceKernel(int64_t b, bool crd) : b_(b), crd_(crd) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    const Dims& s = x.shape;
    const bool ok = s.rank() == 4 && s[1] % (b_ * b_) == 0 && y.dtype == x.dtype &&
                    y.shape == Dims{s[0], s[1] / (b_ * b_), s[2] * b_, s[3] * b_};
    if (!ok) {
      return invalid_argument("depth-to-space of input " + s.to_string() + " with blocksize " +
                              std::to_string(b_) + " does not match output " + y.shape.to_string());
    }
    if (y.numel() == 0) return Status::ok();
    dispatch_word(dtype_size(x.dtype), [&](auto tag) {
      using T = decltype(tag);
      depth_to_space(x.as<const T>(), y.as<T>(), s[0], s[1], s[2], s[3], b_, crd_);
    });
    return Status::ok();
  }

 private:
  int64_t b_;
  bool crd_;
};

bool supports_any(const KernelInfo& info) {
  (void)info;
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  if (info.attrs().get_int("blocksize", 0) < 1) return invalid_argument("blocksize must be >= 1");
  return std::unique_ptr<Kernel>(new DepthToSpaceKernel(
      info.attrs().get_int("blocksize", 1), info.attrs().get_string("mode", "DCR") == "CRD"));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
};

}  // namespace

std::span<const TacticDef> depth_to_space_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
