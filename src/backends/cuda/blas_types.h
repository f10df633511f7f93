#pragma once
// kiln DataType -> cuBLAS / cuBLASLt type enums, shared by the library GEMM tactics
// (MatMul, Einsum, Attention cublas_batched).
#include <kiln/types.h>

#include <cublas_api.h>
#include <library_types.h>

namespace kiln::cuda {

// The float dtypes the library GEMMs take (accumulating in float32).
inline bool is_blas_float(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16;
}

// Storage type of a float tensor; anything else maps to CUDA_R_32F (callers check is_blas_float).
inline cudaDataType_t blas_data_type(DataType t) {
  switch (t) {
    case DataType::kFloat16:
      return CUDA_R_16F;
    case DataType::kBFloat16:
      return CUDA_R_16BF;
    default:
      return CUDA_R_32F;
  }
}

// float32 uses TF32 tensor cores only when the build allows it (BuilderFlag::kTf32); 16-bit inputs
// accumulate in float32.
inline cublasComputeType_t blas_compute_type(DataType t, bool tf32) {
  return t == DataType::kFloat32 && tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

}  // namespace kiln::cuda
