// CPU tactic of Identity: a byte copy (shared with Reshape, Squeeze and Unsqueeze).
#include "ops/identity/identity.h"

#include <cstring>

namespace kiln::ops {

namespace {

class CopyKernel final : public Kernel {
 public:
  Status execute(const ExecArgs& args) const override {
    const TensorView& x = args.inputs[0];
    const TensorView& y = args.outputs[0];
    if (x.nbytes() != y.nbytes() || x.dtype != y.dtype) {
      return invalid_argument("input " + x.shape.to_string() + " and output " +
                              y.shape.to_string() + " differ in size");
    }
    if (x.nbytes() > 0 && x.data != y.data) std::memcpy(y.data, x.data, x.nbytes());
    return Status::ok();
  }
};

bool supports_any(const KernelInfo& info) {
  return true;
}

Result<std::unique_ptr<Kernel>> create_reference(const KernelInfo& info) {
  return make_copy_kernel();
}

const TacticDef kTactics[] = {
    {"reference", TacticSource::kCpuReference, kAllDtypes, supports_any, create_reference},
};

}  // namespace

std::unique_ptr<Kernel> make_copy_kernel() {
  return std::make_unique<CopyKernel>();
}

std::span<const TacticDef> identity_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
