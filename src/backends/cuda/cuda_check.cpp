#include "backends/cuda/cuda_check.h"

namespace kiln::cuda {

namespace {
Status make_error(bool out_of_memory, std::string_view call, std::string_view what,
                  std::string_view code_name) {
  std::string message = std::string(call) + ": " + std::string(what);
  if (!code_name.empty()) message += " (" + std::string(code_name) + ")";
  return out_of_memory ? resource_exhausted(std::move(message)) : device_error(std::move(message));
}
}  // namespace

Status cuda_status(cudaError_t error, std::string_view call) {
  if (error == cudaSuccess) return Status::ok();
  const char* what = cudaGetErrorString(error);
  const char* name = cudaGetErrorName(error);
  return make_error(error == cudaErrorMemoryAllocation, call, what ? what : "unknown CUDA error",
                    name ? name : "");
}

Status cublas_status(cublasStatus_t status, std::string_view call) {
  if (status == CUBLAS_STATUS_SUCCESS) return Status::ok();
  const char* what = cublasGetStatusString(status);
  const char* name = cublasGetStatusName(status);
  return make_error(status == CUBLAS_STATUS_ALLOC_FAILED, call,
                    what ? what : "unknown cuBLAS error", name ? name : "");
}

Status cudnn_status(cudnnStatus_t status, std::string_view call) {
  if (status == CUDNN_STATUS_SUCCESS) return Status::ok();
  const char* name = cudnnGetErrorString(status);  // cuDNN's "string" is the enumerator's name
  std::string what = name ? name : "unknown cuDNN error";
  char detail[512] = {};
  // The last error message of this thread, where cuDNN recorded one (it explains bad params).
  cudnnGetLastErrorString(detail, sizeof(detail));
  if (detail[0] != '\0') what += ": " + std::string(detail);
  bool oom = status == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
             status == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
  return make_error(oom, call, what, "");
}

}  // namespace kiln::cuda
