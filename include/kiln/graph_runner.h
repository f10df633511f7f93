// kiln — CUDA graphs for a context: capture enqueue once per signature, then replay it.
//
//   GraphRunner graphs(*context);                 // the context must outlive the runner
//   context->set_input_shape("x", {1, 3, 224, 224});
//   context->set_tensor_address("x", x);  context->set_tensor_address("y", y);
//   graphs.enqueue(stream);   // 1st time: plain enqueue, then captures a graph (not launched)
//   graphs.enqueue(stream);   // same signature: one cudaGraphLaunch
//
// The signature is (optimization profile, input shapes, I/O addresses, the context's memory and
// settings). Graphs are kept per (profile, input shapes) in an LRU of `max_graphs` entries. When
// only addresses (or the context's memory) changed, the graph is captured again and the
// executable graph updated in place (cudaGraphExecUpdate), which is much cheaper than a new
// instantiation. A signature seen for the first time runs as a plain enqueue (which also does
// the lazy work — memory layout, allocation — that a capture must not contain), then is
// captured for the next call.
//
// When a graph cannot be used the runner falls back to plain enqueue and logs the reason once
// per engine (a warning through the engine's Logger), and stats().last_fallback_reason says it:
// the CPU backend, the legacy default stream (nullptr), a profiler set on the context, a capture
// that failed (the failing call is named).
//
// Thread-safety: like its Context, one thread at a time (the one that uses the context).
#pragma once

#include <kiln/runtime.h>
#include <kiln/status.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace kiln {

struct GraphRunnerOptions {
  size_t max_graphs = 8;  // executable graphs kept per runner (least recently used go first)
  bool enabled = true;    // false: always plain enqueue (to compare)
};

struct GraphRunnerStats {
  uint64_t replays = 0;     // enqueues served by launching a graph
  uint64_t captures = 0;    // graphs captured and instantiated
  uint64_t updates = 0;     // graphs re-captured and updated in place (same topology)
  uint64_t plain_runs = 0;  // enqueues run without a graph (first sight of a signature, fallbacks)
  uint64_t fallbacks = 0;   // enqueues that could not use a graph
  uint64_t evictions = 0;   // graphs dropped from the LRU
  std::string last_fallback_reason;  // empty if none
};

class GraphRunner {
 public:
  explicit GraphRunner(Context& context, GraphRunnerOptions options = {});
  ~GraphRunner();
  GraphRunner(const GraphRunner&) = delete;
  GraphRunner& operator=(const GraphRunner&) = delete;

  // Enqueues the context's inference on `stream` (a cudaStream_t) through a graph when it can;
  // same contract and errors as Context::enqueue.
  Status enqueue(void* stream);

  // Drops every graph (e.g. before freeing buffers that graphs reference).
  void clear();
  size_t num_graphs() const;
  const GraphRunnerStats& stats() const;
  Context& context() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln
