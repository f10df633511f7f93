// Turning CUDA runtime, cuBLAS(Lt) and cuDNN status codes into kiln::Status. The message names
// the call and the library's own words: "cudaMallocAsync(1048576 bytes): out of memory
// (cudaErrorMemoryAllocation)". Allocation failures map to kResourceExhausted (so that callers
// such as the autotuner can tell "too big" from "broken"); every other failure to kDeviceError.
//
//   KILN_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(s));        // names the expression
//   return cuda_status(cudaMallocAsync(&p, n, s), "cudaMallocAsync(" + ... + ")");
#pragma once

#include <kiln/status.h>

#include <cublas_api.h>
#include <cuda_runtime_api.h>
#include <cudnn_graph.h>

#include <string>
#include <string_view>

namespace kiln::cuda {

Status cuda_status(cudaError_t error, std::string_view call);
Status cublas_status(cublasStatus_t status, std::string_view call);
Status cudnn_status(cudnnStatus_t status, std::string_view call);

// Overloads so one macro serves every library.
inline Status to_status(cudaError_t e, std::string_view call) {
  return cuda_status(e, call);
}
inline Status to_status(cublasStatus_t e, std::string_view call) {
  return cublas_status(e, call);
}
inline Status to_status(cudnnStatus_t e, std::string_view call) {
  return cudnn_status(e, call);
}

}  // namespace kiln::cuda

// Evaluates a CUDA / cuBLAS / cuDNN call once; on failure returns a Status naming the expression.
#define KILN_CUDA_RETURN_IF_ERROR(expr)                                        \
  do {                                                                         \
    ::kiln::Status kiln_cuda_status_ = ::kiln::cuda::to_status((expr), #expr); \
    if (!kiln_cuda_status_.is_ok()) return kiln_cuda_status_;                  \
  } while (0)
