// KILN_HOST_DEVICE marks small inline functions shared by host code (.cpp, host compiler) and
// CUDA kernels (.cu, nvcc), so both compute the same thing from one definition (Pad's source
// index, Resize's coordinate transforms and taps, the scatter reductions, the index layouts of
// ops/common/index_layout.h). It includes `inline`.
#pragma once

#if defined(__CUDACC__)
#define KILN_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define KILN_HOST_DEVICE inline
#endif
