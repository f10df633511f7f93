// Internal state of Engine and Context.
#pragma once

#include <kiln/runtime.h>

#include "backends/cpu/thread_pool.h"
#include "backends/device.h"
#include "ops/op.h"
#include "plan/engine_desc.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kiln::detail {

struct ProfileRuntime {
  OptimizationProfile profile;                        // ranges of the dynamic inputs
  std::vector<std::unique_ptr<ops::Kernel>> kernels;  // per node id; null for host nodes
  std::vector<int> exec_order;                        // node ids that run kernels, in order
  std::vector<int64_t> planned_bytes;                 // per value: slot size in the static plan
  // Per step (position in exec_order): the earlier steps whose outputs it reads.
  std::vector<std::vector<int>> step_deps;
  // Steps that read a graph input (the input-consumed event follows the last of them).
  std::vector<int> input_reader_steps;
};

struct EngineState {
  plan::EngineDesc desc;
  Logger* logger = nullptr;
  std::vector<int> topo;  // every node, in execution order
  std::vector<ProfileRuntime> profiles;
  std::vector<int> io_values;  // graph inputs, then graph outputs
  std::vector<std::string> io_names;
  std::vector<int> io_of_value;         // per value: index into io_values, -1 if not I/O
  std::unique_ptr<ThreadPool> threads;  // shared by all contexts (thread-safe)
  size_t weights_bytes = 0;
  Device* device = nullptr;
  // Tactic sources the chosen tactics use (their libraries' handles are reserved per context).
  std::vector<TacticSource> sources_used;
  mutable std::atomic<size_t> contexts_created{0};
  // Whether contexts keep device copies of shape tensors (CUDA engines with shape tensors).
  bool has_device_shape_values = false;
  // Device copies of the constants (CUDA); empty on CPU, where kernels read the host data.
  std::vector<DeviceBuffer> constant_buffers;

  const void* constant_address(int value) const {
    if (!constant_buffers.empty() && !constant_buffers[value].empty()) {
      return constant_buffers[value].get();
    }
    return desc.graph.value(value).constant->data();
  }

  // Logs `message` the first time only (per engine): warnings that every context or every
  // enqueue would repeat, such as why CUDA graphs cannot be used.
  void log_once(Severity severity, const std::string& message) const {
    {
      std::lock_guard<std::mutex> lock(log_once_mu);
      if (!logged_once.insert(message).second) return;
    }
    logger->log(severity, message);
  }
  mutable std::mutex log_once_mu;
  mutable std::set<std::string> logged_once;

  const ir::Graph& graph() const { return desc.graph; }
  int find_io(std::string_view name) const;  // index into io_values, -1 if none
  size_t num_io_inputs() const { return desc.graph.inputs().size(); }
  bool is_input_index(int io) const { return io < static_cast<int>(num_io_inputs()); }
};

struct AuxStreams;    // runtime/context_cuda.h
struct EnqueueFence;  // runtime/context_cuda.h

struct ContextState {
  ContextState();
  ~ContextState();
  const Engine* engine = nullptr;
  const EngineState* es = nullptr;
  AllocationStrategy strategy = AllocationStrategy::kStatic;
  int profile = 0;
  Profiler* profiler = nullptr;

  std::vector<std::optional<Dims>> input_dims;  // per graph input
  bool shapes_ready = false;
  // Why the shapes set so far do not fit together (inputs sharing a dim disagree); reported by
  // enqueue. Inputs are set one at a time, so a disagreement may be temporary.
  Status shape_error;
  std::vector<int64_t> symbols;
  std::vector<Dims> shapes;                 // per value
  std::vector<HostTensor> host_values;      // materialized shape tensors, per value (or empty)
  std::vector<DeviceBuffer> device_values;  // their device copies (CUDA only)
  std::vector<void*> io_addresses;          // per io index

  DeviceBuffer owned_memory;  // when the context allocates its arena
  void* memory = nullptr;
  size_t memory_size = 0;
  // The layout in use: the profile's static plan, or one made for the current shapes.
  bool layout_ready = false;
  std::vector<int64_t> offsets;
  std::vector<uint64_t> workspace_offsets;  // per stream (one without auxiliary streams)
  uint64_t workspace_size = 0;              // per stream

  std::vector<TensorView> in_views, out_views, host_views;  // reused by enqueue

  // CUDA event recorded once no kernel reads the inputs any more (null: none).
  void* input_consumed_event = nullptr;
  // Auxiliary streams for independent branches (CUDA; null when not used).
  std::unique_ptr<AuxStreams> aux;
  // CUDA, when the engine has device copies of shape tensors (else null).
  std::unique_ptr<EnqueueFence> fence;
  // Changes whenever what enqueue launches changes other than through the input shapes and the
  // I/O addresses (memory reallocated, events or streams set): a CUDA graph captured at another
  // generation must be captured again.
  uint64_t generation = 0;
};

// Enqueue in two halves: prepare_enqueue checks that the context is ready and makes the memory
// layout for the current shapes (it may allocate); launch_enqueue only launches work on
// `stream` (capturable on CUDA). Context::enqueue runs both.
Status prepare_enqueue(ContextState& s);
Status launch_enqueue(ContextState& s, void* stream);
// Records the context's fence on `stream` after work launched outside launch_enqueue (a graph
// launch). No-op without a fence.
Status record_fence(ContextState& s, void* stream);

// Builds an Engine from a validated EngineDesc (Runtime::deserialize after read_plan; tests).
struct EngineFactory {
  static Result<std::unique_ptr<Engine>> load(plan::EngineDesc desc, Logger& logger);
};

}  // namespace kiln::detail
