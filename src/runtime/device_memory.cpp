#include <kiln/device_memory.h>

#include "backends/device.h"

#ifdef KILN_WITH_CUDA
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_raii.h"
#endif

#include <cstdlib>
#include <cstring>

namespace kiln {

namespace {

Status bounds(const char* what, size_t bytes, size_t offset, size_t size) {
  if (offset > size || bytes > size - offset) {
    return out_of_range(std::string(what) + ": " + std::to_string(bytes) + " bytes at offset " +
                        std::to_string(offset) + " do not fit in " + std::to_string(size) +
                        " bytes");
  }
  return Status::ok();
}

}  // namespace

Status backend_status(Backend backend) {
  auto device = get_device(backend);
  return device.is_ok() ? Status::ok() : device.status();
}

// ---- DeviceMemory ----

struct DeviceMemory::Impl {
  Device* device = nullptr;
  DeviceBuffer buffer;
};

DeviceMemory::DeviceMemory() = default;
DeviceMemory::~DeviceMemory() = default;
DeviceMemory::DeviceMemory(DeviceMemory&&) noexcept = default;
DeviceMemory& DeviceMemory::operator=(DeviceMemory&&) noexcept = default;

Result<DeviceMemory> DeviceMemory::allocate(Backend backend, size_t bytes) {
  KILN_ASSIGN_OR_RETURN(Device * device, get_device(backend));
  KILN_ASSIGN_OR_RETURN(DeviceBuffer buffer, device->allocate(bytes));
  DeviceMemory m;
  m.impl_ = std::make_unique<Impl>();
  m.impl_->device = device;
  m.impl_->buffer = std::move(buffer);
  return m;
}

void* DeviceMemory::data() const {
  return impl_ ? impl_->buffer.get() : nullptr;
}
size_t DeviceMemory::size() const {
  return impl_ ? impl_->buffer.size() : 0;
}

Status DeviceMemory::copy_from_host(const void* src, size_t bytes, size_t offset) {
  KILN_RETURN_IF_ERROR(bounds("DeviceMemory::copy_from_host", bytes, offset, size()));
  if (bytes == 0) return Status::ok();
  return impl_->device->upload(static_cast<char*>(data()) + offset, src, bytes);
}

Status DeviceMemory::copy_to_host(void* dst, size_t bytes, size_t offset) const {
  KILN_RETURN_IF_ERROR(bounds("DeviceMemory::copy_to_host", bytes, offset, size()));
  if (bytes == 0) return Status::ok();
  return impl_->device->download(dst, static_cast<const char*>(data()) + offset, bytes);
}

// ---- PinnedMemory ----

struct PinnedMemory::Impl {
#ifdef KILN_WITH_CUDA
  cuda::PinnedBuffer pinned;
#endif
  void* host = nullptr;  // CPU backend: aligned_alloc
  size_t size = 0;
  ~Impl() {
    std::free(host);
  }
};

PinnedMemory::PinnedMemory() = default;
PinnedMemory::~PinnedMemory() = default;
PinnedMemory::PinnedMemory(PinnedMemory&&) noexcept = default;
PinnedMemory& PinnedMemory::operator=(PinnedMemory&&) noexcept = default;

Result<PinnedMemory> PinnedMemory::allocate(Backend backend, size_t bytes) {
  KILN_RETURN_IF_ERROR(backend_status(backend));
  PinnedMemory m;
  m.impl_ = std::make_unique<Impl>();
  m.impl_->size = bytes;
  if (backend == Backend::kCuda) {
#ifdef KILN_WITH_CUDA
    KILN_ASSIGN_OR_RETURN(m.impl_->pinned,
                          cuda::PinnedBuffer::allocate(std::max<size_t>(bytes, 1)));
#endif
    return m;
  }
  m.impl_->host = std::aligned_alloc(256, std::max<size_t>((bytes + 255) / 256 * 256, 256));
  if (m.impl_->host == nullptr) {
    return resource_exhausted("cannot allocate " + std::to_string(bytes) + " bytes of host memory");
  }
  return m;
}

void* PinnedMemory::data() const {
  if (!impl_) return nullptr;
#ifdef KILN_WITH_CUDA
  if (!impl_->pinned.empty()) return impl_->pinned.data();
#endif
  return impl_->host;
}
size_t PinnedMemory::size() const {
  return impl_ ? impl_->size : 0;
}

// ---- Stream ----

struct Stream::Impl {
#ifdef KILN_WITH_CUDA
  cuda::Stream stream;
#endif
};

Stream::Stream() = default;
Stream::~Stream() = default;
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&&) noexcept = default;

