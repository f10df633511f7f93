// The CUDA device: device memory through the pluggable GpuAllocator (include/kiln/allocator.h),
// copies, stream synchronization and CUDA-event timing, plus the device descriptor (name,
// compute capability, CUDA runtime, cuDNN and cuBLAS versions) that keys timing caches and
// plan compatibility.
//
// Semantics worth knowing:
//   - allocate() returns memory usable from any stream as soon as it returns; releasing a
//     DeviceBuffer synchronizes the device first (as cudaFree does) and gives the memory back
//     to the allocator that made it, even if another allocator was installed since.
//   - upload()/download() copy on a private non-blocking stream and return when done. They are
//     NOT ordered after work on the caller's streams: synchronize the stream that wrote the
//     source (or will read the destination) first. They never touch the legacy default stream,
//     so they don't break a graph capture running in another thread.
//   - time() records CUDA events around each run back to back on `stream` and returns the
//     median per-run milliseconds.
//
// Thread-safety: every method is thread-safe. Methods make the device current for their
// duration and restore the caller's current device.
#pragma once

#include <kiln/allocator.h>

#include "backends/device.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace kiln {

// The CUDA device that was current on the calling thread at the first call (device 0 unless the
// application chose another). Error "no CUDA device is visible (...)" when the driver reports
// none or cannot be loaded; never crashes.
Result<Device*> cuda_device();

namespace cuda {

// The default allocator: cudaMallocFromPoolAsync / cudaFreeAsync on the device's default memory
// pool (release threshold raised to keep freed memory pooled), or cudaMalloc / cudaFree where the
// device has no memory pools. Thread-safe.
class CudaMallocAsyncAllocator final : public GpuAllocator {
 public:
  explicit CudaMallocAsyncAllocator(int device, bool use_pool, void* pool);
  void* allocate(size_t bytes, size_t alignment, void* stream) override;
  void deallocate(void* ptr, void* stream) override;
  // allocate() with the CUDA error as a Status ("cudaMallocAsync(1048576 bytes): out of memory").
  Result<void*> allocate_checked(size_t bytes, size_t alignment, void* stream);
  bool uses_memory_pool() const { return use_pool_; }

 private:
  int device_;
  bool use_pool_;
  void* pool_;  // cudaMemPool_t
};

class CudaDevice final : public Device {
 public:
  ~CudaDevice() override;
  // Opens device `ordinal`: reads its properties, raises its default pool's release threshold
  // and creates the private copy stream. Creates no library handle.
  static Result<std::unique_ptr<CudaDevice>> create(int ordinal);

  Backend backend() const override { return Backend::kCuda; }
  const DeviceInfo& info() const override { return info_; }
  Result<DeviceBuffer> allocate(size_t bytes) override;
  Status upload(void* device_dst, const void* host_src, size_t bytes) override;
  Status download(void* host_dst, const void* device_src, size_t bytes) override;
  Status copy_async(void* dst, const void* src, size_t bytes, void* stream) override;
  Status synchronize(void* stream) override;
  Result<double> time(void* stream, int warmup, int iterations,
                      const std::function<Status()>& fn) override;

  int ordinal() const { return ordinal_; }
  int driver_version() const { return driver_version_; }
  int multiprocessor_count() const { return multiprocessor_count_; }
  // The default allocator of this device (what allocate() uses while no allocator is set);
  // an application allocator may wrap it.
  CudaMallocAsyncAllocator& default_allocator() { return *default_allocator_; }
  // Live allocations made through allocate() (for tests and leak checks).
  size_t live_allocations() const;

 protected:
  void release(void* ptr) override;

 private:
  CudaDevice() = default;

  int ordinal_ = 0;
  int driver_version_ = 0;
  int multiprocessor_count_ = 0;
  DeviceInfo info_;
  std::unique_ptr<CudaMallocAsyncAllocator> default_allocator_;
  void* copy_stream_ = nullptr;  // cudaStream_t, non-blocking, owned
  mutable std::mutex mutex_;
  std::unordered_map<void*, GpuAllocator*> owners_;  // allocator of each live allocation
};

// The device returned by cuda_device(), with its CUDA-specific accessors.
Result<CudaDevice*> get_cuda_device();

}  // namespace cuda
}  // namespace kiln
