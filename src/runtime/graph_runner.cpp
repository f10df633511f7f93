// GraphRunner: an LRU of captured CUDA graphs per context, keyed by (profile, input shapes);
// address or memory changes re-capture and update the executable graph in place.
#include <kiln/graph_runner.h>

#include "runtime/engine_state.h"

#ifdef KILN_WITH_CUDA
#include "backends/cuda/cuda_raii.h"
#endif

#include <vector>

namespace kiln {

struct GraphRunner::Impl {
  Context& context;
  GraphRunnerOptions options;
  GraphRunnerStats stats;

  struct Entry {
    int profile = 0;
    std::vector<Dims> dims;        // the key
    std::vector<void*> addresses;  // the rest of the signature, as captured
    uint64_t generation = 0;
    uint64_t last_used = 0;
    bool failed = false;
    std::string reason;  // why it cannot be captured
#ifdef KILN_WITH_CUDA
    cuda::Graph graph;
#endif
  };
  std::vector<Entry> entries;
  uint64_t tick = 0;

  Impl(Context& c, GraphRunnerOptions o) : context(c), options(o) {
    if (options.max_graphs == 0) options.max_graphs = 1;
  }

  detail::ContextState& state() {
    return context.state();
  }

  void note_fallback(const std::string& reason) {
    ++stats.fallbacks;
    stats.last_fallback_reason = reason;
    state().es->log_once(Severity::kWarning,
                         "GraphRunner: running plain enqueue without a CUDA graph: " + reason);
  }

  Status plain(void* stream) {
    ++stats.plain_runs;
    return detail::launch_enqueue(state(), stream);
  }

  Entry* find(int profile, const std::vector<Dims>& dims) {
    for (auto& e : entries) {
      if (e.profile == profile && e.dims == dims) return &e;
    }
    return nullptr;
  }

  Entry& insert(int profile, std::vector<Dims> dims) {
    if (entries.size() >= options.max_graphs) {
      size_t oldest = 0;
      for (size_t i = 1; i < entries.size(); ++i) {
        if (entries[i].last_used < entries[oldest].last_used) oldest = i;
      }
      entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(oldest));
      ++stats.evictions;
    }
    Entry e;
    e.profile = profile;
    e.dims = std::move(dims);
    entries.push_back(std::move(e));
    return entries.back();
  }

  Status enqueue(void* stream) {
    auto& s = state();
    if (!options.enabled) {
      KILN_RETURN_IF_ERROR(detail::prepare_enqueue(s));
      return plain(stream);
    }
    std::string reason;
    if (s.es->device->backend() != Backend::kCuda) {
      reason = "CUDA graphs need the CUDA backend (this engine runs on " +
               std::string(backend_name(s.es->device->backend())) + ")";
    } else if (stream == nullptr) {
      reason = "CUDA graph capture needs a stream other than the legacy default stream (nullptr)";
    } else if (s.profiler != nullptr) {
      reason = "a profiler is set on the context (it synchronizes after every layer)";
    }
    KILN_RETURN_IF_ERROR(detail::prepare_enqueue(s));
    if (!reason.empty()) {
      note_fallback(reason);
      return plain(stream);
    }
#ifdef KILN_WITH_CUDA
    std::vector<Dims> dims(s.input_dims.size());
    for (size_t i = 0; i < dims.size(); ++i) dims[i] = *s.input_dims[i];
    auto cuda_stream = static_cast<cudaStream_t>(stream);
    auto capture_fn = [&] { return detail::launch_enqueue(s, stream); };
    Entry* e = find(s.profile, dims);
    if (e == nullptr) {
      // First sight: a plain run does this call's work (and any lazy first-run work), then the
      // capture is made for the next call.
      KILN_RETURN_IF_ERROR(plain(stream));
      Entry& fresh = insert(s.profile, std::move(dims));
      fresh.last_used = ++tick;
      auto graph = cuda::Graph::capture(cuda_stream, capture_fn);
      if (!graph.is_ok()) {
        fresh.failed = true;
        fresh.reason = "capture failed: " + graph.status().to_string();
        note_fallback(fresh.reason);
        return Status::ok();
      }
      fresh.graph = std::move(*graph);
      fresh.addresses = s.io_addresses;
      fresh.generation = s.generation;
      ++stats.captures;
      return Status::ok();
    }
    e->last_used = ++tick;
    if (e->failed) {
      note_fallback(e->reason);
      return plain(stream);
    }
    if (e->addresses != s.io_addresses || e->generation != s.generation) {
      auto updated = e->graph.recapture(cuda_stream, capture_fn);
      if (!updated.is_ok()) {
        e->failed = true;
        e->reason = "re-capture failed: " + updated.status().to_string();
        note_fallback(e->reason);
        return plain(stream);
      }
      ++(*updated ? stats.updates : stats.captures);
      e->addresses = s.io_addresses;
      e->generation = s.generation;
    }
    KILN_RETURN_IF_ERROR(e->graph.launch(cuda_stream));
    ++stats.replays;
    return detail::record_fence(s, stream);
#else
    note_fallback("kiln was built without CUDA");
    return plain(stream);
#endif
  }
};

GraphRunner::GraphRunner(Context& context, GraphRunnerOptions options)
    : impl_(std::make_unique<Impl>(context, options)) {}
GraphRunner::~GraphRunner() = default;

Status GraphRunner::enqueue(void* stream) {
  return impl_->enqueue(stream);
}
void GraphRunner::clear() {
  impl_->entries.clear();
}
size_t GraphRunner::num_graphs() const {
  size_t n = 0;
  for (const auto& e : impl_->entries) n += e.failed ? 0 : 1;
  return n;
}
const GraphRunnerStats& GraphRunner::stats() const {
  return impl_->stats;
}
Context& GraphRunner::context() const {
  return impl_->context;
}

}  // namespace kiln
