#include "backends/cuda/cuda_raii.h"

#include "backends/cuda/cuda_check.h"

#include <string>

namespace kiln::cuda {

Result<Stream> Stream::create(bool non_blocking, int priority) {
  cudaStream_t s = nullptr;
  KILN_RETURN_IF_ERROR(
      cuda_status(cudaStreamCreateWithPriority(
                      &s, non_blocking ? cudaStreamNonBlocking : cudaStreamDefault, priority),
                  "cudaStreamCreateWithPriority"));
  Stream stream;
  stream.stream_.reset(s);
  return stream;
}

Status Stream::synchronize() const {
  return cuda_status(cudaStreamSynchronize(get()), "cudaStreamSynchronize");
}

Status Stream::wait(cudaEvent_t event) const {
  return cuda_status(cudaStreamWaitEvent(get(), event, 0), "cudaStreamWaitEvent");
}

Result<Event> Event::create(bool timing) {
  cudaEvent_t e = nullptr;
  KILN_RETURN_IF_ERROR(
      cuda_status(cudaEventCreateWithFlags(&e, timing ? cudaEventDefault : cudaEventDisableTiming),
                  "cudaEventCreateWithFlags"));
  Event event;
  event.event_.reset(e);
  return event;
}

Status Event::record(cudaStream_t stream) const {
  return cuda_status(cudaEventRecord(get(), stream), "cudaEventRecord");
}

Status Event::synchronize() const {
  return cuda_status(cudaEventSynchronize(get()), "cudaEventSynchronize");
}

Result<bool> Event::query() const {
  cudaError_t e = cudaEventQuery(get());
  if (e == cudaSuccess) return true;
  if (e == cudaErrorNotReady) {
    (void)cudaGetLastError();  // not an error: don't leave it for the next check
    return false;
  }
  return cuda_status(e, "cudaEventQuery");
}

Result<float> Event::elapsed_ms(const Event& start, const Event& end) {
  float ms = 0;
  KILN_RETURN_IF_ERROR(
      cuda_status(cudaEventElapsedTime(&ms, start.get(), end.get()), "cudaEventElapsedTime"));
  return ms;
}

Result<PinnedBuffer> PinnedBuffer::allocate(size_t bytes, unsigned int flags) {
  PinnedBuffer buffer;
  if (bytes == 0) return buffer;
  void* p = nullptr;
  KILN_RETURN_IF_ERROR(cuda_status(cudaHostAlloc(&p, bytes, flags),
                                   "cudaHostAlloc(" + std::to_string(bytes) + " bytes)"));
  buffer.data_.reset(p);
  buffer.size_ = bytes;
  return buffer;
}

Result<cudaGraph_t> Graph::capture_raw(cudaStream_t stream, const std::function<Status()>& fn,
                                       cudaStreamCaptureMode mode) {
  if (stream == nullptr) {
    return invalid_argument("CUDA graph capture needs a stream other than the default stream");
  }
  KILN_RETURN_IF_ERROR(cuda_status(cudaStreamBeginCapture(stream, mode), "cudaStreamBeginCapture"));
  Status body = fn();
  cudaGraph_t raw = nullptr;
  cudaError_t end = cudaStreamEndCapture(stream, &raw);
  UniqueCudaObject<cudaGraph_t, cudaGraphDestroy> owned(raw);
  if (!body.is_ok() || end != cudaSuccess) {
    (void)cudaGetLastError();  // an invalidated capture leaves its error behind; clear it
    if (!body.is_ok()) return body.with_context("during CUDA graph capture");
    return cuda_status(end,
                       "cudaStreamEndCapture (the captured work has a call that cannot be "
                       "captured: an allocation, a synchronization or a host read)");
  }
  return owned.release();
}

Result<Graph> Graph::capture(cudaStream_t stream, const std::function<Status()>& fn,
                             cudaStreamCaptureMode mode) {
  KILN_ASSIGN_OR_RETURN(cudaGraph_t raw, capture_raw(stream, fn, mode));
  Graph graph;
  graph.graph_.reset(raw);
  cudaGraphExec_t exec = nullptr;
  KILN_RETURN_IF_ERROR(cuda_status(cudaGraphInstantiate(&exec, raw, 0), "cudaGraphInstantiate"));
  graph.exec_.reset(exec);
  return graph;
}

Result<bool> Graph::recapture(cudaStream_t stream, const std::function<Status()>& fn,
                              cudaStreamCaptureMode mode) {
  KILN_ASSIGN_OR_RETURN(cudaGraph_t raw, capture_raw(stream, fn, mode));
  UniqueCudaObject<cudaGraph_t, cudaGraphDestroy> fresh(raw);
  if (exec_) {
    cudaGraphExecUpdateResultInfo info{};
    if (cudaGraphExecUpdate(exec_.get(), raw, &info) == cudaSuccess) {
      graph_ = std::move(fresh);
      return true;
    }
    (void)cudaGetLastError();  // topology changed: not an error, re-instantiate below
  }
  cudaGraphExec_t exec = nullptr;
  KILN_RETURN_IF_ERROR(cuda_status(cudaGraphInstantiate(&exec, raw, 0), "cudaGraphInstantiate"));
  exec_.reset(exec);
  graph_ = std::move(fresh);
  return false;
}

Status Graph::launch(cudaStream_t stream) const {
  if (!exec_) return failed_precondition("CUDA graph launched before it was captured");
  return cuda_status(cudaGraphLaunch(exec_.get(), stream), "cudaGraphLaunch");
}

Result<size_t> Graph::num_nodes() const {
  if (!graph_) return size_t{0};
  size_t n = 0;
  KILN_RETURN_IF_ERROR(
      cuda_status(cudaGraphGetNodes(graph_.get(), nullptr, &n), "cudaGraphGetNodes"));
  return n;
}

DeviceGuard::DeviceGuard(int device) {
  int current = -1;
  if (cudaGetDevice(&current) == cudaSuccess && current != device &&
      cudaSetDevice(device) == cudaSuccess) {
    previous_ = current;
  }
}

DeviceGuard::~DeviceGuard() {
  if (previous_ >= 0) (void)cudaSetDevice(previous_);
}

Result<int> current_multiprocessor_count() {
  int device = 0, count = 0;
  KILN_RETURN_IF_ERROR(cuda_status(cudaGetDevice(&device), "cudaGetDevice"));
  KILN_RETURN_IF_ERROR(
      cuda_status(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device),
                  "cudaDeviceGetAttribute(cudaDevAttrMultiProcessorCount)"));
  return count;
}

}  // namespace kiln::cuda
