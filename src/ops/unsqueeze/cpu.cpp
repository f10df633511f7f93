// CPU tactic of Unsqueeze: a byte copy.
#include "ops/identity/identity.h"
#include "ops/unsqueeze/unsqueeze.h"

namespace kiln::ops {

namespace {

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

std::span<const TacticDef> unsqueeze_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
