// The build pipeline: network graph -> passes -> per profile: shapes, autotuning, memory plan
// -> EngineDesc -> plan bytes.
#include <kiln/builder.h>
#include <kiln/version.h>

#include "backends/cpu/thread_pool.h"
#include "backends/device.h"
#include "builder/build.h"
#include "builder/layout_costs.h"
#include "builder/memory_plan.h"
#include "builder/precision_constraints.h"
#include "core/phase_timer.h"
#include "ir/shape_eval.h"
#include "network/network_state.h"
#include "passes/pass.h"
#include "plan/engine_desc.h"
#include "tuner/autotuner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>

namespace kiln {

namespace builder {

bool is_host_node(const ir::Graph& g, const ir::Node& n) {
  return std::all_of(n.outputs.begin(), n.outputs.end(),
                     [&](int v) { return g.value(v).shape_value.has_value(); });
}

namespace {

// Checks the profiles against the graph inputs; makes the implicit profile of a static network.
Result<std::vector<OptimizationProfile>> resolve_profiles(const ir::Graph& g,
                                                          const BuildConfig& config) {
  std::vector<OptimizationProfile> profiles = config.profiles;
  bool dynamic = !g.symbols().empty();
  if (profiles.empty()) {
    if (dynamic) {
      for (int in : g.inputs()) {
        const ir::Value& v = g.value(in);
        if (!ir::is_static(v.shape)) {
          return invalid_argument("input '" + v.name + "' has dynamic shape " +
                                  ir::shape_to_string(v.shape, g.symbol_names()) +
                                  ": add an optimization profile with its min/opt/max shapes");
        }
      }
    }
    profiles.emplace_back();
  }
  for (size_t p = 0; p < profiles.size(); ++p) {
    const std::string where = "optimization profile " + std::to_string(p);
    KILN_RETURN_IF_ERROR(profiles[p].validate().with_context(where));
    for (const auto& [name, range] : profiles[p].ranges()) {
      int v = g.find_value(name);
      if (v < 0 || !g.value(v).is_input) {
        return invalid_argument("'" + name + "' is not an input of the network")
            .with_context(where);
      }
      const ir::Value& val = g.value(v);
      if (range.min.rank() != static_cast<int>(val.shape.size())) {
        return invalid_argument(
                   "input '" + name + "' has rank " + std::to_string(val.shape.size()) +
                   ", the profile gives shapes of rank " + std::to_string(range.min.rank()))
            .with_context(where);
      }
      for (int d = 0; d < range.min.rank(); ++d) {
        const auto& e = val.shape[d];
        if (e.is_const() && (range.min[d] != e.value() || range.max[d] != e.value())) {
          return invalid_argument("input '" + name + "' dim " + std::to_string(d) +
                                  " is fixed at " + std::to_string(e.value()) +
                                  " but the profile ranges over [" + std::to_string(range.min[d]) +
                                  ", " + std::to_string(range.max[d]) + "]")
              .with_context(where);
        }
      }
    }
    for (int in : g.inputs()) {
      const ir::Value& v = g.value(in);
      if (!ir::is_static(v.shape) && profiles[p].shape(v.name) == nullptr) {
        return invalid_argument("input '" + v.name + "' has dynamic shape " +
                                ir::shape_to_string(v.shape, g.symbol_names()) +
                                " but the profile gives no range for it")
            .with_context(where);
      }
    }
  }
  return profiles;
}

}  // namespace

std::vector<Dims> profile_corner_dims(const ir::Graph& g, const OptimizationProfile& p,
                                      int corner) {
  std::vector<Dims> dims;
  for (int in : g.inputs()) {
    const ir::Value& v = g.value(in);
    if (const auto* r = p.shape(v.name)) {
      dims.push_back(corner == 0 ? r->min : corner == 1 ? r->opt : r->max);
    } else {
      std::vector<int64_t> d;
      for (const auto& e : v.shape) d.push_back(e.value());
      dims.emplace_back(std::span<const int64_t>(d));
    }
  }
  return dims;
}

ops::NodeShapes node_shapes(const ir::Node& n, const std::vector<Dims>& all) {
  ops::NodeShapes s;
  for (int in : n.inputs) s.inputs.push_back(in >= 0 ? all[in] : Dims{});
  for (int out : n.outputs) s.outputs.push_back(all[out]);
  return s;
}

Result<ProfileShapes> profile_shapes(const ir::Graph& graph, const OptimizationProfile& profile) {
  ProfileShapes out;
  for (int corner = 0; corner < 3; ++corner) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> symbols,
                          ir::bind_symbols(graph, profile_corner_dims(graph, profile, corner)));
    KILN_ASSIGN_OR_RETURN(out.corner[corner], ir::eval_all_shapes(graph, symbols));
    if (corner == 1) out.opt_symbols = std::move(symbols);
  }
  return out;
}

