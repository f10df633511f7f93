// PipelinedRunner: round-robin lanes of requests. The common part (tickets, validation and
// binding of a request to a context) is here; CpuPipeline runs each lane on a worker thread,
// CudaPipeline on a stream with device and page-locked staging buffers.
#include <kiln/graph_runner.h>
#include <kiln/pipeline.h>

#include "backends/device.h"
#include "runtime/engine_state.h"

#ifdef KILN_WITH_CUDA
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/cuda_raii.h"
#endif

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

// Lane-independent part; the backends implement bind, start and finish.
struct PipelinedRunner::Impl {
  const Engine& engine;
  PipelineOptions options;
  Device* device = nullptr;
  int lanes = 1;
  std::vector<std::unique_ptr<Context>> contexts;  // one per lane, or one shared
  std::vector<std::unique_ptr<GraphRunner>> graphs;
  uint64_t next_ticket = 0;
  std::vector<bool> busy;
  std::vector<uint64_t> lane_ticket;
  std::map<uint64_t, Status> finished;  // finished, not waited for yet
  std::vector<double> h2d_ms, compute_ms, d2h_ms;

  Impl(const Engine& e, const PipelineOptions& o) : engine(e), options(o) {}
  virtual ~Impl() = default;

  Context& context_of(int lane) { return *contexts[options.share_context ? 0 : lane]; }
  GraphRunner* graphs_of(int lane) {
    return graphs.empty() ? nullptr : graphs[options.share_context ? 0 : lane].get();
  }

  Status init() {
    lanes = options.streams;
    const int n = options.share_context ? 1 : lanes;
    for (int i = 0; i < n; ++i) {
      KILN_ASSIGN_OR_RETURN(auto ctx, engine.create_context(options.allocation));
      KILN_RETURN_IF_ERROR(ctx->set_optimization_profile(options.profile));
      if (options.cuda_graphs) graphs.push_back(std::make_unique<GraphRunner>(*ctx));
      contexts.push_back(std::move(ctx));
    }
    busy.assign(lanes, false);
    lane_ticket.assign(lanes, 0);
    return init_lanes();
  }

  // Sets the request's shapes on the lane's context and checks every tensor.
  Status bind_shapes(Context& ctx, std::span<const HostInput> inputs,
                     std::span<const HostOutput> outputs) {
    const int num_io = engine.num_io_tensors();
    std::vector<bool> seen(num_io, false);
    for (const HostInput& in : inputs) {
      int io = ctx.state().es->find_io(in.name);
      if (io < 0 || engine.tensor_io_mode(in.name) != TensorIOMode::kInput) {
        return not_found("submit: '" + std::string(in.name) + "' is not an input of the engine");
      }
      if (seen[io])
        return invalid_argument("submit: input '" + std::string(in.name) + "' is given twice");
      seen[io] = true;
      KILN_RETURN_IF_ERROR(ctx.set_input_shape(in.name, in.shape).with_context("submit"));
      if (in.data == nullptr && in.shape.volume() > 0) {
        return invalid_argument("submit: the data of input '" + std::string(in.name) + "' is null");
      }
    }
    for (int io = 0; io < num_io; ++io) {
      const std::string& name = engine.io_tensor_name(io);
      if (engine.tensor_io_mode(name) == TensorIOMode::kInput && !seen[io]) {
        return invalid_argument("submit: input '" + name + "' is missing");
      }
    }
    if (!ctx.all_input_shapes_specified()) {
      return invalid_argument("submit: " + ctx.state().shape_error.to_string());
    }
    for (const HostOutput& out : outputs) {
      int io = ctx.state().es->find_io(out.name);
      if (io < 0 || engine.tensor_io_mode(out.name) != TensorIOMode::kOutput) {
        return not_found("submit: '" + std::string(out.name) + "' is not an output of the engine");
      }
      if (seen[io]) {
        return invalid_argument("submit: output '" + std::string(out.name) + "' is given twice");
      }
      seen[io] = true;
      size_t need = bytes_of(ctx, io);
      if (need > out.capacity || (out.data == nullptr && need > 0)) {
        return invalid_argument("submit: output '" + std::string(out.name) + "' needs " +
                                std::to_string(need) + " bytes (shape " +
                                ctx.tensor_shape(out.name).to_string() + "), the buffer holds " +
                                std::to_string(out.data ? out.capacity : 0));
      }
      if (out.shape != nullptr) *out.shape = ctx.tensor_shape(out.name);
    }
    return Status::ok();
  }

