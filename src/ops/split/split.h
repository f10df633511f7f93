// Split (ONNX-18 semantics, any dtype): cuts X along one axis into the node's outputs.
// Inputs:  0 X (rank >= 1),
//          1 split (optional; int64/int32 1-D, one extent per output; a constant or a host shape
//            value, possibly symbolic).
// Outputs: one per piece; output k is X's shape with the axis extent = piece k.
// Attributes: "axis" (int, default 0; negative counts from the back),
//             "num_outputs" (int; opset 18: pieces of ceil(extent / n), the last one smaller;
//                            must equal the number of outputs),
//             "split" (ints; the pre-13 attribute form of input 1).
// With neither split sizes nor num_outputs, X is cut into equal pieces (one per output) and the
// extent must be divisible by the number of outputs. Static sizes must be >= 0 and sum to the
// extent; symbolic ones are checked when run. For a 1-D X with a shape value and static sizes,
// each output's shape value is its piece.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& split_op();
std::span<const TacticDef> split_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> split_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
