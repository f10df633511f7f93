#include "backends/cuda/handles.h"

#include "backends/cuda/cuda_check.h"

#include <cublas_v2.h>
#include <cudnn.h>

#include <map>
#include <mutex>
#include <vector>

namespace kiln::cuda {

namespace detail {
cublasStatus_t destroy_cublas(cublasHandle_t h) {
  return cublasDestroy(h);
}
cublasStatus_t destroy_cublaslt(cublasLtHandle_t h) {
  return cublasLtDestroy(h);
}
cudnnStatus_t destroy_cudnn(cudnnHandle_t h) {
  return cudnnDestroy(h);
}
}  // namespace detail

Result<CublasHandle> CublasHandle::create() {
  cublasHandle_t h = nullptr;
  KILN_RETURN_IF_ERROR(cublas_status(cublasCreate(&h), "cublasCreate"));
  CublasHandle handle;
  handle.handle_.reset(h);
  return handle;
}

Result<CublasLtHandle> CublasLtHandle::create() {
  cublasLtHandle_t h = nullptr;
  KILN_RETURN_IF_ERROR(cublas_status(cublasLtCreate(&h), "cublasLtCreate"));
  CublasLtHandle handle;
  handle.handle_.reset(h);
  return handle;
}

Result<CudnnHandle> CudnnHandle::create() {
  cudnnHandle_t h = nullptr;
  KILN_RETURN_IF_ERROR(cudnn_status(cudnnCreate(&h), "cudnnCreate"));
  CudnnHandle handle;
  handle.handle_.reset(h);
  return handle;
}

namespace {

// Free handles of one library, per device. Deliberately never destroyed: at process exit the
// CUDA runtime may already be torn down when static destructors run, and destroying a cuBLAS or
// cuDNN handle then can crash; the driver reclaims everything at exit anyway.
template <typename Handle>
class Pools {
 public:
  static Pools& get() {
    static Pools& pools = *new Pools;  // NOLINT: intentionally leaked, see above
    return pools;
  }

  Result<HandleLease<Handle>> acquire() {
    int device = 0;
    KILN_RETURN_IF_ERROR(cuda_status(cudaGetDevice(&device), "cudaGetDevice"));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto& free = free_[device];
      if (!free.empty()) {
        Handle h = std::move(free.back());
        free.pop_back();
        return HandleLease<Handle>(device, std::move(h), &Pools::give_back);
      }
    }
    // Create outside the lock: creation is slow and may take other locks.
    KILN_ASSIGN_OR_RETURN(Handle h, Handle::create());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++created_;
    }
    return HandleLease<Handle>(device, std::move(h), &Pools::give_back);
  }

  Status reserve(size_t count) {
    int device = 0;
    KILN_RETURN_IF_ERROR(cuda_status(cudaGetDevice(&device), "cudaGetDevice"));
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (free_[device].size() >= count) return Status::ok();
      }
      KILN_ASSIGN_OR_RETURN(Handle h, Handle::create());
      std::lock_guard<std::mutex> lock(mutex_);
      ++created_;
      free_[device].push_back(std::move(h));
    }
  }

  size_t created() {
    std::lock_guard<std::mutex> lock(mutex_);
    return created_;
  }

  size_t available() {
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess) return 0;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(device);
    return it == free_.end() ? 0 : it->second.size();
  }

 private:
  static void give_back(int device, Handle&& handle) {
    Pools& pools = get();
    std::lock_guard<std::mutex> lock(pools.mutex_);
    pools.free_[device].push_back(std::move(handle));
  }

  std::mutex mutex_;
  std::map<int, std::vector<Handle>> free_;
  size_t created_ = 0;
};

}  // namespace

Result<HandleLease<CublasHandle>> acquire_cublas() {
  return Pools<CublasHandle>::get().acquire();
}
Result<HandleLease<CublasLtHandle>> acquire_cublaslt() {
  return Pools<CublasLtHandle>::get().acquire();
}
Result<HandleLease<CudnnHandle>> acquire_cudnn() {
  return Pools<CudnnHandle>::get().acquire();
}

Status reserve_handles(TacticSource source, size_t count) {
  switch (source) {
    case TacticSource::kCublas:
      return Pools<CublasHandle>::get().reserve(count);
    case TacticSource::kCublasLt:
      return Pools<CublasLtHandle>::get().reserve(count);
    case TacticSource::kCudnn:
      return Pools<CudnnHandle>::get().reserve(count);
    default:
      return Status::ok();
  }
}

size_t handles_created(TacticSource source) {
  switch (source) {
    case TacticSource::kCublas:
      return Pools<CublasHandle>::get().created();
    case TacticSource::kCublasLt:
      return Pools<CublasLtHandle>::get().created();
    case TacticSource::kCudnn:
      return Pools<CudnnHandle>::get().created();
    default:
      return 0;
  }
}

size_t handles_available(TacticSource source) {
  switch (source) {
    case TacticSource::kCublas:
      return Pools<CublasHandle>::get().available();
    case TacticSource::kCublasLt:
      return Pools<CublasLtHandle>::get().available();
    case TacticSource::kCudnn:
      return Pools<CudnnHandle>::get().available();
    default:
      return 0;
  }
}

}  // namespace kiln::cuda
