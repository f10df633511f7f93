// The CPU device: host memory, synchronous execution, steady-clock timing.
#include "backends/device.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace kiln {

namespace {

class CpuDevice final : public Device {
 public:
  CpuDevice() { info_.name = "cpu"; }
  Backend backend() const override { return Backend::kCpu; }
  const DeviceInfo& info() const override { return info_; }

  Result<DeviceBuffer> allocate(size_t bytes) override {
    size_t rounded = std::max<size_t>((bytes + 255) / 256 * 256, 256);
    void* p = std::aligned_alloc(256, rounded);
    if (p == nullptr) {
      return resource_exhausted("cannot allocate " + std::to_string(bytes) + " bytes of host memory");
    }
    return DeviceBuffer(this, p, bytes);
  }
  Status upload(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
    return Status::ok();
  }
  Status download(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
    return Status::ok();
  }
  Status copy_async(void* dst, const void* src, size_t bytes, void*) override {
    if (bytes) std::memmove(dst, src, bytes);
    return Status::ok();
  }
  Status synchronize(void*) override { return Status::ok(); }
  Result<double> time(void*, int warmup, int iterations,
                      const std::function<Status()>& fn) override {
    for (int i = 0; i < warmup; ++i) KILN_RETURN_IF_ERROR(fn());
    std::vector<double> times;
    for (int i = 0; i < std::max(iterations, 1); ++i) {
      auto t0 = std::chrono::steady_clock::now();
      KILN_RETURN_IF_ERROR(fn());
      times.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  }

 protected:
  void release(void* ptr) override { std::free(ptr); }

 private:
  DeviceInfo info_;
};

}  // namespace

Device* cpu_device() {
  static CpuDevice device;
  return &device;
}

}  // namespace kiln
