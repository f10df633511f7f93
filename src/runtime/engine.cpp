#include <kiln/runtime.h>
#include <kiln/version.h>

#include "builder/build.h"
#include "ir/shape_eval.h"
#include "runtime/engine_state.h"

#include <algorithm>
#include <fstream>
#include <iterator>

namespace kiln {

namespace detail {
int EngineState::find_io(std::string_view name) const {
  for (size_t i = 0; i < io_names.size(); ++i) {
    if (io_names[i] == name) return static_cast<int>(i);
  }
  return -1;
}
}  // namespace detail

namespace {

// Finds the tactic named by a plan's tactic id ("<op>/<source>/<name>").
Result<const ops::TacticDef*> find_tactic(const std::string& op, Backend backend,
                                          const std::string& id) {
  const ops::OpDef* def = ops::find_op(op);
  if (def == nullptr) return unsupported("op '" + op + "' is not supported by this kiln");
  std::span<const ops::TacticDef> tactics =
      backend == Backend::kCpu ? def->cpu_tactics : ops::cuda_tactics(op);
  for (const auto& t : tactics) {
    if (ops::tactic_id(op, t) == id) return &t;
  }
  return unsupported("tactic '" + id + "' is not available in this kiln");
}

Status load_profiles(detail::EngineState& es) {
  const ir::Graph& g = es.desc.graph;
  KILN_ASSIGN_OR_RETURN(es.topo, g.topo_order());
  for (size_t p = 0; p < es.desc.profiles.size(); ++p) {
    const plan::ProfileDesc& pd = es.desc.profiles[p];
    const std::string where = "optimization profile " + std::to_string(p);
    detail::ProfileRuntime pr;
    for (const auto& r : pd.ranges) pr.profile.set_shape(g.value(r.value).name, r.min, r.opt, r.max);
    std::vector<Dims> shapes[3];
    for (int corner = 0; corner < 3; ++corner) {
      auto symbols = ir::bind_symbols(g, builder::profile_corner_dims(g, pr.profile, corner));
      if (!symbols.is_ok()) return corrupt_data(symbols.status().to_string()).with_context(where);
      auto all = ir::eval_all_shapes(g, *symbols);
      if (!all.is_ok()) return corrupt_data(all.status().to_string()).with_context(where);
      shapes[corner] = std::move(*all);
    }
    pr.planned_bytes.assign(g.num_values(), 0);
    for (int v = 0; v < g.num_values(); ++v) {
      pr.planned_bytes[v] = std::max(shapes[2][v].volume(), shapes[1][v].volume()) *
                            static_cast<int64_t>(dtype_size(g.value(v).dtype));
    }
    pr.kernels.resize(g.num_nodes());
    for (int id : es.topo) {
      const ir::Node& n = g.node(id);
      const std::string& tactic = pd.tactics[id];
      if (tactic.empty()) {
        if (!builder::is_host_node(g, n)) {
          return corrupt_data("layer '" + n.name + "' has no tactic").with_context(where);
        }
        continue;
      }
      KILN_ASSIGN_OR_RETURN(const ops::TacticDef* def, find_tactic(n.op, es.desc.backend, tactic));
      ops::KernelInfo info;
      info.graph = &g;
      info.node = &n;
      info.backend = es.desc.backend;
      info.builder_flags = es.desc.builder_flags;
      info.min = builder::node_shapes(n, shapes[0]);
      info.opt = builder::node_shapes(n, shapes[1]);
      info.max = builder::node_shapes(n, shapes[2]);
      if (!def->supports(info)) {
        return corrupt_data("tactic '" + tactic + "' does not support layer '" + n.name + "'")
            .with_context(where);
      }
      if ((es.desc.tactic_sources & static_cast<TacticSources>(def->source)) == 0) {
        return corrupt_data("layer '" + n.name + "' uses tactic '" + tactic +
                            "' of a tactic source the build disabled (enabled: " +
                            tactic_sources_to_string(es.desc.tactic_sources) + ")")
            .with_context(where);
      }
      auto kernel = def->create(info);
      if (!kernel.is_ok()) return kernel.status().with_context(g.describe_node(id)).with_context(where);
      pr.kernels[id] = std::move(*kernel);
      if (std::find(es.sources_used.begin(), es.sources_used.end(), def->source) ==
          es.sources_used.end()) {
        es.sources_used.push_back(def->source);
      }
      pr.exec_order.push_back(id);
    }
    // Step dependencies (for auxiliary streams) and the steps that read graph inputs (for the
    // input-consumed event).
    std::vector<int> step_of_node(g.num_nodes(), -1);
    for (size_t i = 0; i < pr.exec_order.size(); ++i) {
      step_of_node[pr.exec_order[i]] = static_cast<int>(i);
    }
    pr.step_deps.resize(pr.exec_order.size());
    for (size_t i = 0; i < pr.exec_order.size(); ++i) {
      bool reads_input = false;
      for (int in : g.node(pr.exec_order[i]).inputs) {
        if (in < 0) continue;
        const ir::Value& v = g.value(in);
        if (v.is_input) reads_input = true;
        int p = v.producer >= 0 ? step_of_node[v.producer] : -1;
        auto& deps = pr.step_deps[i];
        if (p >= 0 && std::find(deps.begin(), deps.end(), p) == deps.end()) deps.push_back(p);
      }
      if (reads_input) pr.input_reader_steps.push_back(static_cast<int>(i));
    }
    es.profiles.push_back(std::move(pr));
  }
  return Status::ok();
}

}  // namespace

Engine::Engine(std::unique_ptr<detail::EngineState> state) : state_(std::move(state)) {}
Engine::~Engine() = default;

Backend Engine::backend() const { return state_->desc.backend; }
int Engine::num_io_tensors() const { return static_cast<int>(state_->io_values.size()); }
const std::string& Engine::io_tensor_name(int index) const {
  static const std::string kEmpty;
  return index >= 0 && index < num_io_tensors() ? state_->io_names[index] : kEmpty;
}
TensorIOMode Engine::tensor_io_mode(std::string_view name) const {
  int io = state_->find_io(name);
  if (io < 0) return TensorIOMode::kNone;
  return state_->is_input_index(io) ? TensorIOMode::kInput : TensorIOMode::kOutput;
}
DataType Engine::tensor_dtype(std::string_view name) const {
  int io = state_->find_io(name);
  return io < 0 ? DataType::kFloat32 : state_->graph().value(state_->io_values[io]).dtype;
}
Dims Engine::tensor_shape(std::string_view name) const {
  int io = state_->find_io(name);
  if (io < 0) return Dims{};
  std::vector<int64_t> d;
  for (const auto& e : state_->graph().value(state_->io_values[io]).shape) {
    d.push_back(e.is_const() ? e.value() : -1);
  }
  return Dims(std::span<const int64_t>(d));
}
int Engine::num_optimization_profiles() const {
  return static_cast<int>(state_->profiles.size());
}
Result<OptimizationProfile::Range> Engine::profile_shape(std::string_view input_name,
                                                         int profile) const {
  if (profile < 0 || profile >= num_optimization_profiles()) {
    return out_of_range("optimization profile " + std::to_string(profile) + " does not exist (" +
                        std::to_string(num_optimization_profiles()) + " profiles)");
  }
  int io = state_->find_io(input_name);
  if (io < 0 || !state_->is_input_index(io)) {
    return not_found("'" + std::string(input_name) + "' is not an input of the engine");
  }
  if (const auto* r = state_->profiles[profile].profile.shape(input_name)) return *r;
  Dims d = tensor_shape(input_name);
  return OptimizationProfile::Range{d, d, d};
}
size_t Engine::device_memory_size(int profile) const {
  if (profile < 0 || profile >= num_optimization_profiles()) return 0;
  return static_cast<size_t>(state_->desc.profiles[profile].arena_size);
}
size_t Engine::device_memory_size() const {
  size_t m = 0;
  for (int p = 0; p < num_optimization_profiles(); ++p) m = std::max(m, device_memory_size(p));
  return m;
}
size_t Engine::weights_size() const { return state_->weights_bytes; }
int Engine::num_layers() const {
  return state_->profiles.empty() ? 0 : static_cast<int>(state_->profiles[0].exec_order.size());
}
TacticSources Engine::tactic_sources_enabled() const {
  return state_->desc.tactic_sources;
}
TacticSources Engine::tactic_sources_used() const {
  TacticSources used = 0;
  for (TacticSource s : state_->sources_used) used |= static_cast<TacticSources>(s);
  return used;
}

Runtime::Runtime(Logger& logger) : logger_(logger) {}
Runtime::~Runtime() = default;

Result<std::unique_ptr<Engine>> Runtime::deserialize(std::span<const uint8_t> bytes) const {
  KILN_ASSIGN_OR_RETURN(plan::EngineDesc desc, plan::read_plan(bytes));
  return detail::EngineFactory::load(std::move(desc), logger_);
}

namespace {

// Can a plan built for `built` run on `here`? (hardware compatibility levels)
Status check_device(const plan::EngineDesc& desc, const DeviceInfo& here) {
  if (desc.backend == Backend::kCpu) return Status::ok();
  const auto& built = desc.device;
  std::string built_cc = std::to_string(built.compute_major) + "." + std::to_string(built.compute_minor);
  std::string here_cc = std::to_string(here.compute_major) + "." + std::to_string(here.compute_minor);
  switch (desc.hardware_compatibility) {
    case HardwareCompatibility::kNone:
      if (built.name != here.name || built_cc != here_cc) {
        return unsupported("the plan was built for '" + built.name + "' (compute " + built_cc +
                           ") and this device is '" + here.name + "' (compute " + here_cc +
                           "); rebuild it here or build with a hardware-compatibility level");
      }
      break;
    case HardwareCompatibility::kSameComputeCapability:
      if (built_cc != here_cc) {
        return unsupported("the plan needs compute capability " + built_cc + ", this device has " +
                           here_cc);
      }
      break;
    case HardwareCompatibility::kAmperePlus:
      if (here.compute_major < 8) {
        return unsupported("the plan is ampere-plus (compute capability 8.0 or newer); this device has " +
                           here_cc);
      }
      break;
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<Engine>> detail::EngineFactory::load(plan::EngineDesc desc, Logger& logger) {
  auto device = get_device(desc.backend);
  if (!device.is_ok()) {
    return device.status().with_context("the plan was built for the '" +
                                        std::string(backend_name(desc.backend)) + "' backend");
  }
  KILN_RETURN_IF_ERROR(check_device(desc, (*device)->info()));
  auto es = std::make_unique<detail::EngineState>();
  es->device = *device;
  es->desc = std::move(desc);
  es->logger = &logger;
  const ir::Graph& g = es->desc.graph;
  for (int v : g.inputs()) {
    es->io_values.push_back(v);
    es->io_names.push_back(g.value(v).name);
  }
  for (int v : g.outputs()) {
    if (g.value(v).is_input) continue;  // an input marked as output is bound once, as input
    es->io_values.push_back(v);
    es->io_names.push_back(g.value(v).name);
  }
  es->io_of_value.assign(g.num_values(), -1);
  for (size_t io = 0; io < es->io_values.size(); ++io) es->io_of_value[es->io_values[io]] = static_cast<int>(io);
  for (int v = 0; v < g.num_values(); ++v) {
    if (g.value(v).constant) es->weights_bytes += g.value(v).constant->nbytes();
  }
  if (es->desc.profiles.empty()) return corrupt_data("the plan has no optimization profile");
  if (es->device->backend() != Backend::kCpu) {
    // Weights go to the device once; every context shares them.
    es->constant_buffers.resize(g.num_values());
    for (int v = 0; v < g.num_values(); ++v) {
      const auto& c = g.value(v).constant;
      if (!c) continue;
      KILN_ASSIGN_OR_RETURN(es->constant_buffers[v], es->device->allocate(c->nbytes()));
      KILN_RETURN_IF_ERROR(es->device->upload(es->constant_buffers[v].get(), c->data(), c->nbytes()));
    }
  }
  KILN_RETURN_IF_ERROR(load_profiles(*es));
  if (es->device->backend() != Backend::kCpu) {
    for (int v = 0; v < g.num_values(); ++v) {
      if (g.value(v).shape_value && !g.value(v).constant) es->has_device_shape_values = true;
    }
  }
  es->threads = std::make_unique<ThreadPool>(0);
  return std::unique_ptr<Engine>(new Engine(std::move(es)));
}

Result<std::unique_ptr<Engine>> Runtime::deserialize_file(const std::string& path) const {
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("cannot open plan file '" + path + "'");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto engine = deserialize(bytes);
  if (!engine.is_ok()) return engine.status().with_context("plan file '" + path + "'");
  return engine;
}

}  // namespace kiln