  size_t bytes_of(Context& ctx, int io) const {
    const std::string& name = engine.io_tensor_name(io);
    return static_cast<size_t>(ctx.tensor_shape(name).volume()) *
           dtype_size(engine.tensor_dtype(name));
  }

  // Runs the lane's inference on `stream` (through its graph runner when there is one).
  Status run_inference(int lane, void* stream) {
    if (GraphRunner* g = graphs_of(lane)) return g->enqueue(stream);
    return context_of(lane).enqueue(stream);
  }

  Status retire(int lane) {
    Status st = finish(lane);
    busy[lane] = false;
    finished[lane_ticket[lane]] = st;
    return st;
  }

  Result<uint64_t> submit(std::span<const HostInput> inputs, std::span<const HostOutput> outputs) {
    const uint64_t ticket = next_ticket;
    const int lane = static_cast<int>(ticket % static_cast<uint64_t>(lanes));
    if (busy[lane]) retire(lane).ignore();  // its status is kept for wait()
    if (options.share_context && must_drain_before_bind()) {
      for (int l = 0; l < lanes; ++l) {
        if (busy[l]) retire(l).ignore();
      }
    }
    KILN_RETURN_IF_ERROR(bind(lane, inputs, outputs));
    KILN_RETURN_IF_ERROR(start(lane));
    busy[lane] = true;
    lane_ticket[lane] = ticket;
    ++next_ticket;
    return ticket;
  }

  Status wait(uint64_t ticket) {
    if (ticket >= next_ticket) {
      return invalid_argument("wait: ticket " + std::to_string(ticket) + " was never issued");
    }
    const int lane = static_cast<int>(ticket % static_cast<uint64_t>(lanes));
    if (busy[lane] && lane_ticket[lane] == ticket) retire(lane).ignore();
    auto it = finished.find(ticket);
    if (it == finished.end()) {
      return failed_precondition("wait: ticket " + std::to_string(ticket) +
                                 " was already waited for");
    }
    Status st = it->second;
    finished.erase(it);
    return st;
  }

  Status wait_all() {
    for (int l = 0; l < lanes; ++l) {
      if (busy[l]) retire(l).ignore();
    }
    Status first;
    for (auto& [t, st] : finished) {
      if (first.is_ok() && !st.is_ok()) first = st.with_context("request " + std::to_string(t));
    }
    finished.clear();
    return first;
  }

  StageTimes stage_times() const {
    StageTimes t;
    t.h2d_ms = median(h2d_ms);
    t.compute_ms = median(compute_ms);
    t.d2h_ms = median(d2h_ms);
    t.requests = compute_ms.size();
    return t;
  }

  virtual Status init_lanes() = 0;
  // Whether a shared context must be idle before a request is bound to it.
  virtual bool must_drain_before_bind() const = 0;
  virtual Status bind(int lane, std::span<const HostInput> inputs,
                      std::span<const HostOutput> outputs) = 0;
  virtual Status start(int lane) = 0;
  virtual Status finish(int lane) = 0;
  virtual void shutdown() {}
};

namespace {

// ---- CPU: a worker thread per lane; the context reads and writes the caller's buffers ----

class CpuPipeline final : public PipelinedRunner::Impl {
 public:
  using Impl::Impl;
  ~CpuPipeline() override { shutdown(); }

  Status init_lanes() override {
    lanes_ = std::vector<Lane>(lanes);
    for (int l = 0; l < lanes; ++l) {
      lanes_[l].thread = std::thread([this, l] { work(l); });
    }
    return Status::ok();
  }

  void shutdown() override {
    for (auto& lane : lanes_) {
      {
        std::lock_guard<std::mutex> lock(lane.mu);
        lane.stop = true;
      }
      lane.cv.notify_all();
    }
    for (auto& lane : lanes_) {
      if (lane.thread.joinable()) lane.thread.join();
    }
    lanes_.clear();
  }

  // One context, one request at a time: the caller binds the next request only when it is idle.
  bool must_drain_before_bind() const override { return true; }

