#include <kiln/builder.h>

namespace kiln {

std::string_view tactic_source_name(TacticSource source) {
  switch (source) {
    case TacticSource::kCpuReference: return "cpu-ref";
    case TacticSource::kCpuBlas: return "cpu-blas";
    case TacticSource::kCpuOptimized: return "cpu-opt";
    case TacticSource::kKilnCuda: return "kiln-cuda";
    case TacticSource::kCublas: return "cublas";
    case TacticSource::kCublasLt: return "cublaslt";
    case TacticSource::kCudnn: return "cudnn";
  }
  return "unknown";
}

}  // namespace kiln