Result<Stream> Stream::create(Backend backend) {
  KILN_RETURN_IF_ERROR(backend_status(backend));
  Stream s;
  s.impl_ = std::make_unique<Impl>();
#ifdef KILN_WITH_CUDA
  if (backend == Backend::kCuda) {
    KILN_ASSIGN_OR_RETURN(s.impl_->stream, cuda::Stream::create(/*non_blocking=*/true));
  }
#endif
  return s;
}

void* Stream::handle() const {
#ifdef KILN_WITH_CUDA
  if (impl_) return impl_->stream.get();
#endif
  return nullptr;
}

Status Stream::synchronize() const {
#ifdef KILN_WITH_CUDA
  if (impl_ && impl_->stream) return impl_->stream.synchronize();
#endif
  return Status::ok();
}

// ---- Event ----

struct Event::Impl {
#ifdef KILN_WITH_CUDA
  cuda::Event event;
#endif
};

Event::Event() = default;
Event::~Event() = default;
Event::Event(Event&&) noexcept = default;
Event& Event::operator=(Event&&) noexcept = default;

Result<Event> Event::create(Backend backend, bool timing) {
  KILN_RETURN_IF_ERROR(backend_status(backend));
  Event e;
  e.impl_ = std::make_unique<Impl>();
#ifdef KILN_WITH_CUDA
  if (backend == Backend::kCuda) {
    KILN_ASSIGN_OR_RETURN(e.impl_->event, cuda::Event::create(timing));
  }
#endif
  return e;
}

void* Event::handle() const {
#ifdef KILN_WITH_CUDA
  if (impl_) return impl_->event.get();
#endif
  return nullptr;
}

Status Event::record(const Stream& stream) {
#ifdef KILN_WITH_CUDA
  if (impl_ && impl_->event) return impl_->event.record(static_cast<cudaStream_t>(stream.handle()));
#endif
  return Status::ok();
}

Status Event::synchronize() const {
#ifdef KILN_WITH_CUDA
  if (impl_ && impl_->event) return impl_->event.synchronize();
#endif
  return Status::ok();
}

Result<bool> Event::query() const {
#ifdef KILN_WITH_CUDA
  if (impl_ && impl_->event) return impl_->event.query();
#endif
  return true;
}

Status Event::wait_on(const Stream& stream) const {
#ifdef KILN_WITH_CUDA
  if (impl_ && impl_->event) {
    return cuda::cuda_status(
        cudaStreamWaitEvent(static_cast<cudaStream_t>(stream.handle()), impl_->event.get(), 0),
        "cudaStreamWaitEvent");
  }
#endif
  return Status::ok();
}

Result<float> Event::elapsed_ms(const Event& start, const Event& end) {
#ifdef KILN_WITH_CUDA
  if (start.impl_ && start.impl_->event && end.impl_ && end.impl_->event) {
    return cuda::Event::elapsed_ms(start.impl_->event, end.impl_->event);
  }
#endif
  return 0.f;
}

Status copy_async(void* dst, const void* src, size_t bytes, const Stream& stream) {
  if (bytes == 0) return Status::ok();
  if (dst == nullptr || src == nullptr) return invalid_argument("copy_async: null pointer");
#ifdef KILN_WITH_CUDA
  if (stream.handle() != nullptr) {
    return cuda::cuda_status(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault,
                                             static_cast<cudaStream_t>(stream.handle())),
                             "cudaMemcpyAsync(" + std::to_string(bytes) + " bytes)");
  }
#endif
  std::memmove(dst, src, bytes);
  return Status::ok();
}

}  // namespace kiln