ops::KernelInfo kernel_info_at(const ir::Graph& graph, const ir::Node& node,
                               const BuildConfig& config, const std::vector<Dims> (&corner)[3],
                               const std::vector<int64_t>& opt_symbols) {
  ops::KernelInfo info;
  info.graph = &graph;
  info.node = &node;
  info.backend = config.backend;
  info.min = node_shapes(node, corner[0]);
  info.opt = node_shapes(node, corner[1]);
  info.max = node_shapes(node, corner[2]);
  info.opt_symbols = opt_symbols;
  info.builder_flags = config.flags;
  return info;
}

Result<plan::EngineDesc> build_engine_desc(ir::Graph graph, const BuildConfig& config,
                                           Logger& logger, const BuildCallbacks& callbacks) {
  auto start = std::chrono::steady_clock::now();
  PhaseTimer phases;  // where the build's time goes (verbose log)
  auto device_r = get_device(config.backend);
  if (!device_r.is_ok()) {
    return device_r.status().with_context("backend '" + std::string(backend_name(config.backend)) +
                                          "'");
  }
  Device* device = *device_r;
  phases.lap("device");
  KILN_RETURN_IF_ERROR(graph.validate());
  KILN_RETURN_IF_ERROR(graph.infer_shapes());
  phases.lap("validation and shapes");
  // Made before the passes: they cast and pack weights with it too.
  ThreadPool threads(config.cpu_threads);
  passes::PassOptions pass_options;
  pass_options.logger = &logger;
  pass_options.threads = &threads;
  if (config.has_flag(BuilderFlag::kFp16)) {
    pass_options.reduced_precision = DataType::kFloat16;
  } else if (config.has_flag(BuilderFlag::kBf16)) {
    pass_options.reduced_precision = DataType::kBFloat16;
  }
  KILN_ASSIGN_OR_RETURN(const bool constrained,
                        prepare_precision_constraints(graph, config, &pass_options, logger));
  std::optional<ir::Graph> unoptimized;  // for another run of the passes (prefer fallback)
  if (constrained) unoptimized = graph;
  KILN_RETURN_IF_ERROR(passes::run_passes(graph, pass_options));
  KILN_RETURN_IF_ERROR(graph.validate());
  KILN_ASSIGN_OR_RETURN(auto profiles, resolve_profiles(graph, config));
  if (constrained) {
    KILN_RETURN_IF_ERROR(
        enforce_precision_constraints(*unoptimized, graph, config, pass_options, profiles, logger));
  }
  phases.lap("passes");

  plan::EngineDesc desc;
  desc.kiln_version = kVersion;
  desc.backend = config.backend;
  const DeviceInfo& di = device->info();
  desc.device = {di.name,          di.compute_major, di.compute_minor, di.cuda_runtime_version,
                 di.cudnn_version, di.cublas_version};
  desc.hardware_compatibility = config.hardware_compatibility;
  desc.version_compatible = config.has_flag(BuilderFlag::kVersionCompatible);
  desc.refittable = config.has_flag(BuilderFlag::kRefit);
  desc.builder_flags = config.flags;
  desc.tactic_sources = config.tactic_sources;

  tuner::Autotuner tuner(config, logger, device, &threads);
  KILN_RETURN_IF_ERROR(tuner.init());
  phases.lap("tuner init");

  // Layouts (CUDA): needs the profiles' shapes and the tuner, so it runs after the other passes.
  if (config.backend == Backend::kCuda && config.layouts != LayoutPolicy::kNchw) {
    std::vector<ProfileSymbols> corners;
    for (size_t p = 0; p < profiles.size(); ++p) {
      ProfileSymbols ps;
      std::vector<int64_t>* out[3] = {&ps.min, &ps.opt, &ps.max};
      for (int corner = 0; corner < 3; ++corner) {
        auto symbols = ir::bind_symbols(graph, profile_corner_dims(graph, profiles[p], corner));
        if (!symbols.is_ok()) {
          return symbols.status().with_context("optimization profile " + std::to_string(p));
        }
        *out[corner] = std::move(*symbols);
      }
      corners.push_back(std::move(ps));
    }
    TunedLayoutCosts costs(config, tuner, std::move(corners));
    KILN_RETURN_IF_ERROR(passes::assign_layouts(graph, costs, pass_options).status());
    KILN_RETURN_IF_ERROR(graph.validate());
    phases.lap("layouts");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int> order, graph.topo_order());

  BuildProgress progress;
  progress.num_profiles = static_cast<int>(profiles.size());
  for (int id : order) {
    if (!is_host_node(graph, graph.node(id))) ++progress.layers_total;
  }
  progress.layers_total *= progress.num_profiles;
  auto report_progress = [&] {
    if (!config.progress) return;
    progress.elapsed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    progress.cache_hits = tuner.cache_hits();
    progress.cache_misses = tuner.cache_misses();
    config.progress(progress);
  };
  report_progress();

  for (size_t p = 0; p < profiles.size(); ++p) {
    const std::string where = "optimization profile " + std::to_string(p);
    auto ps = profile_shapes(graph, profiles[p]);
    if (!ps.is_ok()) return ps.status().with_context(where);
    const std::vector<Dims>(&shapes)[3] = ps->corner;
    phases.lap("profile shapes");
    plan::ProfileDesc pd;
    for (int in : graph.inputs()) {
      if (const auto* r = profiles[p].shape(graph.value(in).name)) {
        pd.ranges.push_back({in, r->min, r->opt, r->max});
      }
    }
    pd.tactics.assign(graph.num_nodes(), "");
    size_t workspace = 0;
    // Step of each node in execution order; lifetimes of arena values in steps.
    std::vector<int> producer_step(graph.num_values(), -1), last_step(graph.num_values(), -1);
    int step = 0;
    for (int id : order) {
      const ir::Node& n = graph.node(id);
      if (is_host_node(graph, n)) continue;
      const ops::KernelInfo info = kernel_info_at(graph, n, config, shapes, ps->opt_symbols);
      auto tuned = tuner.tune(info, static_cast<int>(p));
      if (!tuned.is_ok()) return tuned.status().with_context(where);
      pd.tactics[id] = tuned->tactic_id;
      workspace = std::max(workspace, tuned->workspace);
      if (callbacks.on_layer) callbacks.on_layer(static_cast<int>(p), n, *tuned);
      ++progress.layers_done;
      progress.profile = static_cast<int>(p);
      progress.layer = n.name;
      report_progress();
      for (int out : n.outputs) producer_step[out] = step;
      for (int in : n.inputs) {
        if (in >= 0) last_step[in] = step;
      }
      ++step;
    }
    phases.lap("tuning");
    // Arena values: produced by an executed node, not a graph output.
    std::vector<int> arena_values;
    std::vector<TensorLifetime> lifetimes;
    for (int v = 0; v < graph.num_values(); ++v) {
      const ir::Value& val = graph.value(v);
      if (producer_step[v] < 0 || val.is_output || val.constant) continue;
      const int64_t elems = std::max(shapes[2][v].volume(), shapes[1][v].volume());
      const int64_t esize = static_cast<int64_t>(dtype_size(val.dtype));
      if (elems > (int64_t{1} << 56) / esize) {  // volume() saturates; keep sums from overflowing
        return resource_exhausted("tensor '" + val.name + "' would need more than 2^56 bytes")
            .with_context(where);
      }
      int64_t bytes = elems * esize;
      arena_values.push_back(v);
      lifetimes.push_back({bytes, producer_step[v], std::max(last_step[v], producer_step[v])});
    }
    MemoryPlan mp = plan_memory(lifetimes);
    pd.value_offsets.assign(graph.num_values(), -1);
    for (size_t i = 0; i < arena_values.size(); ++i)
      pd.value_offsets[arena_values[i]] = mp.offsets[i];
    pd.workspace_offset = static_cast<uint64_t>(mp.total);
    pd.workspace_size = (workspace + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
    pd.arena_size = pd.workspace_offset + pd.workspace_size;
    logger.log(Severity::kInfo, where + ": " + std::to_string(step) + " layers, activation arena " +
                                    std::to_string(mp.total) + " bytes, workspace " +
                                    std::to_string(pd.workspace_size) + " bytes");
    desc.profiles.push_back(std::move(pd));
    phases.lap("memory plan");
  }
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  logger.log(Severity::kInfo, "build: " + std::to_string(tuner.timed()) + " candidates timed; " +
                                  std::to_string(tuner.cache_hits()) +
                                  " layers from the timing cache, " +
                                  std::to_string(tuner.cache_misses()) + " tuned; " +
                                  std::to_string(ms.count()) + " ms");
  logger.log(Severity::kVerbose, "build phases: " + phases.summary());
  desc.graph = std::move(graph);
  return desc;
}

}  // namespace builder

