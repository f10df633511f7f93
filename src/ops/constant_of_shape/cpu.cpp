// CPU tactic of ConstantOfShape: converts the value to the output dtype once, then fills.
#include "ops/constant_of_shape/constant_of_shape.h"

#include <cstring>

namespace kiln::ops {

namespace {

class FillKernel final : public Kernel {
 public:
  explicit FillKernel(double value) : value_(value) {}
  Status execute(const ExecArgs& args) const override {
    const TensorView& y = args.outputs[0];
    const size_t es = dtype_size(y.dtype);
    unsigned char word[8] = {};
    store_from_double(word, y.dtype, 0, value_);
    char* out = static_cast<char*>(y.data);
    const int64_t n = y.numel();
    for (int64_t i = 0; i < n; ++i) std::memcpy(out + i * es, word, es);
    return Status::ok();
  }

 private:
  double value_;
};

bool supports_any(const KernelInfo& info) {
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return std::unique_ptr<Kernel>(new FillKernel(info.attrs().get_float("value", 0.0)));
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
};

}  // namespace

std::span<const TacticDef> constant_of_shape_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
