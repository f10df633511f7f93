// GatherND (ONNX GatherND): gathers slices of data addressed by index tuples.
//
// Inputs:  0 data     any dtype, rank r >= 1
//          1 indices  int64 (int32 accepted too), rank q >= 1; the last dim k (static) is the
//                     tuple length, 1 <= k <= r - b; entries of a tuple index data dims b..b+k-1
//                     (negative counts from the end)
// Attribute "batch_dims" int b, 0 <= b < min(q, r) (default 0): the first b dims of data and
//                     indices are batch dims and must be equal.
// Output: data's dtype, shape indices.shape[:-1] ++ data.shape[b + k:].
// An out-of-range index is an out_of_range error naming it (nothing is read out of bounds).
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& gather_nd_op();
std::span<const TacticDef> gather_nd_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> gather_nd_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

// Concrete layout of one run.
struct GatherNdGeometry {
  int64_t batches = 1;     // product of the batch dims
  int64_t tuples = 1;      // index tuples per batch
  int64_t k = 0;           // tuple length
  int64_t slice = 1;       // elements per gathered slice
  int64_t batch_size = 1;  // data elements per batch
  int b = 0;
};
// Checks the shapes of one run (batch_dims b) and fills the geometry.
Status gather_nd_geometry(const Dims& data, const Dims& idx, const Dims& out, int64_t b,
                          GatherNdGeometry* g);

}  // namespace kiln::ops
