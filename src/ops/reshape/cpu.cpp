// CPU tactic of Reshape: a byte copy (the runtime may alias instead).
#include "ops/identity/identity.h"
#include "ops/reshape/reshape.h"

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

std::span<const TacticDef> reshape_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
