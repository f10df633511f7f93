// kiln — PipelinedRunner: keeps several requests of one engine in flight so that the
// host-to-device copy, the inference and the device-to-host copy of different requests overlap.
//
//   auto runner = PipelinedRunner::create(*engine, {.streams = 2});
//   for (each request i) {
//     HostInput in[] = {{"x", x[i].data(), {8, 64, 256, 256}}};
//     HostOutput out[] = {{"y", y[i].data(), y[i].size() * sizeof(float)}};
//     auto ticket = (*runner)->submit(in, out);    // returns at once while a lane is free
//     ...
//   }
//   (*runner)->wait_all();                          // outputs are in y[...]
//
// Requests go round-robin to `streams` lanes. On CUDA each lane has its own stream, device
// buffers for every I/O tensor, page-locked staging buffers, events, and (unless share_context)
// its own execution context; a request is: inputs to pinned staging (skipped when the caller's
// buffer is already page-locked, e.g. from PinnedMemory) -> H2D -> enqueue -> D2H -> output to
// the caller's buffer (in wait; skipped when page-locked). With two or more lanes the copies of
// one request run while another computes, so the time per request approaches
// max(H2D, compute, D2H) instead of their sum. With share_context, lanes share one context
// (one activation memory): copies still overlap, inferences run one after another (each waits
// for the previous one with an event, as in TensorRT's multi-stream sample).
//
// On the CPU backend there are no copies: each lane is a worker thread with its own context
// that reads and writes the caller's buffers directly, so `streams` requests run at once
// (share_context: one context, one request at a time).
//
// Caller buffers must stay valid and untouched until the request is waited for. Lane buffers
// grow to the largest request seen (the first request of a larger shape allocates).
//
// Thread-safety: not thread-safe; submit and wait from one thread at a time (serving code with
// many threads uses a ContextPool, or one runner per thread).
#pragma once

#include <kiln/runtime.h>
#include <kiln/status.h>
#include <kiln/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace kiln {

struct PipelineOptions {
  int streams = 2;             // lanes = requests in flight (>= 1)
  bool share_context = false;  // one context for all lanes (less memory, inferences serialized)
  int profile = 0;             // optimization profile of the lanes' contexts
  AllocationStrategy allocation = AllocationStrategy::kStatic;
  // CUDA: replay each lane's inference as a CUDA graph (with share_context the lanes' buffers
  // alternate, so the shared graph is updated in place at every request).
  bool cuda_graphs = false;
  bool measure_stages = false;  // time each request's H2D, inference and D2H (stage_times)
};

// One input of a request: host memory holding the tensor, and the shape to run it at.
struct HostInput {
  std::string_view name;
  const void* data = nullptr;
  Dims shape;
};

// One output of a request: host memory of `capacity` bytes to receive it. `shape`, when not
// null, receives the output's shape at submit.
struct HostOutput {
  std::string_view name;
  void* data = nullptr;
  size_t capacity = 0;
  Dims* shape = nullptr;
};

// Median milliseconds per stage over the requests measured so far (measure_stages).
struct StageTimes {
  double h2d_ms = 0, compute_ms = 0, d2h_ms = 0;
  size_t requests = 0;
};

class PipelinedRunner {
 public:
  static Result<std::unique_ptr<PipelinedRunner>> create(const Engine& engine,
                                                         const PipelineOptions& options = {});
  // Waits for the requests in flight.
  ~PipelinedRunner();
  PipelinedRunner(const PipelinedRunner&) = delete;
  PipelinedRunner& operator=(const PipelinedRunner&) = delete;

  // Starts a request on the next lane; first waits for that lane's previous request (whose
  // outputs are then delivered). Every input must be given; outputs may be omitted (not
  // copied). Errors (unknown tensor, shape outside the profile, output capacity too small)
  // are reported before anything is enqueued. Returns the request's ticket.
  Result<uint64_t> submit(std::span<const HostInput> inputs, std::span<const HostOutput> outputs);
  // Waits for request `ticket`; its outputs are in the caller's buffers afterwards. Returns the
  // request's own error, if it had one. Each ticket can be waited for once.
  Status wait(uint64_t ticket);
  // Waits for every request in flight; returns the first error among those not yet waited for.
  Status wait_all();

  int num_streams() const;
  Backend backend() const;
  StageTimes stage_times() const;

  struct Impl;

 private:
  explicit PipelinedRunner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln
