// kiln — the runtime: load a plan into an Engine, run it through execution Contexts.
//
//   Runtime runtime;
//   auto engine = runtime.deserialize(plan_bytes);          // Result<std::unique_ptr<Engine>>
//   auto context = (*engine)->create_context();              // Result<std::unique_ptr<Context>>
//   ctx->set_input_shape("x", {8, 1, 28, 28});
//   ctx->set_tensor_address("x", x_ptr);
//   ctx->set_tensor_address("y", y_ptr);
//   ctx->enqueue(stream);   // CUDA: asynchronous on `stream`; CPU: runs now, stream ignored
//
// Thread-safety: Runtime and Engine are thread-safe (an Engine is immutable once loaded and
// can be shared by any number of contexts and threads, which may use the same optimization
// profile at the same time). A Context must be used by one thread at a time; use one context
// per thread (they share the engine's weights), or a ContextPool (context_pool.h). For many
// requests in flight see PipelinedRunner (pipeline.h); for CUDA graphs, GraphRunner
// (graph_runner.h). docs/concurrency.md explains how they fit.
#pragma once

#include <kiln/builder.h>
#include <kiln/logger.h>
#include <kiln/status.h>
#include <kiln/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

namespace detail {
struct EngineState;
struct ContextState;
struct EngineFactory;
}  // namespace detail

// Per-layer timing callback: set on a context, called after each layer during execute/enqueue
// (which then synchronizes after every layer on CUDA; use it for profiling only).
// Thread-safety: called from the thread that runs the context's enqueue; a Profiler shared by
// contexts on several threads must be thread-safe.
class Profiler {
 public:
  virtual ~Profiler() = default;
  virtual void report_layer_time(std::string_view layer_name, float milliseconds) = 0;
};

enum class TensorIOMode : uint8_t { kNone, kInput, kOutput };

// How a context gets its activation memory.
enum class AllocationStrategy : uint8_t {
  kStatic,           // at creation, enough for every profile at its max shapes
  kOnProfileChange,  // when a profile is selected, exactly that profile's max-shape size
                     // (memory of a larger profile is given back)
  kUserManaged,      // the caller provides it with set_device_memory; one block may serve
                     // several contexts that never run at the same time
};

class Context;

class Engine {
 public:
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Backend backend() const;
  int num_io_tensors() const;
  const std::string& io_tensor_name(int index) const;
  TensorIOMode tensor_io_mode(std::string_view name) const;
  DataType tensor_dtype(std::string_view name) const;
  // Shape as built, -1 for dynamic dims.
  Dims tensor_shape(std::string_view name) const;

  int num_optimization_profiles() const;
  // Range of an input in a profile.
  Result<OptimizationProfile::Range> profile_shape(std::string_view input_name,
                                                   int profile) const;
  // Activation + scratch memory a context needs for `profile` at its max shapes.
  size_t device_memory_size(int profile) const;
  // Max over all profiles.
  size_t device_memory_size() const;
  // Bytes of weights held once by the engine.
  size_t weights_size() const;
  int num_layers() const;
  // Tactic sources the build allowed, and those the engine's chosen tactics use (only their
  // libraries are initialized when contexts are created).
  TacticSources tactic_sources_enabled() const;
  TacticSources tactic_sources_used() const;

  Result<std::unique_ptr<Context>> create_context(
      AllocationStrategy strategy = AllocationStrategy::kStatic) const;

  // Engine inspector: layers (name, op, fused parts, inputs/outputs with symbolic shapes),
  // per-profile chosen tactics and input ranges, memory sizes — as a JSON document.
  std::string inspect_json() const;

  detail::EngineState& state() const { return *state_; }

 private:
  friend class Runtime;
  friend struct detail::EngineFactory;
  explicit Engine(std::unique_ptr<detail::EngineState> state);
  std::unique_ptr<detail::EngineState> state_;
};

class Runtime {
 public:
  explicit Runtime(Logger& logger = default_logger());
  ~Runtime();
  // Validates the whole plan (magic, versions, checksums, every offset and enum, the device)
  // and loads it. Any defect gives an error Status that says what is wrong.
  Result<std::unique_ptr<Engine>> deserialize(std::span<const uint8_t> plan) const;
  Result<std::unique_ptr<Engine>> deserialize_file(const std::string& path) const;

 private:
  Logger& logger_;
};

class Context {
 public:
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const Engine& engine() const;

  // Selects the optimization profile (default 0). Clears input shapes.
  Status set_optimization_profile(int profile);
  int optimization_profile() const;

  // Sets an input's shape; it must lie within the active profile's range. When all inputs are
  // set, every tensor's shape is computed (host work only). Inputs that share a dynamic dim
  // (e.g. an ONNX dim_param) may disagree while they are set one at a time; if they still
  // disagree, all_input_shapes_specified() is false and enqueue reports the mismatch.
  Status set_input_shape(std::string_view name, const Dims& dims);
  // Shape of any I/O tensor (outputs once all input shapes are set; -1 dims before).
  Dims tensor_shape(std::string_view name) const;
  bool all_input_shapes_specified() const;

  // Device (CUDA) or host (CPU) address of an I/O tensor's contiguous buffer.
  Status set_tensor_address(std::string_view name, void* address);
  void* tensor_address(std::string_view name) const;

  // User-managed activation memory (AllocationStrategy::kUserManaged): the block must hold
  // at least device_memory_size_for_current_shapes() bytes (or the profile's size), aligned to
  // 256 bytes, and stay valid while the context runs.
  Status set_device_memory(void* memory, size_t size);
  // Memory needed at the shapes currently set (may be below the profile's max-shape size).
  // Counts the auxiliary streams' needs when set_aux_streams is on.
  Result<size_t> device_memory_size_for_current_shapes() const;
  // Bytes of the activation block in use now (owned or user-managed; 0 before there is one).
  size_t activation_memory_size() const;
  AllocationStrategy allocation_strategy() const;

  // CUDA: an event (cudaEvent_t) that enqueue records on its stream as soon as no kernel reads
  // the input buffers any more, so the caller may refill them while the inference still runs
  // (wait for the event, not for the stream). Recorded at every enqueue and in every replay of
  // a captured CUDA graph. nullptr turns it off. CPU: enqueue has read the inputs when it
  // returns; only nullptr is accepted.
  Status set_input_consumed_event(void* event);
  void* input_consumed_event() const;

  // CUDA: runs independent branches of the network (e.g. the parallel paths of an inception
  // block, a residual shortcut conv) on up to `count` auxiliary streams owned by the context,
  // ordered with events; the enqueue stream waits for them before enqueue's work is complete
  // from its point of view. Chains stay on the enqueue stream. Costs activation memory
  // (branches that run at once cannot share it, and each stream has its own workspace).
  // 0 (the default) turns it off. CPU: only 0 is accepted.
  Status set_aux_streams(int count);
  int aux_streams() const;
  // Auxiliary streams the active profile's schedule actually uses (0 for a chain).
  int aux_streams_used() const;

  // Launches the inference. CUDA: asynchronous on `stream` (a cudaStream_t; nullptr = default
  // stream), with no allocation or synchronization, so it can be captured in a CUDA graph.
  // CPU: runs in the calling thread before returning; `stream` is ignored.
  Status enqueue(void* stream);
  // Runs the inference and waits for it.
  Status execute();

  void set_profiler(Profiler* profiler);

  detail::ContextState& state() const { return *state_; }

 private:
  friend class Engine;
  explicit Context(std::unique_ptr<detail::ContextState> state);
  std::unique_ptr<detail::ContextState> state_;
};

}  // namespace kiln
