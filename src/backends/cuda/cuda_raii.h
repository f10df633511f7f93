// Move-only owners of CUDA runtime objects: streams, events, pinned host buffers and CUDA graphs.
// Each is created by a static create()/capture() returning Result<T> (a failed CUDA call becomes
// a Status naming it) and destroys its object when it goes out of scope. A default-constructed
// owner holds nothing.
//
// Thread-safety: like the objects they own. A Stream, Event or Graph may be used from several
// threads (CUDA runtime calls are thread-safe); moving or destroying one needs exclusive access.
// Destroy objects only when the device no longer uses them (streams and events may be destroyed
// with work pending: CUDA releases them once it is done).
#pragma once

#include <kiln/status.h>

#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>
#include <utility>

namespace kiln::cuda {

// Owns a T released by Destroy(T) when not null. Move-only.
template <typename T, auto Destroy>
class UniqueCudaObject {
 public:
  UniqueCudaObject() = default;
  explicit UniqueCudaObject(T object) : object_(object) {}
  ~UniqueCudaObject() { reset(); }
  UniqueCudaObject(UniqueCudaObject&& o) noexcept : object_(std::exchange(o.object_, T{})) {}
  UniqueCudaObject& operator=(UniqueCudaObject&& o) noexcept {
    if (this != &o) {
      reset();
      object_ = std::exchange(o.object_, T{});
    }
    return *this;
  }
  UniqueCudaObject(const UniqueCudaObject&) = delete;
  UniqueCudaObject& operator=(const UniqueCudaObject&) = delete;

  T get() const { return object_; }
  explicit operator bool() const { return object_ != T{}; }
  void reset(T object = T{}) {
    if (object_ != T{}) (void)Destroy(object_);  // errors at destruction are not actionable
    object_ = object;
  }
  T release() { return std::exchange(object_, T{}); }

 private:
  T object_{};
};

class Stream {
 public:
  Stream() = default;
  // A non-blocking stream does not synchronize with the legacy default stream (stream 0), so
  // other threads' legacy-stream work neither waits for it nor breaks a capture on it.
  // priority: lower numbers are higher priority (cudaDeviceGetStreamPriorityRange); 0 = default.
  static Result<Stream> create(bool non_blocking = true, int priority = 0);

  cudaStream_t get() const { return stream_.get(); }
  explicit operator bool() const { return static_cast<bool>(stream_); }
  Status synchronize() const;
  // Makes future work on this stream wait for `event` (recorded on any stream).
  Status wait(cudaEvent_t event) const;

 private:
  UniqueCudaObject<cudaStream_t, cudaStreamDestroy> stream_;
};

class Event {
 public:
  Event() = default;
  // timing = false makes a lighter event for synchronization only (cudaEventDisableTiming).
  static Result<Event> create(bool timing = true);

  cudaEvent_t get() const { return event_.get(); }
  explicit operator bool() const { return static_cast<bool>(event_); }
  Status record(cudaStream_t stream) const;
  Status synchronize() const;
  // True when the work recorded before the event has completed.
  Result<bool> query() const;
  // Milliseconds between two completed timing events.
  static Result<float> elapsed_ms(const Event& start, const Event& end);

 private:
  UniqueCudaObject<cudaEvent_t, cudaEventDestroy> event_;
};

// Page-locked host memory (cudaHostAlloc): copies from and to it can run asynchronously and
// overlap kernels.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  // flags: cudaHostAllocDefault, cudaHostAllocPortable, cudaHostAllocWriteCombined, ...
  static Result<PinnedBuffer> allocate(size_t bytes, unsigned int flags = cudaHostAllocDefault);

  void* data() const { return data_.get(); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_.get());
  }
  size_t size() const { return size_; }
  bool empty() const { return !data_; }

 private:
  UniqueCudaObject<void*, cudaFreeHost> data_;
  size_t size_ = 0;
};

// A captured CUDA graph (cudaGraph_t) and its executable instance (cudaGraphExec_t).
class Graph {
 public:
  Graph() = default;
  // Captures the work that `fn` enqueues on `stream` and instantiates it. `stream` must not be
  // the legacy default stream. If fn fails, the capture is ended and fn's error returned; if
  // the work cannot be captured (a synchronization or allocation inside it), the error names
  // cudaStreamEndCapture. ThreadLocal mode: other threads' unsafe calls don't break it.
  static Result<Graph> capture(cudaStream_t stream, const std::function<Status()>& fn,
                               cudaStreamCaptureMode mode = cudaStreamCaptureModeThreadLocal);

  // Captures again (new shapes or addresses). Updates the executable graph in place when the
  // new graph has the same topology (cheap: no re-instantiation); otherwise re-instantiates.
  // Returns whether it was updated in place. On error the previous graph is kept.
  Result<bool> recapture(cudaStream_t stream, const std::function<Status()>& fn,
                         cudaStreamCaptureMode mode = cudaStreamCaptureModeThreadLocal);

  Status launch(cudaStream_t stream) const;
  bool empty() const { return !exec_; }
  cudaGraph_t graph() const { return graph_.get(); }
  cudaGraphExec_t exec() const { return exec_.get(); }
  Result<size_t> num_nodes() const;

 private:
  static Result<cudaGraph_t> capture_raw(cudaStream_t stream, const std::function<Status()>& fn,
                                         cudaStreamCaptureMode mode);

  UniqueCudaObject<cudaGraph_t, cudaGraphDestroy> graph_;
  UniqueCudaObject<cudaGraphExec_t, cudaGraphExecDestroy> exec_;
};

// Makes `device` current for the calling thread during the guard's lifetime (restores the
// previous device afterwards); does nothing when it already is.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

// Multiprocessors of the calling thread's current device (grid sizing at kernel creation).
Result<int> current_multiprocessor_count();

}  // namespace kiln::cuda
