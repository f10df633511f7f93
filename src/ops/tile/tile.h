// Tile (ONNX-13 semantics, any dtype): repeats X along every axis.
// Inputs:  0 X (rank >= 1),
//          1 repeats (int64/int32 1-D of length rank(X); a constant or a host shape value,
//            possibly symbolic; static entries must be >= 0).
// Output:  X's dtype, extent d_i * repeats_i on axis i; output[i...] = X[i_k mod d_k ...].
// For a 1-D X with a shape value and a static repeat count, the output's shape value is the
// repeated content.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& tile_op();
std::span<const TacticDef> tile_cpu_tactics();   // cpu.cpp
std::span<const TacticDef> tile_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

}  // namespace kiln::ops
