#include "tuner/timing.h"

#include "backends/cpu/thread_pool.h"
#include "backends/device.h"
#include "ir/shape_eval.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace kiln::tuner {

namespace {

constexpr unsigned kInputSeed = 1234;  // the same inputs for every candidate

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

}  // namespace

bool KernelTimer::outputs_match(const std::vector<HostTensor>& got,
                                const std::vector<HostTensor>& want) {
  if (got.size() != want.size()) return false;
  for (size_t o = 0; o < got.size(); ++o) {
    if (got[o].numel() != want[o].numel()) return false;
    for (int64_t k = 0; k < got[o].numel(); ++k) {
      double g = got[o].get_double(k), w = want[o].get_double(k);
      if (std::isnan(w) ? !std::isnan(g) : std::fabs(g - w) > 1e-3 + 1e-3 * std::fabs(w)) {
        return false;
      }
    }
  }
  return true;
}

Result<std::vector<HostTensor>> KernelTimer::reference_outputs(const ops::KernelInfo& info) {
  std::mt19937 rng(kInputSeed);
  std::vector<HostTensor> ins;
  ins.reserve(info.num_inputs());
  std::vector<TensorView> in_views, out_views;
  for (int i = 0; i < info.num_inputs(); ++i) {
    ins.push_back(info.has_input(i) ? tuning_input(info, i, rng) : HostTensor());
    in_views.push_back(info.has_input(i) ? ins.back().view() : TensorView{});
  }
  std::vector<HostTensor> out;
  for (size_t o = 0; o < info.node->outputs.size(); ++o) {
    out.emplace_back(info.output_dtype(static_cast<int>(o)), info.opt.outputs[o]);
  }
  for (auto& t : out) out_views.push_back(t.view());
  KILN_RETURN_IF_ERROR(ops::run_reference(*info.graph, *info.node, in_views, out_views));
  return out;
}

Result<double> KernelTimer::time(const ops::KernelInfo& info, const ops::Kernel& kernel,
                                 std::vector<HostTensor>* outputs) {
  std::mt19937 rng(kInputSeed);
  std::vector<DeviceBuffer> buffers;
  std::vector<HostTensor> hosts;
  hosts.reserve(info.num_inputs());
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
  KILN_ASSIGN_OR_RETURN(double ms, device_->time(nullptr, std::max(config_.tuning_warmup, 1),
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

}  // namespace kiln::tuner