Builder::Builder(Logger& logger) : logger_(logger) {}
Builder::~Builder() = default;

std::unique_ptr<Network> Builder::create_network() const {
  return std::make_unique<Network>(logger_);
}

Result<std::vector<uint8_t>> Builder::build_serialized_network(const Network& network,
                                                               const BuildConfig& config) const {
  KILN_RETURN_IF_ERROR(network.status().with_context("network"));
  KILN_ASSIGN_OR_RETURN(plan::EngineDesc desc,
                        builder::build_engine_desc(network.state().graph, config, logger_, {}));
  PhaseTimer timer;
  auto plan = plan::write_plan(desc);
  timer.lap("plan serialization");
  if (plan.is_ok()) {
    logger_.log(Severity::kVerbose, "build phases: " + timer.summary() + " (" +
                                        std::to_string(plan->size()) + " bytes)");
  }
  return plan;
}

namespace {

// Passes writes on and sums the time they take (the verbose log tells serialization from
// writing).
class TimedWriter : public StreamWriter {
 public:
  explicit TimedWriter(StreamWriter& out) : out_(out) {}
  Status write(const void* data, size_t size) override {
    const auto t0 = std::chrono::steady_clock::now();
    Status s = out_.write(data, size);
    ms_ += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return s;
  }
  double ms() const { return ms_; }

 private:
  StreamWriter& out_;
  double ms_ = 0;
};

}  // namespace

Result<uint64_t> Builder::build_serialized_network_to_stream(const Network& network,
                                                             const BuildConfig& config,
                                                             StreamWriter& out) const {
  KILN_RETURN_IF_ERROR(network.status().with_context("network"));
  KILN_ASSIGN_OR_RETURN(plan::EngineDesc desc,
                        builder::build_engine_desc(network.state().graph, config, logger_, {}));
  const auto t0 = std::chrono::steady_clock::now();
  TimedWriter timed(out);
  auto size = plan::write_plan_to(desc, timed);
  if (size.is_ok()) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    char buf[96];
    std::snprintf(buf, sizeof buf, "plan serialization %.1f ms, plan write %.1f ms",
                  ms - timed.ms(), timed.ms());
    logger_.log(Severity::kVerbose,
                "build phases: " + std::string(buf) + " (" + std::to_string(*size) + " bytes)");
  }
  return size;
}

}  // namespace kiln
