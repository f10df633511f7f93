// ScatterND (ONNX ScatterND): output = data, then for every index tuple t of indices (row-major),
//   output[indices[t], :] (reduction)= updates[t, :]
//
// Inputs:  0 data     any dtype, rank r >= 1
//          1 indices  int64 (int32 accepted too), rank q >= 1; the last dim k (static) is the
//                     tuple length, 1 <= k <= r; entries index data dims 0..k-1 (negative counts
//                     from the end)
//          2 updates  data's dtype, shape indices.shape[:-1] ++ data.shape[k:]
// Output: data's dtype and shape.
// Attribute "reduction" "none" | "add" | "mul" | "max" | "min" (default "none"), combined as in
// ScatterElements (see scatter_elements.h); with "none" and repeated tuples the last one wins.
// An out-of-range index is an out_of_range error naming it; nothing is written out of bounds.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& scatter_nd_op();
std::span<const TacticDef> scatter_nd_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> scatter_nd_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

// Checks the shapes of one run and gives the tuple length k, the number of tuples and the
// elements per slice.
Status scatter_nd_geometry(const Dims& data, const Dims& indices, const Dims& updates, int* k,
                           int64_t* tuples, int64_t* slice);

}  // namespace kiln::ops
