#include "gpu/gpu_harness.h"

#include "backends/cuda/handles.h"
#include "ir/sym.h"

#include <cstdlib>
#include <cstring>
#include <string_view>

namespace kiln::testing {

namespace {
constexpr size_t kGuardBytes = 256;
constexpr unsigned char kGuardByte = 0xA5;

Result<std::vector<Dims>> output_dims(const ir::Graph& g, const ir::Node& node) {
  std::vector<Dims> dims;
  for (int o : node.outputs) {
    KILN_ASSIGN_OR_RETURN(auto d, ir::eval_shape(g.value(o).shape, {}));
    dims.emplace_back(std::span<const int64_t>(d));
  }
  return dims;
}
}  // namespace

// KILN_TEST_TACTICS=NAME runs only the tactics whose name contains NAME (to run one kernel under
// compute-sanitizer; tests that count tactics fail under it).
bool tactic_selected(std::string_view name) {
  const char* v = std::getenv("KILN_TEST_TACTICS");
  return v == nullptr || *v == '\0' || name.find(v) != std::string::npos;
}

bool capture_tactics() {
  const char* v = std::getenv("KILN_TEST_CAPTURE_TACTICS");
  return v != nullptr && std::string(v) == "1";
}

void GpuTest::SetUp() {
  // Skip only where there is no usable GPU; any other failure to set up the device is a failure.
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    GTEST_SKIP() << "GPU test skipped: no CUDA device is visible";
  }
  auto dev = cuda::get_cuda_device();
  ASSERT_TRUE(dev.is_ok()) << "CUDA device setup failed: " << dev.status().to_string();
  cuda_ = *dev;
  device_ = *dev;
  auto s = cuda::Stream::create();
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  stream_ = std::move(*s);
}

Result<std::vector<HostTensor>> run_reference_case(const OpCase& c) {
  KILN_ASSIGN_OR_RETURN(ir::Graph g, make_graph(c));
  const ir::Node& node = g.node(0);
  std::vector<TensorView> ins;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    ins.push_back(node.inputs[i] < 0 ? TensorView{} : c.inputs[i].view());
  }
  KILN_ASSIGN_OR_RETURN(std::vector<Dims> dims, output_dims(g, node));
  std::vector<HostTensor> outs;
  std::vector<TensorView> out_views;
  for (size_t o = 0; o < node.outputs.size(); ++o) {
    outs.emplace_back(g.value(node.outputs[o]).dtype, dims[o]);
    out_views.push_back(outs.back().view());
  }
  KILN_RETURN_IF_ERROR(ops::run_reference(g, node, ins, out_views));
  return outs;
}

