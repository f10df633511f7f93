// CPU tactics of Activation: the scalar reference, and a multi-threaded version.
#include "backends/cpu/thread_pool.h"
#include "ops/activation/activation.h"

namespace kiln::ops {

namespace {

struct ActivationParams {
  ActivationKind kind;
  float alpha, beta;
};

ActivationParams read_params(const ir::Attrs& attrs) {
  ActivationParams p{};
  parse_activation(attrs.get_string("type"), &p.kind);
  double a, b;
  activation_defaults(p.kind, &a, &b);
  p.alpha = static_cast<float>(attrs.get_float("alpha", a));
  p.beta = static_cast<float>(attrs.get_float("beta", b));
  return p;
}

template <typename T>
void run_range(const ActivationParams& p, const T* x, T* y, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    y[i] = static_cast<T>(apply_activation(p.kind, static_cast<float>(x[i]), p.alpha, p.beta));
  }
}

class ActivationKernel final : public Kernel {
 public:
  ActivationKernel(ActivationParams p, bool threaded) : p_(p), threaded_(threaded) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    int64_t n = x.numel();
    dispatch_dtype(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, Half> ||
                    std::is_same_v<T, BFloat16>) {
        const T* xp = x.as<T>();
        T* yp = y.as<T>();
        if (threaded_) {
          parallel_for(args.threads, n, 1 << 14,
                       [&](int64_t b, int64_t e) { run_range(p_, xp, yp, b, e); });
        } else {
          run_range(p_, xp, yp, 0, n);
        }
      }
    });
    return Status::ok();
  }

 private:
  ActivationParams p_;
  bool threaded_;
};

bool supports_float(const KernelInfo& info) { return is_floating(info.input_dtype(0)); }

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new ActivationKernel(read_params(info.attrs()), false));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new ActivationKernel(read_params(info.attrs()), true));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kFloatDtypes, supports_float, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kFloatDtypes, supports_float, create_threaded},
};

}  // namespace

std::span<const TacticDef> activation_cpu_tactics() { return kTactics; }

}  // namespace kiln::ops
