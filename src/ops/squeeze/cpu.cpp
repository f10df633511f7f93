// CPU tactic of Squeeze: a byte copy (its size check catches a dynamic squeezed dim that is not 1).
#include "ops/identity/identity.h"
#include "ops/squeeze/squeeze.h"

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

std::span<const TacticDef> squeeze_cpu_tactics() {
  return kTactics;
}

}  // namespace kiln::ops
