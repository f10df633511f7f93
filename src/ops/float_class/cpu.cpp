// CPU tactics of FloatClass: the element loop (reference) and the same loop threaded.
#include "backends/cpu/thread_pool.h"
#include "ops/float_class/float_class.h"

#include <cmath>

namespace kiln::ops {

namespace {

struct Params {
  bool isnan = true;
  bool positive = true, negative = true;
};

template <typename T>
void classify(const Params& p, const T* x, uint8_t* y, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const float v = static_cast<float>(x[i]);
    bool hit;
    if (p.isnan) {
      hit = std::isnan(v);
    } else {
      hit = std::isinf(v) && (v > 0 ? p.positive : p.negative);
    }
    y[i] = hit ? 1 : 0;
  }
}

class FloatClassKernel final : public Kernel {
 public:
  FloatClassKernel(Params p, bool threaded) : p_(p), threaded_(threaded) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    uint8_t* y = args.outputs[0].as<uint8_t>();
    const int64_t n = x.numel();
    auto run = [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x.as<const T>();
      if (threaded_) {
        parallel_for(args.threads, n, 1 << 15,
                     [&](int64_t b, int64_t e) { classify(p_, xp, y, b, e); });
      } else {
        classify(p_, xp, y, 0, n);
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
        return unsupported("FloatClass: unsupported dtype " + std::string(dtype_name(x.dtype)));
    }
    return Status::ok();
  }

 private:
  Params p_;
  bool threaded_;
};

Params read_params(const ir::Attrs& attrs) {
  Params p;
  p.isnan = attrs.get_string("op") == "isnan";
  p.positive = attrs.get_int("detect_positive", 1) != 0;
  p.negative = attrs.get_int("detect_negative", 1) != 0;
  return p;
}

bool supports(const KernelInfo& info) {
  return is_floating(info.input_dtype(0));
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new FloatClassKernel(read_params(info.attrs()), false));
}
Result<std::unique_ptr<Kernel>> create_threaded(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new FloatClassKernel(read_params(info.attrs()), true));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kFloatDtypes, supports, create_reference},
    {"threaded", TacticSource::kCpuOptimized, kFloatDtypes, supports, create_threaded},
};

}  // namespace

std::span<const TacticDef> float_class_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
