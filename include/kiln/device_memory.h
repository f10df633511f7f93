// kiln — device memory, page-locked host memory, streams and events for applications, on
// either backend and without CUDA headers. Handles are the raw objects (cudaStream_t,
// cudaEvent_t as void*) so they mix with an application's own CUDA code; on the CPU backend
// memory is host memory, streams and events are null handles, copies happen at once and events
// are always complete. Examples and tools use these to run the same code on both backends.
//
//   auto stream = Stream::create(engine.backend());
//   auto x = DeviceMemory::allocate(engine.backend(), bytes);
//   x->copy_from_host(host_x.data(), bytes);
//   ctx.set_tensor_address("x", x->data());
//   ctx.enqueue(stream->handle());
//   stream->synchronize();
//
// Thread-safety: the free functions are thread-safe. An object may be used from several
// threads at once (the CUDA calls are thread-safe); moving or destroying it needs exclusive
// access. Destroy memory only when no enqueued work uses it any more.
#pragma once

#include <kiln/status.h>
#include <kiln/types.h>

#include <cstddef>
#include <memory>

namespace kiln {

// OK when `backend` can run here; otherwise why not ("no CUDA device is visible (...)",
// "kiln was built without CUDA ...").
Status backend_status(Backend backend);

// Device memory (host memory on the CPU backend), 256-byte aligned. Move-only.
class DeviceMemory {
 public:
  DeviceMemory();
  ~DeviceMemory();
  DeviceMemory(DeviceMemory&&) noexcept;
  DeviceMemory& operator=(DeviceMemory&&) noexcept;

  static Result<DeviceMemory> allocate(Backend backend, size_t bytes);

  void* data() const;
  size_t size() const;
  // Synchronous copies between this memory (from `offset`) and host memory.
  Status copy_from_host(const void* src, size_t bytes, size_t offset = 0);
  Status copy_to_host(void* dst, size_t bytes, size_t offset = 0) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Page-locked host memory (cudaHostAlloc) on CUDA: asynchronous copies from and to it overlap
// kernels. Plain aligned host memory on the CPU backend. Move-only.
class PinnedMemory {
 public:
  PinnedMemory();
  ~PinnedMemory();
  PinnedMemory(PinnedMemory&&) noexcept;
  PinnedMemory& operator=(PinnedMemory&&) noexcept;

  static Result<PinnedMemory> allocate(Backend backend, size_t bytes);

  void* data() const;
  size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Stream {
 public:
  Stream();
  ~Stream();
  Stream(Stream&&) noexcept;
  Stream& operator=(Stream&&) noexcept;

  // CUDA: a non-blocking stream (no implicit synchronization with the legacy default stream).
  static Result<Stream> create(Backend backend);

  void* handle() const;  // cudaStream_t; nullptr on the CPU backend
  Status synchronize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Event {
 public:
  Event();
  ~Event();
  Event(Event&&) noexcept;
  Event& operator=(Event&&) noexcept;

  // timing = true allows elapsed_ms (CUDA events without timing are lighter).
  static Result<Event> create(Backend backend, bool timing = false);

  void* handle() const;  // cudaEvent_t; nullptr on the CPU backend
  Status record(const Stream& stream);
  Status synchronize() const;
  Result<bool> query() const;  // true once the recorded work is complete
  // Makes future work on `stream` wait for this event (device-side; the host does not wait).
  Status wait_on(const Stream& stream) const;
  // Milliseconds between two completed timing events (0 on the CPU backend).
  static Result<float> elapsed_ms(const Event& start, const Event& end);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Copies `bytes` between any two of host, pinned and device memory, ordered on `stream`
// (asynchronous on CUDA: from pageable host memory the call returns once the source was read;
// with pinned memory it returns at once). CPU: copies now.
Status copy_async(void* dst, const void* src, size_t bytes, const Stream& stream);

}  // namespace kiln
