// Device copy helpers shared by the CUDA tactics of the data-movement ops (Identity, Reshape,
// Squeeze, Unsqueeze, Transpose, Slice, Expand, Gather, Concat, ConstantOfShape). Defined in
// identity/cuda.cu (KILN_WITH_CUDA builds only); plain C++ so that any .cu or .cpp can call them.
// Every launcher is capturable: it only enqueues work on `stream` (no allocation, no sync), does
// nothing for zero elements, and returns a Status naming the kernel when a launch fails.
#pragma once

#include <kiln/status.h>
#include <kiln/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace kiln::ops {

class Kernel;

namespace cuda_copy {

// out[o] = in[offset + sum_d idx_d(o) * strides[d]] for every output element o, where idx_d(o)
// is o's index along output dim d (row-major over `dims`). Strides and offset are in elements;
// a stride may be 0 (broadcast) or negative (reversed slices).
struct StridedCopy {
  int rank = 0;
  int64_t dims[Dims::kMaxDims] = {};
  int64_t strides[Dims::kMaxDims] = {};
  int64_t offset = 0;
};

// Drops extent-1 dims and merges output dims that are adjacent in the input too. Leaves the
// copy's meaning unchanged; rank 0 means one element (or none if any dim was 0).
StridedCopy simplify(const StridedCopy& copy);

// Runs a strided copy of elements of `elem_size` bytes (1, 2, 4 or 8); widens elements to up to
// 16-byte words where the innermost dim is contiguous and sizes and addresses allow.
// `multiprocessors` sizes the grid.
Status strided_copy(const void* in, void* out, size_t elem_size, const StridedCopy& copy,
                    int multiprocessors, void* stream);

// Copies `bytes` bytes device to device (cudaMemcpyAsync); nothing when bytes == 0 or in == out.
Status copy_bytes(const void* in, void* out, size_t bytes, void* stream);

// Fills `count` elements of `elem_size` bytes (1, 2, 4 or 8) with the bytes at `pattern`.
Status fill(void* out, int64_t count, size_t elem_size, const void* pattern, int multiprocessors,
            void* stream);

}  // namespace cuda_copy

// The CUDA copy kernel of Identity, Reshape, Squeeze and Unsqueeze: input 0 to output 0 byte for
// byte with cudaMemcpyAsync (skipped when they alias); fails if their sizes or dtypes differ.
std::unique_ptr<Kernel> make_cuda_copy_kernel();

}  // namespace kiln::ops
