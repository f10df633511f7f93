// Transpose: permutes the dims of X (any dtype): output dim i is input dim perm[i].
// Input 0 X. Attribute "perm" (ints, a permutation of [0, rank); default: reversed dims).
// A shape value of X (rank <= 1, so the permutation is trivial) passes through.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& transpose_op();
std::span<const TacticDef> transpose_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> transpose_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

// The permutation for rank `rank` from the attributes (default reversed). Not validated.
std::vector<int64_t> transpose_perm(const ir::Attrs& attrs, int64_t rank);

}  // namespace kiln::ops
