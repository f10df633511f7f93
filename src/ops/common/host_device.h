// KILN_HOST_DEVICE marks small inline functions shared by an op's CPU kernel (.cpp, host compiler)
// and its CUDA kernel (.cu, nvcc), so both compute the same thing from one definition (Pad's
// source index, Resize's coordinate transforms and taps).
#pragma once

#ifdef __CUDACC__
#define KILN_HOST_DEVICE __host__ __device__
#else
#define KILN_HOST_DEVICE
#endif
