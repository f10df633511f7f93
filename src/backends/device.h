// The device an engine runs on, as the builder and runtime see it: memory, copies, streams and
// timing. CpuDevice (backends/cpu) uses host memory and runs synchronously; CudaDevice
// (backends/cuda) uses device memory and CUDA streams. Kernels never call this: they get
// pointers and the stream in ExecArgs.
//
// Thread-safety: a Device is shared by an engine and its contexts; every method is thread-safe.
#pragma once

#include <kiln/status.h>
#include <kiln/types.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace kiln {

class Device;

// Owning handle of device memory (host memory for the CPU device). Move-only.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Device* device, void* ptr, size_t size) : device_(device), ptr_(ptr), size_(size) {}
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept { *this = std::move(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const { return ptr_; }
  size_t size() const { return size_; }
  bool empty() const { return ptr_ == nullptr; }
  void reset();

 private:
  Device* device_ = nullptr;
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

struct DeviceInfo {
  std::string name;  // "cpu" or the GPU's name
  int compute_major = 0, compute_minor = 0;
  int cuda_runtime_version = 0, cudnn_version = 0, cublas_version = 0;
  int driver_version = 0;  // cudaDriverGetVersion (0 for CPU)
  size_t total_memory = 0;
};

class Device {
 public:
  virtual ~Device() = default;
  virtual Backend backend() const = 0;
  virtual const DeviceInfo& info() const = 0;

  // 256-byte aligned memory; error Status (naming the size) when out of memory.
  virtual Result<DeviceBuffer> allocate(size_t bytes) = 0;
  // Synchronous copies between host and device memory (load time, tests, tuning setup).
  virtual Status upload(void* device_dst, const void* host_src, size_t bytes) = 0;
  virtual Status download(void* host_dst, const void* device_src, size_t bytes) = 0;
  // Device-to-device copy ordered on `stream` (capturable on CUDA).
  virtual Status copy_async(void* dst, const void* src, size_t bytes, void* stream) = 0;
  virtual Status synchronize(void* stream) = 0;

  // Measures `fn` (which enqueues work on `stream`) run `iterations` times after `warmup` runs;
  // returns the median milliseconds per run (CUDA events on CUDA, a steady clock on CPU).
  virtual Result<double> time(void* stream, int warmup, int iterations,
                              const std::function<Status()>& fn) = 0;

 protected:
  friend class DeviceBuffer;
  virtual void release(void* ptr) = 0;
};

inline DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    reset();
    device_ = o.device_;
    ptr_ = o.ptr_;
    size_ = o.size_;
    o.device_ = nullptr;
    o.ptr_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

inline void DeviceBuffer::reset() {
  if (device_ && ptr_) device_->release(ptr_);
  device_ = nullptr;
  ptr_ = nullptr;
  size_ = 0;
}

// The process-wide device of a backend (the current CUDA device for kCuda). Errors say why a
// backend is unavailable ("kiln was built without CUDA", "no CUDA device is visible").
Result<Device*> get_device(Backend backend);

}  // namespace kiln
