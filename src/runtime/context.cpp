#include <kiln/runtime.h>

#include "builder/memory_plan.h"
#include "ir/shape_eval.h"
#include "runtime/context_cuda.h"
#include "runtime/engine_state.h"

#ifdef KILN_WITH_CUDA
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/handles.h"
#endif

#include <chrono>
#include <cstring>

namespace kiln {

using detail::ContextState;

namespace {

// Makes the context's own block at least `bytes` (exactly `bytes` when `exact`, so that
// kOnProfileChange gives memory back when a smaller profile is selected).
Status allocate(ContextState& s, size_t bytes, bool exact = false) {
  if (!s.owned_memory.empty() &&
      (exact ? s.owned_memory.size() == bytes : s.owned_memory.size() >= bytes)) {
    s.memory = s.owned_memory.get();
    s.memory_size = s.owned_memory.size();
    return Status::ok();
  }
  s.owned_memory.reset();
  s.memory = nullptr;
  s.memory_size = 0;
  ++s.generation;
  auto buffer = s.es->device->allocate(bytes);
  if (!buffer.is_ok()) return buffer.status().with_context("context activation memory");
  s.owned_memory = std::move(*buffer);
  s.memory = s.owned_memory.get();
  s.memory_size = bytes;
  return Status::ok();
}

// The auxiliary-stream schedule in use, or null when everything runs on the caller's stream.
const detail::StreamSchedule* active_schedule(const ContextState& s) {
  if (!s.aux) return nullptr;
  const auto& sched = s.aux->schedules[s.profile];
  return sched.num_streams > 1 ? &sched : nullptr;
}

struct Layout {
  std::vector<int64_t> offsets;             // per value; -1 outside the arena
  std::vector<uint64_t> workspace_offsets;  // per stream
  uint64_t workspace_size = 0;              // per stream
  uint64_t total = 0;                       // bytes needed
};

// Plans the arena for the current shapes (used when the static plan does not fit, and with
// auxiliary streams, whose concurrent branches need lifetimes and workspaces of their own).
Layout dynamic_layout(const ContextState& s) {
  const auto& g = s.es->graph();
  const auto& pd = s.es->desc.profiles[s.profile];
  const auto& pr = s.es->profiles[s.profile];
  const detail::StreamSchedule* sched = active_schedule(s);
  std::vector<int> step_of_node(g.num_nodes(), -1);
  for (size_t i = 0; i < pr.exec_order.size(); ++i)
    step_of_node[pr.exec_order[i]] = static_cast<int>(i);
  std::vector<int> values;
  std::vector<builder::TensorLifetime> lifetimes;
  std::vector<std::vector<int>> users;
  for (int v = 0; v < g.num_values(); ++v) {
    if (pd.value_offsets[v] < 0) continue;
    int first = step_of_node[g.value(v).producer], last = first;
    std::vector<int> u{first};
    for (int c : g.consumers(v)) {
      if (step_of_node[c] < 0) continue;
      last = std::max(last, step_of_node[c]);
      u.push_back(step_of_node[c]);
    }
    values.push_back(v);
    lifetimes.push_back(
        {s.shapes[v].volume() * static_cast<int64_t>(dtype_size(g.value(v).dtype)), first, last});
    users.push_back(std::move(u));
  }
  if (sched) detail::extend_lifetimes(*sched, users, lifetimes);
  auto mp = builder::plan_memory(lifetimes);
  Layout layout;
  layout.offsets.assign(g.num_values(), -1);
  for (size_t i = 0; i < values.size(); ++i) layout.offsets[values[i]] = mp.offsets[i];
  size_t ws = 0;
  for (int id : pr.exec_order) {
    const auto& n = g.node(id);
    ops::NodeShapes ns;
    for (int in : n.inputs) ns.inputs.push_back(in >= 0 ? s.shapes[in] : Dims{});
    for (int out : n.outputs) ns.outputs.push_back(s.shapes[out]);
    ws = std::max(ws, pr.kernels[id]->workspace_size(ns));
  }
  layout.workspace_size =
      (ws + builder::kArenaAlignment - 1) / builder::kArenaAlignment * builder::kArenaAlignment;
  const int streams = sched ? sched->num_streams : 1;
  for (int st = 0; st < streams; ++st) {
    layout.workspace_offsets.push_back(static_cast<uint64_t>(mp.total) +
                                       static_cast<uint64_t>(st) * layout.workspace_size);
  }
  layout.total =
      static_cast<uint64_t>(mp.total) + static_cast<uint64_t>(streams) * layout.workspace_size;
  return layout;
}

bool static_layout_fits(const ContextState& s) {
  const auto& pd = s.es->desc.profiles[s.profile];
  const auto& pr = s.es->profiles[s.profile];
  const auto& g = s.es->graph();
  for (int v = 0; v < g.num_values(); ++v) {
    if (pd.value_offsets[v] < 0) continue;
    int64_t bytes = s.shapes[v].volume() * static_cast<int64_t>(dtype_size(g.value(v).dtype));
    if (bytes > pr.planned_bytes[v]) return false;
  }
  return true;
}

// Chooses the arena layout for the current shapes and memory.
Status prepare_layout(ContextState& s) {
  if (s.layout_ready) return Status::ok();
  const auto& pd = s.es->desc.profiles[s.profile];
  if (s.memory == nullptr && s.strategy != AllocationStrategy::kUserManaged) {
    KILN_RETURN_IF_ERROR(allocate(s, pd.arena_size));
  }
  if (active_schedule(s) == nullptr && static_layout_fits(s) && s.memory_size >= pd.arena_size) {
    s.offsets = pd.value_offsets;
    s.workspace_offsets.assign(1, pd.workspace_offset);
    s.workspace_size = pd.workspace_size;
  } else {
    Layout layout = dynamic_layout(s);
    if (layout.total > s.memory_size) {
      if (s.strategy == AllocationStrategy::kUserManaged) {
        if (s.memory == nullptr) {
          return failed_precondition(
              "the context uses user-managed memory: call set_device_memory before enqueue (" +
              std::to_string(layout.total) + " bytes needed for the current shapes)");
        }
        return invalid_argument("the memory given to set_device_memory holds " +
                                std::to_string(s.memory_size) + " bytes; the current shapes need " +
                                std::to_string(layout.total));
      }
      KILN_RETURN_IF_ERROR(allocate(s, layout.total));
    }
    s.offsets = std::move(layout.offsets);
    s.workspace_offsets = std::move(layout.workspace_offsets);
    s.workspace_size = layout.workspace_size;
  }
  s.layout_ready = true;
  return Status::ok();
}

#ifdef KILN_WITH_CUDA
// Records an application's event; inside a CUDA graph capture as an event-record node, so that
// every replay records it.
Status record_user_event(void* event, void* stream) {
  auto st = static_cast<cudaStream_t>(stream);
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  KILN_RETURN_IF_ERROR(
      cuda::cuda_status(cudaStreamIsCapturing(st, &capture), "cudaStreamIsCapturing"));
  unsigned flags =
      capture == cudaStreamCaptureStatusActive ? cudaEventRecordExternal : cudaEventRecordDefault;
  return cuda::cuda_status(cudaEventRecordWithFlags(static_cast<cudaEvent_t>(event), st, flags),
                           "cudaEventRecord(input-consumed event)");
}
#endif

std::string shape_list(const OptimizationProfile::Range& r) {
  return "min " + r.min.to_string() + ", max " + r.max.to_string();
}

}  // namespace

Result<std::unique_ptr<Context>> Engine::create_context(AllocationStrategy strategy) const {
  auto s = std::make_unique<ContextState>();
  s->engine = this;
  s->es = state_.get();
  s->strategy = strategy;
  const auto& g = state_->graph();
  s->input_dims.resize(g.inputs().size());
  // Static inputs have their shape from the start.
  for (size_t i = 0; i < g.inputs().size(); ++i) {
    const auto& v = g.value(g.inputs()[i]);
    if (ir::is_static(v.shape)) {
      std::vector<int64_t> d;
      for (const auto& e : v.shape) d.push_back(e.value());
      s->input_dims[i] = Dims(std::span<const int64_t>(d));
    }
  }
  s->io_addresses.assign(state_->io_values.size(), nullptr);
  s->host_values.resize(g.num_values());
  s->device_values.resize(g.num_values());
  if (strategy == AllocationStrategy::kStatic) KILN_RETURN_IF_ERROR(allocate(*s, device_memory_size()));
#ifdef KILN_WITH_CUDA
  if (state_->has_device_shape_values) {
    s->fence = std::make_unique<detail::EnqueueFence>();
    KILN_ASSIGN_OR_RETURN(s->fence->event, cuda::Event::create(/*timing=*/false));
  }
  if (state_->device->backend() == Backend::kCuda) {
    // One library handle per source per context, created now so that enqueue never creates
    // one (which would break CUDA-graph capture).
    size_t contexts = ++state_->contexts_created;
    for (TacticSource src : state_->sources_used) {
      KILN_RETURN_IF_ERROR(cuda::reserve_handles(src, contexts));
    }
  }
#endif
  auto ctx = std::unique_ptr<Context>(new Context(std::move(s)));
  KILN_RETURN_IF_ERROR(ctx->set_optimization_profile(0));
  return ctx;
}

namespace detail {
ContextState::ContextState() = default;
ContextState::~ContextState() = default;
}  // namespace detail

Context::Context(std::unique_ptr<ContextState> state) : state_(std::move(state)) {}
Context::~Context() = default;

const Engine& Context::engine() const { return *state_->engine; }
int Context::optimization_profile() const { return state_->profile; }
void Context::set_profiler(Profiler* profiler) {
  if (state_->profiler != profiler) ++state_->generation;
  state_->profiler = profiler;
}
AllocationStrategy Context::allocation_strategy() const {
  return state_->strategy;
}
size_t Context::activation_memory_size() const {
  return state_->memory_size;
}

Status Context::set_optimization_profile(int profile) {
  auto& s = *state_;
  if (profile < 0 || profile >= static_cast<int>(s.es->profiles.size())) {
    return out_of_range("optimization profile " + std::to_string(profile) +
                        " does not exist (the engine has " + std::to_string(s.es->profiles.size()) +
                        ")");
  }
  s.profile = profile;
  const auto& g = s.es->graph();
  for (size_t i = 0; i < g.inputs().size(); ++i) {
    if (!ir::is_static(g.value(g.inputs()[i]).shape)) s.input_dims[i].reset();
  }
  s.shapes_ready = false;
  s.shape_error = Status::ok();
  s.layout_ready = false;
  if (s.strategy == AllocationStrategy::kOnProfileChange) {
    KILN_RETURN_IF_ERROR(allocate(s, s.es->desc.profiles[profile].arena_size, /*exact=*/true));
  }
  // A network without dynamic inputs is ready at once.
  bool all = true;
  for (const auto& d : s.input_dims) all &= d.has_value();
  if (all && !g.inputs().empty()) return set_input_shape(g.value(g.inputs()[0]).name, *s.input_dims[0]);
  if (g.inputs().empty()) {
    s.symbols.clear();
    KILN_ASSIGN_OR_RETURN(s.shapes, ir::eval_all_shapes(g, s.symbols));
    s.shapes_ready = true;
  }
  return Status::ok();
}

Status Context::set_input_shape(std::string_view name, const Dims& dims) {
  auto& s = *state_;
  const auto& g = s.es->graph();
  int io = s.es->find_io(name);
  if (io < 0 || !s.es->is_input_index(io)) {
    return not_found("set_input_shape: '" + std::string(name) + "' is not an input of the engine");
  }
  const ir::Value& v = g.value(s.es->io_values[io]);
  if (dims.rank() != static_cast<int>(v.shape.size())) {
    return invalid_argument("set_input_shape: input '" + v.name + "' has rank " +
                            std::to_string(v.shape.size()) + ", got shape " + dims.to_string());
  }
  const auto* range = s.es->profiles[s.profile].profile.shape(v.name);
  for (int d = 0; d < dims.rank(); ++d) {
    bool fixed = v.shape[d].is_const();
    if (fixed && v.shape[d].value() != dims[d]) {
      return invalid_argument("set_input_shape: input '" + v.name + "' dim " + std::to_string(d) +
                              " is fixed at " + std::to_string(v.shape[d].value()) + ", got shape " +
                              dims.to_string());
    }
    if (!fixed && range && (dims[d] < range->min[d] || dims[d] > range->max[d])) {
      return invalid_argument("set_input_shape: shape " + dims.to_string() + " of input '" +
                              v.name + "' is outside optimization profile " +
                              std::to_string(s.profile) + " (" + shape_list(*range) + ")");
    }
  }
  // Dims of this input that share a symbol must agree (other inputs are checked once all are set).
  for (int d1 = 0; d1 < dims.rank(); ++d1) {
    for (int d2 = d1 + 1; d2 < dims.rank(); ++d2) {
      const auto& e1 = v.shape[d1];
      const auto& e2 = v.shape[d2];
      if (e1.kind() == ir::SymExpr::Kind::kSymbol && e2.kind() == ir::SymExpr::Kind::kSymbol &&
          e1.symbol_id() == e2.symbol_id() && dims[d1] != dims[d2]) {
        return invalid_argument("set_input_shape: input '" + v.name + "' dims " +
                                std::to_string(d1) + " and " + std::to_string(d2) + " ('" +
                                g.symbols()[e1.symbol_id()].name + "') must be equal, got shape " +
                                dims.to_string());
      }
    }
  }
  // The same shape again: nothing to redo (serving loops set every shape on every request).
  if (s.shapes_ready && s.input_dims[io] && *s.input_dims[io] == dims) return Status::ok();
  s.input_dims[io] = dims;
  s.shapes_ready = false;
  s.layout_ready = false;
  for (const auto& d : s.input_dims) {
    if (!d) return Status::ok();  // wait for the other inputs
  }
  std::vector<Dims> all(s.input_dims.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = *s.input_dims[i];
  s.shape_error = Status::ok();
  auto symbols = ir::bind_symbols(g, all);
  if (!symbols.is_ok()) {
    // Inputs that share a dim (ONNX dim_param) are set one by one: changing both from [2,16] to
    // [3,24] passes through a state where they disagree. Accept the shape and report the
    // disagreement if it is still there at enqueue.
    s.shape_error = symbols.status();
    return Status::ok();
  }
  s.symbols = std::move(*symbols);
  auto shapes = ir::eval_all_shapes(g, s.symbols);
  if (!shapes.is_ok()) {
    // Likewise inputs that must broadcast together ([2,16] + [2,16] -> [3,16] + [3,16]) pass
    // through a state that does not; with one dynamic input the error is final, say it now.
    int dynamic_inputs = 0;
    for (int in : g.inputs()) dynamic_inputs += ir::is_static(g.value(in).shape) ? 0 : 1;
    if (dynamic_inputs <= 1) return shapes.status();
    s.shape_error = shapes.status();
    return Status::ok();
  }
  s.shapes = std::move(*shapes);
  // Shape tensors: evaluate on the host now, so enqueue only launches kernels.
  for (int vid = 0; vid < g.num_values(); ++vid) {
    const ir::Value& val = g.value(vid);
    if (!val.shape_value || val.constant) continue;
    KILN_ASSIGN_OR_RETURN(auto content, ir::eval_shape_value(val, s.symbols));
    HostTensor t(val.dtype, s.shapes[vid]);
    for (int64_t k = 0; k < t.numel() && k < static_cast<int64_t>(content.size()); ++k) {
      store_from_double(t.data(), val.dtype, k, static_cast<double>(content[k]));
    }
    s.host_values[vid] = std::move(t);
    if (s.es->device->backend() != Backend::kCpu) {
#ifdef KILN_WITH_CUDA
      // The previous inference may still read the old values: let it finish first.
      if (s.fence && s.fence->recorded) {
        KILN_RETURN_IF_ERROR(s.fence->event.synchronize());
        s.fence->recorded = false;
      }
#endif
      // Kernels read shape tensors from device memory: copy now, not in enqueue.
      DeviceBuffer& d = s.device_values[vid];
      size_t bytes = s.host_values[vid].nbytes();
      if (d.size() < bytes || d.empty()) {
        KILN_ASSIGN_OR_RETURN(d, s.es->device->allocate(bytes));
        ++s.generation;
      }
      KILN_RETURN_IF_ERROR(s.es->device->upload(d.get(), s.host_values[vid].data(), bytes));
    }
  }
  s.shapes_ready = true;
  return Status::ok();
}

bool Context::all_input_shapes_specified() const { return state_->shapes_ready; }

Dims Context::tensor_shape(std::string_view name) const {
  const auto& s = *state_;
  int io = s.es->find_io(name);
  if (io < 0) return Dims{};
  int v = s.es->io_values[io];
  if (s.shapes_ready) return s.shapes[v];
  if (s.es->is_input_index(io) && s.input_dims[io]) return *s.input_dims[io];
  return s.engine->tensor_shape(name);
}

Status Context::set_tensor_address(std::string_view name, void* address) {
  auto& s = *state_;
  int io = s.es->find_io(name);
  if (io < 0) {
    return not_found("set_tensor_address: '" + std::string(name) +
                     "' is not an input or output of the engine");
  }
  if (address == nullptr) {
    return invalid_argument("set_tensor_address: the address of '" + std::string(name) +
                            "' is null");
  }
  s.io_addresses[io] = address;
  return Status::ok();
}

void* Context::tensor_address(std::string_view name) const {
  int io = state_->es->find_io(name);
  return io < 0 ? nullptr : state_->io_addresses[io];
}

Status Context::set_device_memory(void* memory, size_t size) {
  auto& s = *state_;
  if (s.strategy != AllocationStrategy::kUserManaged) {
    return failed_precondition(
        "set_device_memory needs a context created with AllocationStrategy::kUserManaged");
  }
  if (memory == nullptr && size > 0) return invalid_argument("set_device_memory: memory is null");
  if (reinterpret_cast<uintptr_t>(memory) % builder::kArenaAlignment != 0) {
    return invalid_argument("set_device_memory: memory must be aligned to " +
                            std::to_string(builder::kArenaAlignment) + " bytes");
  }
  s.memory = memory;
  s.memory_size = size;
  s.layout_ready = false;
  ++s.generation;
  return Status::ok();
}

Result<size_t> Context::device_memory_size_for_current_shapes() const {
  const auto& s = *state_;
  if (!s.shapes_ready) {
    return failed_precondition("set the shapes of all inputs before asking for the memory size");
  }
  return static_cast<size_t>(dynamic_layout(s).total);
}

Status Context::set_input_consumed_event(void* event) {
  auto& s = *state_;
  if (event != nullptr && s.es->device->backend() != Backend::kCuda) {
    return unsupported(
        "set_input_consumed_event: the CPU backend's enqueue reads the inputs before it returns, "
        "so there is no event to record (pass nullptr)");
  }
  if (s.input_consumed_event != event) ++s.generation;
  s.input_consumed_event = event;
  return Status::ok();
}

void* Context::input_consumed_event() const {
  return state_->input_consumed_event;
}

Status Context::set_aux_streams(int count) {
  auto& s = *state_;
  if (count < 0) {
    return invalid_argument("set_aux_streams: the count must be >= 0, got " +
                            std::to_string(count));
  }
  if (count == 0) {
    if (s.aux) ++s.generation;
    s.aux.reset();
    s.layout_ready = false;
    return Status::ok();
  }
  if (s.es->device->backend() != Backend::kCuda) {
    return unsupported(
        "set_aux_streams: auxiliary streams need the CUDA backend (the CPU backend "
        "runs the layers of one inference one after another)");
  }
#ifdef KILN_WITH_CUDA
  auto aux = std::make_unique<detail::AuxStreams>();
  aux->count = count;
  int events = 0;
  for (const auto& pr : s.es->profiles) {
    aux->schedules.push_back(detail::schedule_streams(pr.step_deps, count + 1));
    events = std::max(events, aux->schedules.back().num_events);
  }
  for (int i = 0; i < count; ++i) {
    KILN_ASSIGN_OR_RETURN(cuda::Stream st, cuda::Stream::create(/*non_blocking=*/true));
    aux->streams.push_back(std::move(st));
  }
  for (int i = 0; i < events; ++i) {
    KILN_ASSIGN_OR_RETURN(cuda::Event e, cuda::Event::create(/*timing=*/false));
    aux->events.push_back(std::move(e));
  }
  KILN_ASSIGN_OR_RETURN(aux->fork, cuda::Event::create(/*timing=*/false));
  s.aux = std::move(aux);
  s.layout_ready = false;
  ++s.generation;
  return Status::ok();
#else
  return unsupported("set_aux_streams: kiln was built without CUDA");
#endif
}

int Context::aux_streams() const {
  return state_->aux ? state_->aux->count : 0;
}

int Context::aux_streams_used() const {
  const auto* sched = active_schedule(*state_);
  return sched ? sched->num_streams - 1 : 0;
}

namespace detail {

Status prepare_enqueue(ContextState& s) {
  if (!s.shapes_ready) {
    if (!s.shape_error.is_ok()) {
      return invalid_argument("enqueue: the input shapes do not fit together: " +
                              s.shape_error.message());
    }
    std::string missing;
    for (size_t i = 0; i < s.input_dims.size(); ++i) {
      if (!s.input_dims[i]) missing += (missing.empty() ? "'" : ", '") + s.es->io_names[i] + "'";
    }
    return failed_precondition("enqueue: the shapes of inputs " + missing +
                               " are not set (call set_input_shape)");
  }
  for (size_t io = 0; io < s.io_addresses.size(); ++io) {
    if (s.io_addresses[io] == nullptr && s.shapes[s.es->io_values[io]].volume() > 0) {
      return failed_precondition("enqueue: no address set for tensor '" + s.es->io_names[io] +
                                 "' (call set_tensor_address)");
    }
  }
  return prepare_layout(s);
}

Status launch_enqueue(ContextState& s, void* stream) {
  const auto& g = s.es->graph();
  const auto& pr = s.es->profiles[s.profile];
  const StreamSchedule* sched = active_schedule(s);
  const int steps = static_cast<int>(pr.exec_order.size());

  auto address_of = [&](int v) -> void* {
    const ir::Value& val = g.value(v);
    if (val.constant) return const_cast<void*>(s.es->constant_address(v));
    if (int io = s.es->io_of_value[v]; io >= 0) return s.io_addresses[io];
    if (!s.device_values[v].empty()) return s.device_values[v].get();
    if (!s.host_values[v].empty()) return s.host_values[v].data();
    int64_t off = s.offsets[v];
    return off >= 0 ? static_cast<uint8_t*>(s.memory) + off : nullptr;
  };

  // Where the input-consumed event goes: after the last step that reads an input (-1: no step
  // does; `steps`: at the end, when readers run on auxiliary streams).
  int consumed_after = -1;
  if (s.input_consumed_event != nullptr && !pr.input_reader_steps.empty()) {
    consumed_after = pr.input_reader_steps.back();
    if (sched) {
      for (int r : pr.input_reader_steps) {
        if (sched->stream[r] != 0) consumed_after = steps;
      }
    }
  }
  auto record_consumed = [&]() -> Status {
#ifdef KILN_WITH_CUDA
    return record_user_event(s.input_consumed_event, stream);
#else
    return Status::ok();
#endif
  };
  if (s.input_consumed_event != nullptr && consumed_after < 0)
    KILN_RETURN_IF_ERROR(record_consumed());

#ifdef KILN_WITH_CUDA
  auto stream_of = [&](int step) -> void* {
    int st = sched ? sched->stream[step] : 0;
    return st == 0 ? stream : static_cast<void*>(s.aux->streams[st - 1].get());
  };
  if (sched) {
    // Fork: the auxiliary streams start after what the caller enqueued before (the inputs).
    KILN_RETURN_IF_ERROR(s.aux->fork.record(static_cast<cudaStream_t>(stream)));
    for (int st = 1; st < sched->num_streams; ++st) {
      KILN_RETURN_IF_ERROR(s.aux->streams[st - 1].wait(s.aux->fork.get()));
    }
  }
#else
  auto stream_of = [&](int) -> void* { return stream; };
#endif

  for (int step = 0; step < steps; ++step) {
    const int id = pr.exec_order[step];
    const ir::Node& n = g.node(id);
    void* st = stream_of(step);
#ifdef KILN_WITH_CUDA
    if (sched) {
      for (int e : sched->waits[step]) {
        KILN_RETURN_IF_ERROR(cuda::cuda_status(
            cudaStreamWaitEvent(static_cast<cudaStream_t>(st), s.aux->events[e].get(), 0),
            "cudaStreamWaitEvent(auxiliary stream)"));
      }
    }
#endif
    s.in_views.clear();
    s.out_views.clear();
    s.host_views.clear();
    for (int in : n.inputs) {
      if (in < 0) {
        s.in_views.push_back({});
        s.host_views.push_back({});
        continue;
      }
      const ir::Value& val = g.value(in);
      s.in_views.push_back({address_of(in), val.dtype, s.shapes[in]});
      void* host = val.constant                ? val.constant->data()
                   : s.host_values[in].empty() ? nullptr
                                               : s.host_values[in].data();
      s.host_views.push_back({host, val.dtype, s.shapes[in]});
    }
    for (int out : n.outputs) {
      s.out_views.push_back({address_of(out), g.value(out).dtype, s.shapes[out]});
    }
    ops::ExecArgs args;
    args.inputs = s.in_views;
    args.outputs = s.out_views;
    args.host_inputs = s.host_views;
    const int stream_index = sched ? sched->stream[step] : 0;
    args.workspace = static_cast<uint8_t*>(s.memory) + s.workspace_offsets[stream_index];
    args.workspace_size = s.workspace_size;
    args.stream = st;
    args.threads = s.es->threads.get();
    if (s.profiler) KILN_RETURN_IF_ERROR(s.es->device->synchronize(st));
    auto t0 = std::chrono::steady_clock::now();
    Status status = pr.kernels[id]->execute(args);
    if (!status.is_ok()) return status.with_context(g.describe_node(id));
    if (s.profiler) {
      // The profiler is for measuring: wait for the layer (not capturable, by design).
      KILN_RETURN_IF_ERROR(s.es->device->synchronize(st));
      auto t1 = std::chrono::steady_clock::now();
      s.profiler->report_layer_time(n.name,
                                    std::chrono::duration<float, std::milli>(t1 - t0).count());
    }
#ifdef KILN_WITH_CUDA
    if (sched && sched->signal[step] >= 0) {
      KILN_RETURN_IF_ERROR(
          s.aux->events[sched->signal[step]].record(static_cast<cudaStream_t>(st)));
    }
#endif
    if (step == consumed_after) KILN_RETURN_IF_ERROR(record_consumed());
  }
#ifdef KILN_WITH_CUDA
  if (sched) {
    // Join: the caller's stream continues once every auxiliary stream is done.
    for (int e : sched->join) {
      KILN_RETURN_IF_ERROR(cuda::cuda_status(
          cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), s.aux->events[e].get(), 0),
          "cudaStreamWaitEvent(join)"));
    }
  }
#endif
  if (consumed_after == steps) KILN_RETURN_IF_ERROR(record_consumed());
#ifdef KILN_WITH_CUDA
  if (s.fence) {
    // Not inside a capture: the graph runner records the fence after each launch instead.
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    KILN_RETURN_IF_ERROR(
        cuda::cuda_status(cudaStreamIsCapturing(static_cast<cudaStream_t>(stream), &capture),
                          "cudaStreamIsCapturing"));
    if (capture == cudaStreamCaptureStatusNone) KILN_RETURN_IF_ERROR(record_fence(s, stream));
  }
#endif
  // Outputs that no kernel wrote (constants, inputs, host-evaluated shape tensors) are copied.
  for (size_t io = s.es->num_io_inputs(); io < s.es->io_values.size(); ++io) {
    int v = s.es->io_values[io];
    const ir::Value& val = g.value(v);
    bool written = val.producer >= 0 && pr.kernels[val.producer] != nullptr;
    if (written) continue;
    // A host-evaluated shape tensor lives in device_values / host_values, not at its I/O
    // address (which is the destination).
    const void* src = val.constant                  ? s.es->constant_address(v)
                      : !s.device_values[v].empty() ? s.device_values[v].get()
                      : !s.host_values[v].empty()   ? s.host_values[v].data()
                                                    : address_of(v);
    size_t bytes = static_cast<size_t>(s.shapes[v].volume()) * dtype_size(val.dtype);
    if (src && bytes) {
      KILN_RETURN_IF_ERROR(s.es->device->copy_async(s.io_addresses[io], src, bytes, stream)
                               .with_context("output '" + val.name + "'"));
    }
  }
  return Status::ok();
}

Status record_fence(ContextState& s, void* stream) {
#ifdef KILN_WITH_CUDA
  if (!s.fence) return Status::ok();
  KILN_RETURN_IF_ERROR(s.fence->event.record(static_cast<cudaStream_t>(stream)));
  s.fence->recorded = true;
#endif
  return Status::ok();
}

}  // namespace detail

Status Context::enqueue(void* stream) {
  KILN_RETURN_IF_ERROR(detail::prepare_enqueue(*state_));
  return detail::launch_enqueue(*state_, stream);
}

Status Context::execute() {
  KILN_RETURN_IF_ERROR(enqueue(nullptr));
  return state_->es->device->synchronize(nullptr);
}

}  // namespace kiln
