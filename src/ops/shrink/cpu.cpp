// CPU tactics of Shrink: the element loop (reference) and the same loop threaded.
#include "backends/cpu/thread_pool.h"
#include "ops/shrink/shrink.h"

#include <type_traits>

namespace kiln::ops {

namespace {

// Integers are read exactly (int64 beyond 2^24 would lose bits through float).
template <typename T>
void shrink_range(double bias, double lambd, const T* x, T* y, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    double v;
    if constexpr (std::is_integral_v<T>) {
      v = static_cast<double>(x[i]);
    } else {
      v = static_cast<float>(x[i]);
    }
    const double r = v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0);
    if constexpr (std::is_integral_v<T>) {
      y[i] = static_cast<T>(static_cast<int64_t>(r));
    } else {
      y[i] = static_cast<T>(static_cast<float>(r));
    }
  }
}

class ShrinkKernel final : public Kernel {
 public:
  ShrinkKernel(double bias, double lambd, bool threaded)
      : bias_(bias), lambd_(lambd), threaded_(threaded) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    const int64_t n = x.numel();
    if (x.dtype == DataType::kBool) return unsupported("Shrink: bool input");
    dispatch_dtype(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x.as<const T>();
      T* yp = y.as<T>();
      if (threaded_) {
        parallel_for(args.threads, n, 1 << 14,
                     [&](int64_t b, int64_t e) { shrink_range(bias_, lambd_, xp, yp, b, e); });
      } else {
        shrink_range(bias_, lambd_, xp, yp, 0, n);
      }
    });
    return Status::ok();
  }

 private:
  double bias_, lambd_;
  bool threaded_;
};

bool supports(const KernelInfo& info) {
  return info.input_dtype(0) != DataType::kBool;
}

Result<std::unique_ptr<Kernel>> create(const KernelInfo& info, bool threaded) {
  return std::unique_ptr<Kernel>(new ShrinkKernel(info.attrs().get_float("bias", 0.0),
                                                  info.attrs().get_float("lambd", 0.5), threaded));
}
Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return create(info, false);
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return create(info, true);
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kNumericDtypes, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kNumericDtypes, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> shrink_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