  Status bind(int lane, std::span<const HostInput> inputs,
              std::span<const HostOutput> outputs) override {
    Context& ctx = context_of(lane);
    KILN_RETURN_IF_ERROR(bind_shapes(ctx, inputs, outputs));
    Lane& ln = lanes_[lane];
    ln.addresses.assign(engine.num_io_tensors(), nullptr);
    for (const HostInput& in : inputs) {
      // CPU kernels never write their inputs.
      ln.addresses[ctx.state().es->find_io(in.name)] = const_cast<void*>(in.data);
    }
    for (const HostOutput& out : outputs)
      ln.addresses[ctx.state().es->find_io(out.name)] = out.data;
    // Outputs the caller did not ask for go to the lane's scratch memory.
    ln.scratch.resize(engine.num_io_tensors());
    for (int io = 0; io < engine.num_io_tensors(); ++io) {
      if (ln.addresses[io] != nullptr) continue;
      size_t bytes = std::max<size_t>(bytes_of(ctx, io), 1);
      if (ln.scratch[io].size() < bytes) {
        KILN_ASSIGN_OR_RETURN(ln.scratch[io], device->allocate(bytes));
      }
      ln.addresses[io] = ln.scratch[io].get();
    }
    for (int io = 0; io < engine.num_io_tensors(); ++io) {
      KILN_RETURN_IF_ERROR(ctx.set_tensor_address(engine.io_tensor_name(io), ln.addresses[io]));
    }
    return Status::ok();
  }

  Status start(int lane) override {
    Lane& ln = lanes_[lane];
    {
      std::lock_guard<std::mutex> lock(ln.mu);
      ln.job = true;
      ln.done = false;
    }
    ln.cv.notify_all();
    return Status::ok();
  }

  Status finish(int lane) override {
    Lane& ln = lanes_[lane];
    std::unique_lock<std::mutex> lock(ln.mu);
    ln.cv.wait(lock, [&] { return ln.done; });
    if (options.measure_stages && ln.status.is_ok()) {
      compute_ms.push_back(ln.ms);
      h2d_ms.push_back(0);
      d2h_ms.push_back(0);
    }
    return ln.status;
  }

 private:
  struct Lane {
    std::thread thread;
    std::mutex mu;
    std::condition_variable cv;
    bool job = false, done = true, stop = false;
    Status status;
    double ms = 0;
    std::vector<void*> addresses;
    std::vector<DeviceBuffer> scratch;
  };

  void work(int lane) {
    Lane& ln = lanes_[lane];
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(ln.mu);
        ln.cv.wait(lock, [&] { return ln.job || ln.stop; });
        if (!ln.job) return;  // stopping with nothing to do
      }
      auto t0 = std::chrono::steady_clock::now();
      Status st = run_inference(lane, nullptr);
      double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      {
        std::lock_guard<std::mutex> lock(ln.mu);
        ln.status = std::move(st);
        ln.ms = ms;
        ln.job = false;
        ln.done = true;
      }
      ln.cv.notify_all();
    }
  }

  std::vector<Lane> lanes_;
};

#ifdef KILN_WITH_CUDA

// ---- CUDA: a stream per lane, device buffers, page-locked staging, events ----

class CudaPipeline final : public PipelinedRunner::Impl {
 public:
  using Impl::Impl;
  ~CudaPipeline() override { shutdown(); }

  Status init_lanes() override {
    lanes_.resize(lanes);
    for (auto& ln : lanes_) {
      KILN_ASSIGN_OR_RETURN(ln.stream, cuda::Stream::create(/*non_blocking=*/true));
      const bool timing = options.measure_stages;
      KILN_ASSIGN_OR_RETURN(ln.start, cuda::Event::create(timing));
      KILN_ASSIGN_OR_RETURN(ln.h2d, cuda::Event::create(timing));
      KILN_ASSIGN_OR_RETURN(ln.compute, cuda::Event::create(timing));
      KILN_ASSIGN_OR_RETURN(ln.done, cuda::Event::create(timing));
      const size_t n = static_cast<size_t>(engine.num_io_tensors());
      ln.device.resize(n);
      ln.staging.resize(n);
      ln.src.assign(n, nullptr);
      ln.dst.assign(n, nullptr);
      ln.bytes.assign(n, 0);
      ln.deliver.assign(n, nullptr);
    }
    return Status::ok();
  }

  void shutdown() override {
    for (auto& ln : lanes_) {
      if (ln.stream) ln.stream.synchronize().ignore();
    }
  }

  // The shared context's shape state is rewritten only when shapes change; the context's fence
  // and the compute-event chain keep in-flight requests safe otherwise.
  bool must_drain_before_bind() const override { return false; }

