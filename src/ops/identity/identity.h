// Identity: Y = X (any dtype). Input 0 X; no attributes. A small int tensor's shape value passes
// through, so the runtime evaluates it on the host.
//
// Also home of the plain copy kernel shared by the ops that only relabel a buffer's shape
// (Identity, Reshape, Squeeze, Unsqueeze): row-major data is the same bytes before and after.
#pragma once

#include "ops/op.h"

namespace kiln::ops {

const OpDef& identity_op();
std::span<const TacticDef> identity_cpu_tactics();  // cpu.cpp
std::span<const TacticDef> identity_cuda_tactics();  // cuda.cu (KILN_WITH_CUDA builds only)

// A kernel that copies input 0 to output 0 byte for byte; its execute() fails if their sizes
// differ (e.g. a dynamic dim took a value that shape inference could not check).
std::unique_ptr<Kernel> make_copy_kernel();

}  // namespace kiln::ops
