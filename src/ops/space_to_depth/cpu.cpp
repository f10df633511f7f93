// CPU tactic of SpaceToDepth: the reference gather, one output row at a time. Any dtype (moved
// as 1/2/4/8-byte words).
#include "ops/space_to_depth/space_to_depth.h"

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
void space_to_depth(const T* x, T* y, int64_t n, int64_t c, int64_t h, int64_t w, int64_t b) {
  const int64_t oc = c * b * b, oh = h / b, ow = w / b;
  for (int64_t in = 0; in < n; ++in) {
    for (int64_t yc = 0; yc < oc; ++yc) {
      const int64_t blk = yc / c, sc = yc % c, i = blk / b, j = blk % b;
      for (int64_t yh = 0; yh < oh; ++yh) {
        T* row = y + ((in * oc + yc) * oh + yh) * ow;
        const T* src = x + ((in * c + sc) * h + yh * b + i) * w + j;
        for (int64_t yw = 0; yw < ow; ++yw) row[yw] = src[yw * b];
      }
    }
  }
}

class SpaceToDepthKernel final : public Kernel {
 public:
  explicit SpaceToDepthKernel(int64_t b) : b_(b) {}

  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    const Dims& s = x.shape;
    const bool ok = s.rank() == 4 && s[2] % b_ == 0 && s[3] % b_ == 0 && y.dtype == x.dtype &&
                    y.shape == Dims{s[0], s[1] * b_ * b_, s[2] / b_, s[3] / b_};
    if (!ok) {
      return invalid_argument("space-to-depth of input " + s.to_string() + " with blocksize " +
                              std::to_string(b_) + " does not match output " + y.shape.to_string());
    }
    if (y.numel() == 0) return Status::ok();
    dispatch_word(dtype_size(x.dtype), [&](auto tag) {
      using T = decltype(tag);
      space_to_depth(x.as<const T>(), y.as<T>(), s[0], s[1], s[2], s[3], b_);
    });
    return Status::ok();
  }

 private:
  int64_t b_;
};

bool supports_any(const KernelInfo& info) {
  (void)info;
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  if (info.attrs().get_int("blocksize", 0) < 1) return invalid_argument("blocksize must be >= 1");
  return std::unique_ptr<Kernel>(new SpaceToDepthKernel(info.attrs().get_int("blocksize", 1)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
};

}  // namespace

std::span<const TacticDef> space_to_depth_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
