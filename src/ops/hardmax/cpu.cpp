// CPU tactics of Hardmax: lines (outer, inner) along the axis; the reference runs them one by
// one, the threaded tactic in parallel.
#include "backends/cpu/thread_pool.h"
#include "ops/hardmax/hardmax.h"

#include <algorithm>
#include <cmath>

namespace kiln::ops {

namespace {

template <typename T>
void hardmax_lines(const T* x, T* y, int64_t extent, int64_t inner, int64_t begin, int64_t end) {
  for (int64_t line = begin; line < end; ++line) {
    const int64_t o = line / inner, i = line % inner;
    const T* xl = x + o * extent * inner + i;
    T* yl = y + o * extent * inner + i;
    int64_t best = 0;
    float best_v = static_cast<float>(xl[0]);
    for (int64_t k = 1; k < extent && !std::isnan(best_v); ++k) {
      const float v = static_cast<float>(xl[k * inner]);
      if (v > best_v || std::isnan(v)) {
        best_v = v;
        best = k;
      }
    }
    for (int64_t k = 0; k < extent; ++k) yl[k * inner] = static_cast<T>(k == best ? 1.f : 0.f);
  }
}

class HardmaxKernel final : public Kernel {
 public:
  HardmaxKernel(int64_t axis, bool threaded) : axis_(axis), threaded_(threaded) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const Dims& d = x.shape;
    if (axis_ >= d.rank()) return internal_error("Hardmax: axis out of range");
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis_; ++i) outer *= d[i];
    for (int i = static_cast<int>(axis_) + 1; i < d.rank(); ++i) inner *= d[i];
    const int64_t extent = d[static_cast<int>(axis_)];
    if (x.numel() == 0) return Status::ok();
    auto run = [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x.as<const T>();
      T* yp = args.outputs[0].as<T>();
      if (threaded_) {
        parallel_for(args.threads, outer * inner,
                     std::max<int64_t>(1, 8192 / std::max<int64_t>(extent, 1)),
                     [&](int64_t b, int64_t e) { hardmax_lines(xp, yp, extent, inner, b, e); });
      } else {
        hardmax_lines(xp, yp, extent, inner, 0, outer * inner);
      }
    };
    switch (x.dtype) {
      case DataType::kFloat32:
        run(float{});
        break;
      case DataType::kFloat16:
        run(Half{});
        break;
      case DataType::kBFloat16:
        run(BFloat16{});
        break;
      default:
        return unsupported("Hardmax: unsupported dtype " + std::string(dtype_name(x.dtype)));
    }
    return Status::ok();
  }

 private:
  int64_t axis_;
  bool threaded_;
};

bool supports(const KernelInfo& info) {
  return is_floating(info.input_dtype(0));
}

int64_t axis_of(const KernelInfo& info) {
  int64_t axis = info.attrs().get_int("axis", -1);
  normalize_axis(&axis, static_cast<int64_t>(info.input(0).shape.size()), "axis").ignore();
  return axis;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new HardmaxKernel(axis_of(info), false));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new HardmaxKernel(axis_of(info), true));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kFloatDtypes, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kFloatDtypes, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> hardmax_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
