#include "builder/autotune.h"

#include "backends/cpu/thread_pool.h"
#include "backends/device.h"
#include "ir/shape_eval.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <sstream>

namespace kiln::builder {

namespace {

void append_dims(std::ostringstream& s, const std::vector<Dims>& dims) {
  for (const Dims& d : dims) s << d.to_string();
}

std::string attr_text(const ir::AttrValue& v) {
  std::ostringstream s;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::vector<int64_t>> ||
                      std::is_same_v<T, std::vector<double>>) {
          for (auto e : x) s << e << ",";
        } else {
          s << x;
        }
      },
      v);
  return s.str();
}

// Fills a tuning buffer: constants get their real data, floats random values, integers zeros
// (valid indices for Gather-like ops).
HostTensor tuning_input(const ops::KernelInfo& info, int i, std::mt19937& rng) {
  if (const HostTensor* c = info.constant(i)) return *c;
  HostTensor t(info.input_dtype(i), info.opt.inputs[i]);
  if (info.input(i).shape_value) {  // a shape tensor: its real content at the opt shapes
    auto content = ir::eval_shape_value(info.input(i), info.opt_symbols);
    if (content.is_ok()) {
      for (int64_t k = 0; k < t.numel() && k < static_cast<int64_t>(content->size()); ++k) {
        store_from_double(t.data(), t.dtype(), k, static_cast<double>((*content)[k]));
      }
    }
    return t;
  }
  if (is_floating(t.dtype())) {
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    for (int64_t k = 0; k < t.numel(); ++k) store_from_double(t.data(), t.dtype(), k, dist(rng));
  }
  return t;
}

