// kiln — GPU memory allocator hook. Every device allocation kiln makes on the CUDA backend
// (engine weights, per-context activation memory, workspaces, tuning buffers) goes through the
// process-wide GpuAllocator, so an application can hand kiln memory from its own pool (for
// example its framework's caching allocator).
//
// The default allocator is stream-ordered cudaMallocAsync / cudaFreeAsync on the device's
// default memory pool, whose release threshold kiln raises so that freed memory stays pooled
// for the next allocation instead of going back to the driver (which would make every
// allocation a slow cudaMalloc). Devices without memory-pool support fall back to cudaMalloc.
//
// Thread-safety: kiln calls allocate() and deallocate() from any thread and concurrently (several
// engines and execution contexts on several threads), so an allocator must be thread-safe.
// set_gpu_allocator() is thread-safe; it affects allocations made after it returns. Memory is
// always given back to the allocator that allocated it, so an allocator must outlive every
// engine and context that allocated through it.
#pragma once

#include <cstddef>

namespace kiln {

class GpuAllocator {
 public:
  virtual ~GpuAllocator();

  // Returns device memory of at least `bytes` bytes aligned to `alignment` (a power of two; kiln
  // asks for 256), or nullptr when it cannot. `stream` is a cudaStream_t (nullptr = the legacy
  // default stream): the memory may be used by work enqueued on `stream` after this call. For
  // allocations that outlive a stream (weights, context memory) kiln passes nullptr and
  // synchronizes before using the memory elsewhere.
  virtual void* allocate(size_t bytes, size_t alignment, void* stream) = 0;

  // Returns memory obtained from allocate(). Work enqueued on `stream` before this call may
  // still use it, so a stream-ordered allocator must not reuse it before that work completes.
  // kiln synchronizes the device before releasing memory it allocated with stream == nullptr.
  virtual void deallocate(void* ptr, void* stream) = 0;
};

// Installs `allocator` for all later CUDA allocations of kiln (nullptr = the default allocator).
// kiln does not take ownership. Without CUDA support it has no effect.
void set_gpu_allocator(GpuAllocator* allocator);

// The allocator installed with set_gpu_allocator, or nullptr while the default is used.
GpuAllocator* get_gpu_allocator();

}  // namespace kiln
