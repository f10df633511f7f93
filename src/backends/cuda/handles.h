// Library handles (cuBLAS, cuBLASLt, cuDNN): RAII owners, and per-device pools that create
// handles lazily, the first time a tactic of that source asks for one. A build or an engine that
// never uses a library never creates its handle, so disabling a tactic source leaves the library
// uninitialized (creating a handle is what initializes cuBLAS/cuDNN and takes device memory).
//
// Use in a kernel:
//   KILN_ASSIGN_OR_RETURN(auto blas, cuda::acquire_cublas());
//   KILN_CUDA_RETURN_IF_ERROR(cublasSetStream(blas.get(), stream));
//   ... cublasGemmEx(blas.get(), ...);
// The lease returns the handle to its pool when it goes out of scope.
//
// Thread-safety: acquire_*, reserve_handles and handles_created are thread-safe. A handle is
// leased to one caller at a time (cuBLAS and cuDNN handles must not be used concurrently with
// different streams), so concurrent kernels on several threads get distinct handles and a pool
// holds as many handles as there were concurrent users. Creating a handle allocates device
// memory and may synchronize, which a CUDA graph capture forbids: call reserve_handles before
// capturing (the runtime does this for the sources an engine uses).
#pragma once

#include <kiln/builder.h>
#include <kiln/status.h>

#include "backends/cuda/cuda_raii.h"

#include <cublasLt.h>
#include <cublas_api.h>
#include <cudnn_graph.h>

#include <cstddef>
#include <utility>

namespace kiln::cuda {

namespace detail {
cublasStatus_t destroy_cublas(cublasHandle_t h);
cublasStatus_t destroy_cublaslt(cublasLtHandle_t h);
cudnnStatus_t destroy_cudnn(cudnnHandle_t h);
}  // namespace detail

class CublasHandle {
 public:
  using Raw = cublasHandle_t;
  static constexpr TacticSource kSource = TacticSource::kCublas;
  CublasHandle() = default;
  static Result<CublasHandle> create();  // for the current device
  Raw get() const { return handle_.get(); }

 private:
  UniqueCudaObject<Raw, detail::destroy_cublas> handle_;
};

class CublasLtHandle {
 public:
  using Raw = cublasLtHandle_t;
  static constexpr TacticSource kSource = TacticSource::kCublasLt;
  CublasLtHandle() = default;
  static Result<CublasLtHandle> create();
  Raw get() const { return handle_.get(); }

 private:
  UniqueCudaObject<Raw, detail::destroy_cublaslt> handle_;
};

class CudnnHandle {
 public:
  using Raw = cudnnHandle_t;
  static constexpr TacticSource kSource = TacticSource::kCudnn;
  CudnnHandle() = default;
  static Result<CudnnHandle> create();
  Raw get() const { return handle_.get(); }

 private:
  UniqueCudaObject<Raw, detail::destroy_cudnn> handle_;
};

// A handle lent by a pool; gives it back when destroyed. Move-only.
template <typename Handle>
class HandleLease {
 public:
  using Release = void (*)(int device, Handle&& handle);
  HandleLease() = default;
  HandleLease(int device, Handle handle, Release release)
      : device_(device), handle_(std::move(handle)), release_(release) {}
  ~HandleLease() { reset(); }
  HandleLease(HandleLease&& o) noexcept { *this = std::move(o); }
  HandleLease& operator=(HandleLease&& o) noexcept {
    if (this != &o) {
      reset();
      device_ = o.device_;
      handle_ = std::move(o.handle_);
      release_ = std::exchange(o.release_, nullptr);
    }
    return *this;
  }
  HandleLease(const HandleLease&) = delete;
  HandleLease& operator=(const HandleLease&) = delete;

  typename Handle::Raw get() const { return handle_.get(); }
  void reset() {
    if (release_ != nullptr && handle_.get() != nullptr) release_(device_, std::move(handle_));
    release_ = nullptr;
    handle_ = Handle();
  }

 private:
  int device_ = -1;
  Handle handle_;
  Release release_ = nullptr;
};

// A handle of the calling thread's current device, from its pool (created if none is free).
Result<HandleLease<CublasHandle>> acquire_cublas();
Result<HandleLease<CublasLtHandle>> acquire_cublaslt();
Result<HandleLease<CudnnHandle>> acquire_cudnn();

// Makes sure the current device's pool of `source` (kCublas, kCublasLt or kCudnn) holds at least
// `count` handles, creating them now (outside any capture). Other sources: no-op.
Status reserve_handles(TacticSource source, size_t count);
// Handles of `source` created so far in this process, on every device (0 = never initialized).
size_t handles_created(TacticSource source);
// Handles of `source` currently free in the current device's pool.
size_t handles_available(TacticSource source);

}  // namespace kiln::cuda
