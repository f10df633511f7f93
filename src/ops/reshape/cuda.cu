// CUDA tactic of Reshape: "copy", the device copy of Identity (cudaMemcpyAsync; skipped when the
// runtime aliases input and output). Its size check catches a runtime shape mismatch.
#include "ops/identity/cuda_copy.h"
#include "ops/reshape/reshape.h"

namespace kiln::ops {

namespace {

bool supports_any(const KernelInfo& info) {
  return info.num_inputs() >= 1 && info.has_input(0) && info.input_dtype(0) == info.output_dtype(0);
}

Result<std::unique_ptr<Kernel>> create_copy(const KernelInfo& info) {
  return make_cuda_copy_kernel();
}

const TacticDef kCudaTactics[] = {
    {"copy", TacticSource::kKilnCuda, kAllDtypes, supports_any, create_copy},
};

}  // namespace

std::span<const TacticDef> reshape_cuda_tactics() {
  return kCudaTactics;
}

}  // namespace kiln::ops
