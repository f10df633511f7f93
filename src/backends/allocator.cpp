// The process-wide GPU allocator hook (include/kiln/allocator.h). Built with and without CUDA so
// that applications can call set_gpu_allocator unconditionally.
#include <kiln/allocator.h>

#include <atomic>

namespace kiln {

namespace {
std::atomic<GpuAllocator*> g_allocator{nullptr};
}  // namespace

GpuAllocator::~GpuAllocator() = default;

void set_gpu_allocator(GpuAllocator* allocator) {
  g_allocator.store(allocator, std::memory_order_release);
}

GpuAllocator* get_gpu_allocator() {
  return g_allocator.load(std::memory_order_acquire);
}

}  // namespace kiln