Result<std::vector<CudaTacticRun>> run_cuda_tactics(const OpCase& c, Device* device,
                                                    cudaStream_t stream,
                                                    const CudaRunOptions& options) {
  KILN_ASSIGN_OR_RETURN(ir::Graph g, make_graph(c));
  const ir::Node& node = g.node(0);
  KILN_ASSIGN_OR_RETURN(std::vector<Dims> dims, output_dims(g, node));

  ops::KernelInfo info;
  info.graph = &g;
  info.node = &node;
  info.backend = Backend::kCuda;
  info.builder_flags = options.tf32 ? static_cast<uint32_t>(BuilderFlag::kTf32) : 0u;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    info.opt.inputs.push_back(node.inputs[i] < 0 ? Dims{} : c.inputs[i].shape());
  }
  info.opt.outputs = dims;
  info.min = info.opt;
  info.max = info.opt;

  std::vector<CudaTacticRun> runs;
  for (const ops::TacticDef& t : ops::cuda_tactics(c.op)) {
    if (!t.supports(info) || !tactic_selected(t.name)) continue;
    if (options.kiln_kernels_only && t.source != TacticSource::kKilnCuda) continue;
    std::string id = ops::tactic_id(c.op, t);
    KILN_ASSIGN_OR_RETURN(auto kernel, t.create(info));

    // Inputs: fresh device copies for every tactic (a kernel must not write its inputs, but
    // in-place runs do).
    std::vector<DeviceBuffer> buffers;
    std::vector<TensorView> in_views;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i] < 0) {
        in_views.push_back(TensorView{});
        continue;
      }
      const HostTensor& h = c.inputs[i];
      size_t shift = options.misalign_elements * dtype_size(h.dtype());
      KILN_ASSIGN_OR_RETURN(DeviceBuffer b, device->allocate(h.nbytes() + shift));
      void* p = static_cast<char*>(b.get()) + shift;
      KILN_RETURN_IF_ERROR(device->upload(p, h.data(), h.nbytes()));
      in_views.push_back(TensorView{p, h.dtype(), h.shape()});
      buffers.push_back(std::move(b));
    }
    // Outputs, each followed by a guard region of known bytes.
    std::vector<TensorView> out_views;
    std::vector<HostTensor> outs;
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      outs.emplace_back(g.value(node.outputs[o]).dtype, dims[o]);
      if (options.in_place && o == 0) {
        if (in_views.empty() || in_views[0].nbytes() != outs[0].nbytes()) {
          return invalid_argument("in-place run needs input 0 and output 0 of the same size");
        }
        out_views.push_back(TensorView{in_views[0].data, outs[0].dtype(), dims[0]});
        continue;
      }
      size_t shift = options.misalign_elements * dtype_size(outs[o].dtype());
      size_t bytes = outs[o].nbytes();
      KILN_ASSIGN_OR_RETURN(DeviceBuffer b, device->allocate(bytes + shift + kGuardBytes));
      std::vector<unsigned char> fill(bytes + shift + kGuardBytes, kGuardByte);
      KILN_RETURN_IF_ERROR(device->upload(b.get(), fill.data(), fill.size()));
      out_views.push_back(
          TensorView{static_cast<char*>(b.get()) + shift, outs[o].dtype(), dims[o]});
      buffers.push_back(std::move(b));
    }
    size_t ws = kernel->workspace_size(info.opt);
    DeviceBuffer workspace;
    if (ws) {
      KILN_ASSIGN_OR_RETURN(workspace, device->allocate(ws));
    }
    // Host copies of every input, as the autotuner provides (kernels read shape-tensor and
    // constant inputs such as Slice bounds there, never from device memory).
    std::vector<TensorView> host_views;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      host_views.push_back(node.inputs[i] < 0 ? TensorView{} : c.inputs[i].view());
    }
    ops::ExecArgs args;
    args.inputs = in_views;
    args.outputs = out_views;
    args.host_inputs = host_views;
    args.workspace = workspace.get();
    args.workspace_size = ws;
    args.stream = stream;
    if (capture_tactics()) {
      // Every CUDA tactic is capturable: record execute() in a CUDA graph and launch that.
      for (TacticSource src :
           {TacticSource::kCublas, TacticSource::kCublasLt, TacticSource::kCudnn}) {
        KILN_RETURN_IF_ERROR(cuda::reserve_handles(src, 1));
      }
      KILN_ASSIGN_OR_RETURN(cuda::Graph graph,
                            cuda::Graph::capture(stream, [&] { return kernel->execute(args); }));
      KILN_RETURN_IF_ERROR(graph.launch(stream).with_context(id + " (CUDA graph)"));
    } else {
      KILN_RETURN_IF_ERROR(kernel->execute(args).with_context(id));
    }
    KILN_RETURN_IF_ERROR(device->synchronize(stream).with_context(id));

    CudaTacticRun run;
    run.tactic = id;
    for (size_t o = 0; o < outs.size(); ++o) {
      KILN_RETURN_IF_ERROR(device->download(outs[o].data(), out_views[o].data, outs[o].nbytes()));
      if (options.in_place && o == 0) continue;
      std::vector<unsigned char> guard(kGuardBytes);
      KILN_RETURN_IF_ERROR(device->download(
          guard.data(), static_cast<char*>(out_views[o].data) + outs[o].nbytes(), kGuardBytes));
      for (unsigned char b : guard) {
        if (b != kGuardByte) {
          return internal_error(id + " wrote past the end of output " + std::to_string(o));
        }
      }
    }
    run.outputs = std::move(outs);
    runs.push_back(std::move(run));
  }
  if (runs.empty()) return unsupported("no CUDA tactic supports this case of " + c.op);
  return runs;
}

::testing::AssertionResult cuda_matches_reference(const OpCase& c, Device* device,
                                                  cudaStream_t stream, double atol, double rtol,
                                                  const CudaRunOptions& options, int tactics) {
  auto want = run_reference_case(c);
  if (!want.is_ok()) {
    return ::testing::AssertionFailure() << "reference: " << want.status().to_string();
  }
  auto runs = run_cuda_tactics(c, device, stream, options);
  if (!runs.is_ok()) return ::testing::AssertionFailure() << runs.status().to_string();
  if (tactics >= 0 && runs->size() != static_cast<size_t>(tactics)) {
    return ::testing::AssertionFailure()
           << runs->size() << " CUDA tactics ran, expected " << tactics;
  }
  for (const auto& run : *runs) {
    for (size_t o = 0; o < run.outputs.size(); ++o) {
      const HostTensor& got = run.outputs[o];
      const HostTensor& ref = (*want)[o];
      auto close = all_close(got, ref, atol, rtol);
      if (!close) return close << " (" << run.tactic << ", output " << o << ")";
      // Integers and bools exactly, bit for bit (all_close compares through double, which
      // rounds int64 values above 2^53).
      if (!is_floating(got.dtype()) && got.nbytes() == ref.nbytes()) {
        size_t es = dtype_size(got.dtype());
        for (int64_t i = 0; i < got.numel(); ++i) {
          if (std::memcmp(static_cast<const char*>(got.data()) + i * es,
                          static_cast<const char*>(ref.data()) + i * es, es) != 0) {
            return ::testing::AssertionFailure()
                   << "element " << i << " differs: got " << got.get_int(i) << " want "
                   << ref.get_int(i) << " (" << run.tactic << ", output " << o << ")";
          }
        }
      }
    }
  }
  return ::testing::AssertionSuccess();
}

Tolerance device_tolerance(DataType dtype) {
  switch (dtype) {
    case DataType::kFloat32:
      return {1e-6, 1e-5};
    case DataType::kFloat16:
      return {1e-5, 2e-3};  // 2^-10 relative per ulp
    case DataType::kBFloat16:
      return {1e-5, 1.6e-2};  // 2^-7 relative per ulp
    default:
      return {0, 0};
  }
}

}  // namespace kiln::testing
