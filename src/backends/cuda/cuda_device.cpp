#include "backends/cuda/cuda_device.h"

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_raii.h"

#include <cublas_api.h>
#include <cuda_runtime_api.h>
#include <cudnn_graph.h>
#include <library_types.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace kiln {
namespace cuda {

namespace {

constexpr size_t kAlignment = 256;

// "cudaMallocAsync(1048576 bytes)", "cudaMemcpyAsync(upload, 64 bytes)".
std::string bytes_call(const char* fn, size_t bytes, const char* what = nullptr) {
  std::string s = std::string(fn) + "(";
  if (what != nullptr) s += std::string(what) + ", ";
  return s + std::to_string(bytes) + " bytes)";
}

int cublas_version() {
  int major = 0, minor = 0, patch = 0;
  if (cublasGetProperty(MAJOR_VERSION, &major) != CUBLAS_STATUS_SUCCESS ||
      cublasGetProperty(MINOR_VERSION, &minor) != CUBLAS_STATUS_SUCCESS ||
      cublasGetProperty(PATCH_LEVEL, &patch) != CUBLAS_STATUS_SUCCESS) {
    return 0;
  }
  return major * 10000 + minor * 100 + patch;  // CUBLAS_VERSION's encoding
}

}  // namespace

// ---- default allocator ----

CudaMallocAsyncAllocator::CudaMallocAsyncAllocator(int device, bool use_pool, void* pool)
    : device_(device), use_pool_(use_pool), pool_(pool) {}

Result<void*> CudaMallocAsyncAllocator::allocate_checked(size_t bytes, size_t alignment,
                                                         void* stream) {
  DeviceGuard guard(device_);
  void* p = nullptr;
  if (use_pool_) {
    cudaError_t e = cudaMallocFromPoolAsync(&p, bytes, static_cast<cudaMemPool_t>(pool_),
                                            static_cast<cudaStream_t>(stream));
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      return cuda_status(e, bytes_call("cudaMallocAsync", bytes));
    }
  } else {
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      return cuda_status(e, bytes_call("cudaMalloc", bytes));
    }
  }
  if (alignment > 1 && reinterpret_cast<uintptr_t>(p) % alignment != 0) {
    deallocate(p, stream);
    return unsupported("the default GPU allocator cannot align to " + std::to_string(alignment) +
                       " bytes");
  }
  return p;
}

void* CudaMallocAsyncAllocator::allocate(size_t bytes, size_t alignment, void* stream) {
  auto r = allocate_checked(bytes, alignment, stream);
  return r.is_ok() ? *r : nullptr;
}

void CudaMallocAsyncAllocator::deallocate(void* ptr, void* stream) {
  if (ptr == nullptr) return;
  DeviceGuard guard(device_);
  if (use_pool_) {
    (void)cudaFreeAsync(ptr, static_cast<cudaStream_t>(stream));
  } else {
    (void)cudaFree(ptr);
  }
}

// ---- device ----