  Status bind(int lane, std::span<const HostInput> inputs,
              std::span<const HostOutput> outputs) override {
    Context& ctx = context_of(lane);
    KILN_RETURN_IF_ERROR(bind_shapes(ctx, inputs, outputs));
    Lane& ln = lanes_[lane];
    const int n = engine.num_io_tensors();
    std::fill(ln.src.begin(), ln.src.end(), nullptr);
    std::fill(ln.dst.begin(), ln.dst.end(), nullptr);
    std::fill(ln.deliver.begin(), ln.deliver.end(), nullptr);
    for (int io = 0; io < n; ++io) {
      ln.bytes[io] = bytes_of(ctx, io);
      KILN_RETURN_IF_ERROR(ensure_device(ln, io, ln.bytes[io]));
      KILN_RETURN_IF_ERROR(ctx.set_tensor_address(engine.io_tensor_name(io), ln.device[io].get()));
    }
    for (const HostInput& in : inputs) {
      int io = ctx.state().es->find_io(in.name);
      if (ln.bytes[io] == 0) continue;
      KILN_ASSIGN_OR_RETURN(bool direct, copyable_directly(in.data));
      if (direct) {
        ln.src[io] = in.data;
      } else {
        KILN_RETURN_IF_ERROR(ensure_staging(ln, io, ln.bytes[io]));
        std::memcpy(ln.staging[io].data(), in.data, ln.bytes[io]);
        ln.src[io] = ln.staging[io].data();
      }
    }
    for (const HostOutput& out : outputs) {
      int io = ctx.state().es->find_io(out.name);
      if (ln.bytes[io] == 0) continue;
      KILN_ASSIGN_OR_RETURN(bool direct, copyable_directly(out.data));
      if (direct) {
        ln.dst[io] = out.data;
      } else {
        KILN_RETURN_IF_ERROR(ensure_staging(ln, io, ln.bytes[io]));
        ln.dst[io] = ln.staging[io].data();
        ln.deliver[io] = out.data;
      }
    }
    return Status::ok();
  }

  Status start(int lane) override {
    Lane& ln = lanes_[lane];
    cudaStream_t stream = ln.stream.get();
    Status st = enqueue_request(lane, ln, stream);
    if (!st.is_ok()) {
      // Nothing half-done stays in flight.
      ln.stream.synchronize().ignore();
      return st;
    }
    return Status::ok();
  }

  Status finish(int lane) override {
    Lane& ln = lanes_[lane];
    KILN_RETURN_IF_ERROR(
        ln.done.synchronize().with_context("request on stream " + std::to_string(lane)));
    for (size_t io = 0; io < ln.deliver.size(); ++io) {
      if (ln.deliver[io] != nullptr)
        std::memcpy(ln.deliver[io], ln.staging[io].data(), ln.bytes[io]);
    }
    if (options.measure_stages) {
      KILN_ASSIGN_OR_RETURN(float a, cuda::Event::elapsed_ms(ln.start, ln.h2d));
      KILN_ASSIGN_OR_RETURN(float b, cuda::Event::elapsed_ms(ln.h2d, ln.compute));
      KILN_ASSIGN_OR_RETURN(float c, cuda::Event::elapsed_ms(ln.compute, ln.done));
      h2d_ms.push_back(a);
      compute_ms.push_back(b);
      d2h_ms.push_back(c);
    }
    return Status::ok();
  }

 private:
  struct Lane {
    cuda::Stream stream;
    cuda::Event start, h2d, compute, done;
    std::vector<DeviceBuffer> device;         // per I/O tensor
    std::vector<cuda::PinnedBuffer> staging;  // per I/O tensor, for pageable caller memory
    std::vector<const void*> src;             // per input: where H2D reads (null: none)
    std::vector<void*> dst;                   // per output: where D2H writes (null: not wanted)
    std::vector<size_t> bytes;
    std::vector<void*> deliver;  // per output: caller's pageable buffer (copied in finish)
  };

  Status enqueue_request(int lane, Lane& ln, cudaStream_t stream) {
    KILN_RETURN_IF_ERROR(ln.start.record(stream));
    for (size_t io = 0; io < ln.src.size(); ++io) {
      if (ln.src[io] == nullptr) continue;
      KILN_RETURN_IF_ERROR(cuda::cuda_status(
          cudaMemcpyAsync(ln.device[io].get(), ln.src[io], ln.bytes[io], cudaMemcpyDefault, stream),
          "cudaMemcpyAsync(input '" + engine.io_tensor_name(static_cast<int>(io)) + "')"));
    }
    KILN_RETURN_IF_ERROR(ln.h2d.record(stream));
    if (options.share_context && last_compute_ != nullptr) {
      // One activation memory: this inference starts after the previous one.
      KILN_RETURN_IF_ERROR(
          cuda::cuda_status(cudaStreamWaitEvent(stream, last_compute_, 0), "cudaStreamWaitEvent"));
    }
    KILN_RETURN_IF_ERROR(run_inference(lane, stream));
    KILN_RETURN_IF_ERROR(ln.compute.record(stream));
    last_compute_ = ln.compute.get();
    for (size_t io = 0; io < ln.dst.size(); ++io) {
      if (ln.dst[io] == nullptr) continue;
      KILN_RETURN_IF_ERROR(cuda::cuda_status(
          cudaMemcpyAsync(ln.dst[io], ln.device[io].get(), ln.bytes[io], cudaMemcpyDefault, stream),
          "cudaMemcpyAsync(output '" + engine.io_tensor_name(static_cast<int>(io)) + "')"));
    }
    return ln.done.record(stream);
  }

