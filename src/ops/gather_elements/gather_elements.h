// GatherElements (ONNX GatherElements): out[i0, ..., in] = data[i0, ..., indices[i0..in], ..., in]
// with the index replacing the coordinate of dim "axis".
//
// Inputs:  0 data     any dtype, rank r >= 1
//          1 indices  int32 / int64, rank r; every dim except axis <= data's; entries in
//                     [-s, s - 1] with s = data's extent on axis (negative counts from the end)
// Output: data's dtype, indices' shape.
// Attribute "axis" int in [-r, r) (default 0).
// An out-of-range index is an out_of_range error naming it (nothing is read out of bounds).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& gather_elements_op();
std::span<const TacticDef> gather_elements_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> gather_elements_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