Result<std::unique_ptr<CudaDevice>> CudaDevice::create(int ordinal) {
  std::unique_ptr<CudaDevice> device(new CudaDevice());
  device->ordinal_ = ordinal;
  DeviceGuard guard(ordinal);

  cudaDeviceProp prop{};
  KILN_RETURN_IF_ERROR(cuda_status(cudaGetDeviceProperties(&prop, ordinal),
                                   "cudaGetDeviceProperties(" + std::to_string(ordinal) + ")"));
  DeviceInfo& info = device->info_;
  info.name = prop.name;
  info.compute_major = prop.major;
  info.compute_minor = prop.minor;
  info.total_memory = prop.totalGlobalMem;
  device->multiprocessor_count_ = prop.multiProcessorCount;
  KILN_RETURN_IF_ERROR(
      cuda_status(cudaRuntimeGetVersion(&info.cuda_runtime_version), "cudaRuntimeGetVersion"));
  KILN_RETURN_IF_ERROR(
      cuda_status(cudaDriverGetVersion(&device->driver_version_), "cudaDriverGetVersion"));
  info.driver_version = device->driver_version_;
  // Version getters only: they neither create handles nor initialize the libraries.
  info.cudnn_version = static_cast<int>(cudnnGetVersion());
  info.cublas_version = cublas_version();

  int pools_supported = 0;
  KILN_RETURN_IF_ERROR(cuda_status(
      cudaDeviceGetAttribute(&pools_supported, cudaDevAttrMemoryPoolsSupported, ordinal),
      "cudaDeviceGetAttribute(cudaDevAttrMemoryPoolsSupported)"));
  cudaMemPool_t pool = nullptr;
  if (pools_supported) {
    KILN_RETURN_IF_ERROR(
        cuda_status(cudaDeviceGetDefaultMemPool(&pool, ordinal), "cudaDeviceGetDefaultMemPool"));
    // Keep freed memory in the pool (the default threshold 0 returns it to the driver at every
    // synchronization, making each later allocation a slow cudaMalloc).
    uint64_t threshold = std::numeric_limits<uint64_t>::max();
    KILN_RETURN_IF_ERROR(
        cuda_status(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold),
                    "cudaMemPoolSetAttribute(cudaMemPoolAttrReleaseThreshold)"));
  }
  device->default_allocator_ =
      std::make_unique<CudaMallocAsyncAllocator>(ordinal, pools_supported != 0, pool);

  cudaStream_t stream = nullptr;
  KILN_RETURN_IF_ERROR(cuda_status(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
                                   "cudaStreamCreateWithFlags"));
  device->copy_stream_ = stream;
  return device;
}

CudaDevice::~CudaDevice() {
  if (copy_stream_ != nullptr) {
    DeviceGuard guard(ordinal_);
    (void)cudaStreamDestroy(static_cast<cudaStream_t>(copy_stream_));
  }
}

Result<DeviceBuffer> CudaDevice::allocate(size_t bytes) {
  // Never zero bytes: a valid address keeps zero-size tensors simple downstream.
  size_t rounded = std::max<size_t>((bytes + kAlignment - 1) / kAlignment * kAlignment, kAlignment);
  DeviceGuard guard(ordinal_);
  GpuAllocator* user = get_gpu_allocator();
  void* p = nullptr;
  if (user != nullptr) {
    p = user->allocate(rounded, kAlignment, nullptr);
    if (p == nullptr) {
      return resource_exhausted("the application's GPU allocator could not allocate " +
                                std::to_string(bytes) + " bytes");
    }
    if (reinterpret_cast<uintptr_t>(p) % kAlignment != 0) {
      user->deallocate(p, nullptr);
      return invalid_argument("the application's GPU allocator returned memory not aligned to " +
                              std::to_string(kAlignment) + " bytes");
    }
    // Allocated in the order of the legacy stream: make it usable from every stream.
    KILN_RETURN_IF_ERROR(
        cuda_status(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize(after allocation)"));
  } else {
    KILN_ASSIGN_OR_RETURN(p,
                          default_allocator_->allocate_checked(rounded, kAlignment, copy_stream_));
    Status s = cuda_status(cudaStreamSynchronize(static_cast<cudaStream_t>(copy_stream_)),
                           "cudaStreamSynchronize(after allocation)");
    if (!s.is_ok()) {
      default_allocator_->deallocate(p, copy_stream_);
      return s;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    owners_[p] = user;
  }
  return DeviceBuffer(this, p, bytes);
}

void CudaDevice::release(void* ptr) {
  GpuAllocator* owner = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = owners_.find(ptr);
    if (it == owners_.end()) return;  // not ours: a programming error, but never a double free
    owner = it->second;
    owners_.erase(it);
  }
  DeviceGuard guard(ordinal_);
  // As cudaFree does: work already enqueued on any stream may still use the memory.
  (void)cudaDeviceSynchronize();
  if (owner != nullptr) {
    owner->deallocate(ptr, nullptr);
  } else {
    default_allocator_->deallocate(ptr, copy_stream_);
  }
}

size_t CudaDevice::live_allocations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return owners_.size();
}

Status CudaDevice::upload(void* device_dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return Status::ok();
  DeviceGuard guard(ordinal_);
  auto stream = static_cast<cudaStream_t>(copy_stream_);
  KILN_RETURN_IF_ERROR(
      cuda_status(cudaMemcpyAsync(device_dst, host_src, bytes, cudaMemcpyDefault, stream),
                  bytes_call("cudaMemcpyAsync", bytes, "upload")));
  return cuda_status(cudaStreamSynchronize(stream), "cudaStreamSynchronize(upload)");
}

Status CudaDevice::download(void* host_dst, const void* device_src, size_t bytes) {
  if (bytes == 0) return Status::ok();
  DeviceGuard guard(ordinal_);
  auto stream = static_cast<cudaStream_t>(copy_stream_);
  KILN_RETURN_IF_ERROR(
      cuda_status(cudaMemcpyAsync(host_dst, device_src, bytes, cudaMemcpyDefault, stream),
                  bytes_call("cudaMemcpyAsync", bytes, "download")));
  return cuda_status(cudaStreamSynchronize(stream), "cudaStreamSynchronize(download)");
}

Status CudaDevice::copy_async(void* dst, const void* src, size_t bytes, void* stream) {
  if (bytes == 0) return Status::ok();
  DeviceGuard guard(ordinal_);
  return cuda_status(
      cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, static_cast<cudaStream_t>(stream)),
      bytes_call("cudaMemcpyAsync", bytes, "device to device"));
}