  // Page-locked, device or managed memory is copied asynchronously as it is; pageable memory
  // goes through a staging buffer (a copy from it would not overlap anything).
  static Result<bool> copyable_directly(const void* p) {
    cudaPointerAttributes attr{};
    cudaError_t e = cudaPointerGetAttributes(&attr, p);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    return attr.type != cudaMemoryTypeUnregistered;
  }

  Status ensure_device(Lane& ln, int io, size_t bytes) {
    if (!ln.device[io].empty() && ln.device[io].size() >= bytes) return Status::ok();
    ln.device[io].reset();
    KILN_ASSIGN_OR_RETURN(ln.device[io], device->allocate(std::max<size_t>(bytes, 1)));
    return Status::ok();
  }

  static Status ensure_staging(Lane& ln, int io, size_t bytes) {
    if (!ln.staging[io].empty() && ln.staging[io].size() >= bytes) return Status::ok();
    ln.staging[io] = cuda::PinnedBuffer();
    KILN_ASSIGN_OR_RETURN(ln.staging[io], cuda::PinnedBuffer::allocate(bytes));
    return Status::ok();
  }

  std::vector<Lane> lanes_;
  cudaEvent_t last_compute_ = nullptr;  // share_context: the latest inference's event
};

#endif  // KILN_WITH_CUDA

}  // namespace

Result<std::unique_ptr<PipelinedRunner>> PipelinedRunner::create(const Engine& engine,
                                                                 const PipelineOptions& options) {
  if (options.streams < 1) {
    return invalid_argument("PipelinedRunner: streams must be at least 1, got " +
                            std::to_string(options.streams));
  }
  if (options.allocation == AllocationStrategy::kUserManaged) {
    return invalid_argument(
        "PipelinedRunner: the runner manages its contexts' memory, so kUserManaged cannot be "
        "used; use kStatic or kOnProfileChange");
  }
  if (options.profile < 0 || options.profile >= engine.num_optimization_profiles()) {
    return out_of_range("PipelinedRunner: optimization profile " + std::to_string(options.profile) +
                        " does not exist (the engine has " +
                        std::to_string(engine.num_optimization_profiles()) + ")");
  }
  KILN_ASSIGN_OR_RETURN(Device * device, get_device(engine.backend()));
  std::unique_ptr<Impl> impl;
  if (engine.backend() == Backend::kCpu) {
    impl = std::make_unique<CpuPipeline>(engine, options);
  } else {
#ifdef KILN_WITH_CUDA
    impl = std::make_unique<CudaPipeline>(engine, options);
#else
    return unsupported("PipelinedRunner: kiln was built without CUDA");
#endif
  }
  impl->device = device;
  KILN_RETURN_IF_ERROR(impl->init().with_context("PipelinedRunner"));
  return std::unique_ptr<PipelinedRunner>(new PipelinedRunner(std::move(impl)));
}

PipelinedRunner::PipelinedRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PipelinedRunner::~PipelinedRunner() {
  if (impl_) {
    impl_->wait_all().ignore();
    impl_->shutdown();
  }
}

Result<uint64_t> PipelinedRunner::submit(std::span<const HostInput> inputs,
                                         std::span<const HostOutput> outputs) {
  return impl_->submit(inputs, outputs);
}
Status PipelinedRunner::wait(uint64_t ticket) {
  return impl_->wait(ticket);
}
Status PipelinedRunner::wait_all() {
  return impl_->wait_all();
}
int PipelinedRunner::num_streams() const {
  return impl_->lanes;
}
Backend PipelinedRunner::backend() const {
  return impl_->engine.backend();
}
StageTimes PipelinedRunner::stage_times() const {
  return impl_->stage_times();
}

}  // namespace kiln