bool outputs_match(const std::vector<HostTensor>& got, const std::vector<HostTensor>& want) {
  for (size_t o = 0; o < got.size(); ++o) {
    for (int64_t k = 0; k < got[o].numel(); ++k) {
      double g = got[o].get_double(k), w = want[o].get_double(k);
      if (std::isnan(w) ? !std::isnan(g) : std::fabs(g - w) > 1e-3 + 1e-3 * std::fabs(w)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

std::string node_signature(const ops::KernelInfo& info) {
  std::ostringstream s;
  s << info.node->op << "|" << backend_name(info.backend) << "|";
  for (const auto& [k, v] : info.attrs().map()) s << k << "=" << attr_text(v) << ";";
  s << "|";
  for (int i = 0; i < info.num_inputs(); ++i) {
    if (!info.has_input(i)) {
      s << "_,";
      continue;
    }
    s << dtype_name(info.input_dtype(i)) << (info.constant(i) ? "c" : "") << ",";
  }
  s << "|";
  append_dims(s, info.min.inputs);
  s << "|";
  append_dims(s, info.opt.inputs);
  s << "|";
  append_dims(s, info.max.inputs);
  return s.str();
}

Result<double> Autotuner::time_kernel(const ops::KernelInfo& info, const ops::Kernel& kernel,
                                      std::vector<HostTensor>* outputs) {
  // Buffers live on the device; host copies of the inputs are made once (same for every
  // candidate: fixed seed).
  std::mt19937 rng(1234);
  std::vector<DeviceBuffer> buffers;
  std::vector<HostTensor> hosts;
  std::vector<TensorView> in_views, out_views, host_views;
  for (int i = 0; i < info.num_inputs(); ++i) {
    if (!info.has_input(i)) {
      in_views.push_back({});
      host_views.push_back({});
      continue;
    }
    hosts.push_back(tuning_input(info, i, rng));
    const HostTensor& host = hosts.back();
    host_views.push_back(host.view());
    KILN_ASSIGN_OR_RETURN(DeviceBuffer buf, device_->allocate(host.nbytes()));
    KILN_RETURN_IF_ERROR(device_->upload(buf.get(), host.data(), host.nbytes()));
    in_views.push_back({buf.get(), host.dtype(), host.shape()});
    buffers.push_back(std::move(buf));
  }
  for (size_t o = 0; o < info.node->outputs.size(); ++o) {
    DataType dt = info.output_dtype(static_cast<int>(o));
    size_t bytes = static_cast<size_t>(info.opt.outputs[o].volume()) * dtype_size(dt);
    KILN_ASSIGN_OR_RETURN(DeviceBuffer buf, device_->allocate(bytes));
    out_views.push_back({buf.get(), dt, info.opt.outputs[o]});
    buffers.push_back(std::move(buf));
  }
  size_t ws = kernel.workspace_size(info.opt);
  KILN_ASSIGN_OR_RETURN(DeviceBuffer workspace, device_->allocate(ws));
  ops::ExecArgs args;
  args.inputs = in_views;
  args.outputs = out_views;
  args.host_inputs = host_views;
  args.workspace = ws ? workspace.get() : nullptr;
  args.workspace_size = ws;
  args.threads = threads_;
  args.stream = nullptr;
  KILN_ASSIGN_OR_RETURN(double ms,
                        device_->time(nullptr, std::max(config_.tuning_warmup, 1),
                                      std::max(config_.tuning_iterations, 1),
                                      [&] { return kernel.execute(args); }));
  if (outputs != nullptr) {
    outputs->clear();
    for (const TensorView& v : out_views) {
      outputs->emplace_back(v.dtype, v.shape);
      KILN_RETURN_IF_ERROR(device_->download(outputs->back().data(), v.data, v.nbytes()));
    }
  }
  return ms;
}

Result<TuneResult> Autotuner::tune(const ops::KernelInfo& info) {
  const std::string where = info.graph->describe_node(info.node->id);
  std::string key = node_signature(info);
  if (auto it = memo_.find(key); it != memo_.end()) {
    ++hits_;
    return it->second;
  }
  const ops::OpDef* def = ops::find_op(info.node->op);
  if (def == nullptr) return unsupported("op '" + info.node->op + "' is not registered").with_context(where);

  // Enabled, supporting tactics; the reference kernel last so that level 0 picks a fast one.
  std::span<const ops::TacticDef> all =
      info.backend == Backend::kCpu ? def->cpu_tactics : ops::cuda_tactics(info.node->op);
  std::vector<const ops::TacticDef*> tactics;
  for (const auto& t : all) {
    if ((config_.tactic_sources & static_cast<uint32_t>(t.source)) == 0) continue;
    if (!t.supports(info)) continue;
    tactics.push_back(&t);
  }
  std::stable_partition(tactics.begin(), tactics.end(), [](const ops::TacticDef* t) {
    return t->source != TacticSource::kCpuReference;
  });
  if (tactics.empty()) {
    return unsupported("no tactic implements this layer with the enabled tactic sources")
        .with_context(where);
  }

  // With accuracy checking, every candidate is compared with the reference kernel run on the
  // host on the same inputs (same seed as time_kernel).
  std::vector<HostTensor> reference_out;
  if (config_.check_accuracy && config_.optimization_level > 0) {
    std::mt19937 rng(1234);
    std::vector<HostTensor> ins;
    std::vector<TensorView> in_views, out_views;
    for (int i = 0; i < info.num_inputs(); ++i) {
      ins.push_back(info.has_input(i) ? tuning_input(info, i, rng) : HostTensor());
      in_views.push_back(info.has_input(i) ? ins.back().view() : TensorView{});
    }
    for (size_t o = 0; o < info.node->outputs.size(); ++o) {
      reference_out.emplace_back(info.output_dtype(static_cast<int>(o)), info.opt.outputs[o]);
    }
    for (auto& t : reference_out) out_views.push_back(t.view());
    Status s = ops::run_reference(*info.graph, *info.node, in_views, out_views);
    if (!s.is_ok()) {
      logger_.log(Severity::kWarning, where + ": accuracy check skipped: " + s.to_string());
      reference_out.clear();
    }
  }

  TuneResult result;
  double best = INFINITY;
  for (const ops::TacticDef* t : tactics) {
    std::string id = ops::tactic_id(info.node->op, *t);
    auto kernel = t->create(info);
    if (!kernel.is_ok()) {
      logger_.log(Severity::kInfo, where + ": tactic " + id + " dropped: " + kernel.status().to_string());
      continue;
    }
    size_t ws = std::max((*kernel)->workspace_size(info.max), (*kernel)->workspace_size(info.opt));
    if (ws > config_.workspace_limit) {
      logger_.log(Severity::kInfo, where + ": tactic " + id + " dropped: needs " +
                                       std::to_string(ws) + " bytes of workspace, limit " +
                                       std::to_string(config_.workspace_limit));
      continue;
    }
    Candidate c{id, t->source, 0.0, ws};
    if (config_.optimization_level <= 0) {
      result.candidates.push_back(c);
      result.tactic_id = id;
      result.workspace = ws;
      break;
    }
    std::vector<HostTensor> out;
    auto ms = time_kernel(info, **kernel, reference_out.empty() ? nullptr : &out);
    ++timed_;
    if (!ms.is_ok()) {
      logger_.log(Severity::kWarning, where + ": tactic " + id + " failed while tuning and was dropped: " +
                                          ms.status().to_string());
      continue;
    }
    if (!reference_out.empty() && !outputs_match(out, reference_out)) {
      logger_.log(Severity::kWarning,
                  where + ": tactic " + id + " differs from the reference kernel and was dropped");
      continue;
    }
    c.median_ms = *ms;
    result.candidates.push_back(c);
    if (*ms < best) {
      best = *ms;
      result.tactic_id = id;
      result.workspace = ws;
    }
  }
  if (result.tactic_id.empty()) {
    return unsupported("every candidate tactic failed or was dropped").with_context(where);
  }
  logger_.log(Severity::kVerbose, where + ": chose " + result.tactic_id);
  memo_[key] = result;
  return result;
}

}  // namespace kiln::builder
