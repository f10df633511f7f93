// Helpers of the data-movement and MatMul GPU tests: run a case through the CPU reference and
// every supporting CUDA tactic and compare; list which tactics ran.
#pragma once

#include "backends/cuda/cuda_raii.h"
#include "backends/cuda/handles.h"
#include "gpu/gpu_harness.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace kiln::testing {

// Tactic ids ("Op/source/name") that ran.
inline std::vector<std::string> tactic_ids(const std::vector<CudaTacticRun>& runs) {
  std::vector<std::string> ids;
  for (const auto& r : runs) ids.push_back(r.tactic);
  return ids;
}

inline bool ran(const std::vector<CudaTacticRun>& runs, const std::string& name_suffix) {
  return std::any_of(runs.begin(), runs.end(), [&](const CudaTacticRun& r) {
    return r.tactic.size() >= name_suffix.size() &&
           r.tactic.compare(r.tactic.size() - name_suffix.size(), name_suffix.size(),
                            name_suffix) == 0;
  });
}

// Runs the case on the reference and on every supporting CUDA tactic; each tactic's outputs must
// equal the reference's bit for bit (data movement copies values; NaNs compare equal). Returns the
// runs (empty on failure, which has been reported).
inline std::vector<CudaTacticRun> expect_exact(const OpCase& c, Device* device, cudaStream_t stream,
                                               const std::string& what,
                                               const CudaRunOptions& options = {}) {
  auto want = run_reference_case(c);
  EXPECT_TRUE(want.is_ok()) << what << ": " << want.status().to_string();
  if (!want.is_ok()) return {};
  auto runs = run_cuda_tactics(c, device, stream, options);
  EXPECT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  if (!runs.is_ok()) return {};
  for (const auto& r : *runs) {
    EXPECT_EQ(r.outputs.size(), want->size()) << what << " " << r.tactic;
    for (size_t o = 0; o < r.outputs.size() && o < want->size(); ++o) {
      EXPECT_TRUE(all_close(r.outputs[o], (*want)[o], 0.0, 0.0))
          << what << " " << r.tactic << " output " << o;
      // Integers compare by bytes too (doubles cannot tell large int64 values apart).
      if (!is_floating(r.outputs[o].dtype()) && r.outputs[o].nbytes() > 0 &&
          r.outputs[o].nbytes() == (*want)[o].nbytes()) {
        EXPECT_EQ(std::memcmp(r.outputs[o].data(), (*want)[o].data(), r.outputs[o].nbytes()), 0)
            << what << " " << r.tactic << " output " << o << " differs in its bytes";
      }
    }
  }
  return std::move(*runs);
}

// Runs every supporting CUDA tactic's execute() inside a CUDA graph capture on `stream` (library
// handles reserved first, as the runtime does), launches the graph twice and compares the outputs
// with the reference (atol/rtol). Proves the kernels capturable: no allocation, no
// synchronization, no host reads of device data. Returns how many tactics were captured.
inline int expect_capturable(const OpCase& c, Device* device, cudaStream_t stream, double atol,
                             double rtol, const std::string& what) {
  auto want = run_reference_case(c);
  EXPECT_TRUE(want.is_ok()) << what << ": " << want.status().to_string();
  if (!want.is_ok()) return 0;
  auto g = make_graph(c);
  EXPECT_TRUE(g.is_ok()) << what;
  if (!g.is_ok()) return 0;
  const ir::Node& node = g->node(0);
  ops::KernelInfo info;
  info.graph = &*g;
  info.node = &node;
  info.backend = Backend::kCuda;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    info.opt.inputs.push_back(node.inputs[i] < 0 ? Dims{} : c.inputs[i].shape());
  }
  for (const HostTensor& w : *want) info.opt.outputs.push_back(w.shape());
  info.min = info.opt;
  info.max = info.opt;
  for (TacticSource s : {TacticSource::kCublas, TacticSource::kCublasLt}) {
    EXPECT_TRUE(cuda::reserve_handles(s, 1).is_ok()) << what;
  }
  int captured = 0;
  for (const ops::TacticDef& t : ops::cuda_tactics(c.op)) {
    if (!t.supports(info)) continue;
    const std::string id = ops::tactic_id(c.op, t);
    auto kernel = t.create(info);
    EXPECT_TRUE(kernel.is_ok()) << what << " " << id << ": " << kernel.status().to_string();
    if (!kernel.is_ok()) continue;
    std::vector<DeviceBuffer> buffers;
    std::vector<TensorView> ins, hosts, outs;
    bool ok = true;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i] < 0) {
        ins.push_back({});
        hosts.push_back({});
        continue;
      }
      const HostTensor& h = c.inputs[i];
      auto b = device->allocate(h.nbytes());
      ok = ok && b.is_ok() && device->upload(b->get(), h.data(), h.nbytes()).is_ok();
      if (!ok) break;
      ins.push_back({b->get(), h.dtype(), h.shape()});
      hosts.push_back(h.view());
      buffers.push_back(std::move(*b));
    }
    for (size_t o = 0; ok && o < want->size(); ++o) {
      auto b = device->allocate((*want)[o].nbytes());
      ok = b.is_ok();
      if (!ok) break;
      outs.push_back({b->get(), (*want)[o].dtype(), (*want)[o].shape()});
      buffers.push_back(std::move(*b));
    }
    const size_t ws = (*kernel)->workspace_size(info.opt);
    DeviceBuffer workspace;
    if (ok && ws) {
      auto b = device->allocate(ws);
      ok = b.is_ok();
      if (ok) workspace = std::move(*b);
    }
    EXPECT_TRUE(ok) << what << " " << id << ": buffers";
    if (!ok) continue;
    ops::ExecArgs args;
    args.inputs = ins;
    args.outputs = outs;
    args.host_inputs = hosts;
    args.workspace = workspace.get();
    args.workspace_size = ws;
    args.stream = stream;
    const ops::Kernel& k = **kernel;
    auto graph = cuda::Graph::capture(stream, [&] { return k.execute(args); });
    EXPECT_TRUE(graph.is_ok()) << what << " " << id << ": " << graph.status().to_string();
    if (!graph.is_ok()) continue;
    for (int rep = 0; rep < 2; ++rep) {
      EXPECT_TRUE(graph->launch(stream).is_ok()) << what << " " << id;
    }
    EXPECT_TRUE(device->synchronize(stream).is_ok()) << what << " " << id;
    for (size_t o = 0; o < want->size(); ++o) {
      HostTensor got((*want)[o].dtype(), (*want)[o].shape());
      EXPECT_TRUE(device->download(got.data(), outs[o].data, got.nbytes()).is_ok());
      EXPECT_TRUE(all_close(got, (*want)[o], atol, rtol)) << what << " " << id << " (graph)";
    }
    ++captured;
  }
  return captured;
}

inline Dims make_dims(const std::vector<int64_t>& v) {
  return Dims(std::span<const int64_t>(v));
}

}  // namespace kiln::testing