Status CudaDevice::synchronize(void* stream) {
  DeviceGuard guard(ordinal_);
  return cuda_status(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)),
                     "cudaStreamSynchronize");
}

Result<double> CudaDevice::time(void* stream_ptr, int warmup, int iterations,
                                const std::function<Status()>& fn) {
  DeviceGuard guard(ordinal_);
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  iterations = std::max(iterations, 1);
  for (int i = 0; i < warmup; ++i) KILN_RETURN_IF_ERROR(fn());
  // Events between runs, recorded back to back: each interval is one run's device time,
  // without host synchronization gaps between runs.
  std::vector<Event> events;
  events.reserve(iterations + 1);
  for (int i = 0; i <= iterations; ++i) {
    KILN_ASSIGN_OR_RETURN(Event e, Event::create(true));
    events.push_back(std::move(e));
  }
  KILN_RETURN_IF_ERROR(events[0].record(stream));
  for (int i = 0; i < iterations; ++i) {
    KILN_RETURN_IF_ERROR(fn());
    KILN_RETURN_IF_ERROR(events[i + 1].record(stream));
  }
  KILN_RETURN_IF_ERROR(events.back().synchronize());
  std::vector<double> times;
  times.reserve(iterations);
  for (int i = 0; i < iterations; ++i) {
    KILN_ASSIGN_OR_RETURN(float ms, Event::elapsed_ms(events[i], events[i + 1]));
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

Result<CudaDevice*> get_cuda_device() {
  // Deliberately never destroyed: DeviceBuffers held by static objects of the application may be
  // released during static destruction, and the CUDA runtime may be gone by then anyway.
  static const Result<CudaDevice*> device = []() -> Result<CudaDevice*> {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      return device_error("no CUDA device is visible (" +
                          cuda_status(e, "cudaGetDeviceCount").message() + ")");
    }
    if (count == 0) return device_error("no CUDA device is visible (cudaGetDeviceCount: 0)");
    int ordinal = 0;
    KILN_RETURN_IF_ERROR(cuda_status(cudaGetDevice(&ordinal), "cudaGetDevice"));
    KILN_ASSIGN_OR_RETURN(std::unique_ptr<CudaDevice> created, CudaDevice::create(ordinal));
    return created.release();  // NOLINT: intentionally leaked, see above
  }();
  return device;
}

}  // namespace cuda

Result<Device*> cuda_device() {
  KILN_ASSIGN_OR_RETURN(cuda::CudaDevice * device, cuda::get_cuda_device());
  return static_cast<Device*>(device);
}

}  // namespace kiln
