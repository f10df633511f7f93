// The CUDA tactics of Conv, Pooling (both layouts), the norms, Softmax, Reduce and TopK are
// capturable: each kernel's execute() is recorded into a CUDA graph (no allocation,
// synchronization or handle creation inside), the graph is launched twice (fresh output fill
// between), and the results match the CPU reference.
#include "backends/cuda/handles.h"
#include "gpu/op_check.h"

#include <cmath>

namespace kiln::testing::capture_cuda_test {
namespace {

using CaptureCuda = GpuTest;

// Runs every supporting CUDA tactic of the case inside a CUDA graph capture; checks outputs.
void check_captured(const OpCase& c, Device* device, cudaStream_t stream, Tol tol,
                    const std::string& what, size_t min_tactics = 1) {
  auto want = run_reference_case(c);
  ASSERT_TRUE(want.is_ok()) << what << ": " << want.status().to_string();
  auto g = make_graph(c);
  ASSERT_TRUE(g.is_ok()) << what << ": " << g.status().to_string();
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
  // As the runtime does before capturing: library handles exist up front.
  ASSERT_TRUE(cuda::reserve_handles(TacticSource::kCudnn, 1).is_ok());
  size_t ran = 0;
  for (const ops::TacticDef& t : ops::cuda_tactics(c.op)) {
    if (!t.supports(info)) continue;
    const std::string id = ops::tactic_id(c.op, t);
    auto kernel = t.create(info);
    ASSERT_TRUE(kernel.is_ok()) << what << " " << id << ": " << kernel.status().to_string();
    std::vector<DeviceBuffer> bufs;
    std::vector<TensorView> ins, outs;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i] < 0) {
        ins.push_back(TensorView{});
        continue;
      }
      const HostTensor& h = c.inputs[i];
      auto b = device->allocate(std::max<size_t>(h.nbytes(), 1));
      ASSERT_TRUE(b.is_ok());
      ASSERT_TRUE(device->upload(b->get(), h.data(), h.nbytes()).is_ok());
      ins.push_back(TensorView{b->get(), h.dtype(), h.shape()});
      bufs.push_back(std::move(*b));
    }
    std::vector<HostTensor> got;
    for (const HostTensor& w : *want) {
      got.emplace_back(w.dtype(), w.shape());
      auto b = device->allocate(std::max<size_t>(w.nbytes(), 1));
      ASSERT_TRUE(b.is_ok());
      outs.push_back(TensorView{b->get(), w.dtype(), w.shape()});
      bufs.push_back(std::move(*b));
    }
    const size_t ws = (*kernel)->workspace_size(info.opt);
    DeviceBuffer wsb;
    if (ws) {
      auto b = device->allocate(ws);
      ASSERT_TRUE(b.is_ok());
      wsb = std::move(*b);
    }
    ops::ExecArgs args;
    args.inputs = ins;
    args.outputs = outs;
    args.workspace = wsb.get();
    args.workspace_size = ws;
    args.stream = stream;
    auto graph = cuda::Graph::capture(stream, [&] { return (*kernel)->execute(args); });
    ASSERT_TRUE(graph.is_ok()) << what << " " << id << ": " << graph.status().to_string();
    for (int launch = 0; launch < 2; ++launch) {
      for (const TensorView& o : outs) {
        ASSERT_EQ(cudaMemsetAsync(o.data, 0xff, o.nbytes(), stream), cudaSuccess);
      }
      ASSERT_TRUE(graph->launch(stream).is_ok()) << what << " " << id;
      ASSERT_TRUE(device->synchronize(stream).is_ok()) << what << " " << id;
      for (size_t o = 0; o < got.size(); ++o) {
        ASSERT_TRUE(device->download(got[o].data(), outs[o].data, got[o].nbytes()).is_ok());
        const bool exact = !is_floating(got[o].dtype());
        EXPECT_TRUE(all_close(got[o], (*want)[o], exact ? 0 : tol.atol, exact ? 0 : tol.rtol))
            << what << " " << id << " output " << o << " launch " << launch;
      }
    }
    ++ran;
  }
  EXPECT_GE(ran, min_tactics) << what;
}

TEST_F(CaptureCuda, Conv) {
  std::mt19937 rng(1);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    OpCase c;
    c.op = "Conv";
    c.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    c.attrs.set("activation", std::string("relu"));
    c.inputs = {random_tensor(dt, {2, 16, 20, 20}, rng), random_tensor(dt, {16, 16, 3, 3}, rng),
                random_tensor(dt, {16}, rng), random_tensor(dt, {2, 16, 20, 20}, rng)};
    c.constant = {false, true, true, false};
    // Loose: this checks capture, not accuracy (TF32 / 16-bit rounding of 144-term sums).
    check_captured(c, device(), stream(), {5e-2, 5e-2}, "Conv " + std::string(dtype_name(dt)), 3);
    OpCase dw;
    dw.op = "Conv";
    dw.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    dw.attrs.set("group", int64_t{8});
    dw.inputs = {random_tensor(dt, {1, 8, 9, 9}, rng), random_tensor(dt, {8, 1, 3, 3}, rng)};
    dw.constant = {false, true};
    check_captured(dw, device(), stream(), {5e-2, 5e-2}, "depthwise " + std::string(dtype_name(dt)),
                   2);
  }
}

// Channels-last Conv (legacy NHWC calls, the fused call and the graph-API plans) and Pooling.
TEST_F(CaptureCuda, ChannelsLastConvAndPooling) {
  std::mt19937 rng(3);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16}) {
    OpCase c;
    c.op = "Conv";
    c.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    c.attrs.set("activation", std::string("relu"));
    c.attrs.set("channels_last", int64_t{1});
    c.inputs = {random_tensor(dt, {2, 10, 10, 16}, rng), random_tensor(dt, {32, 16, 3, 3}, rng),
                random_tensor(dt, {32}, rng), random_tensor(dt, {2, 10, 10, 32}, rng)};
    c.constant = {false, true, true, false};
    check_captured(c, device(), stream(), {5e-2, 5e-2},
                   "NHWC Conv " + std::string(dtype_name(dt)), 3);
    OpCase p;
    p.op = "Pooling";
    p.attrs.set("type", std::string("max"));
    p.attrs.set("kernel", std::vector<int64_t>{3, 3});
    p.attrs.set("strides", std::vector<int64_t>{2, 2});
    p.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    p.attrs.set("channels_last", int64_t{1});
    p.inputs = {random_tensor(dt, {2, 15, 15, 24}, rng)};
    check_captured(p, device(), stream(), {0, 0}, "NHWC max pool " + std::string(dtype_name(dt)),
                   2);
  }
}

TEST_F(CaptureCuda, PoolingNormsSoftmaxReduceTopK) {
  std::mt19937 rng(2);
  const Tol tol{1e-5, 1e-5};
  {
    OpCase c;
    c.op = "Pooling";
    c.attrs.set("type", std::string("average"));
    c.attrs.set("kernel", std::vector<int64_t>{3, 3});
    c.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    c.attrs.set("strides", std::vector<int64_t>{2, 2});
    c.inputs = {random_tensor(DataType::kFloat32, {2, 3, 15, 15}, rng)};
    check_captured(c, device(), stream(), tol, "Pooling", 2);
    OpCase g = c;
    g.attrs = ir::Attrs();
    g.attrs.set("type", std::string("max"));
    g.attrs.set("global", int64_t{1});
    check_captured(g, device(), stream(), tol, "global Pooling", 2);
  }
  {
    OpCase c;
    c.op = "BatchNorm";
    const Dims p{6};
    c.inputs = {random_tensor(DataType::kFloat32, {2, 6, 5, 5}, rng),
                random_tensor(DataType::kFloat32, p, rng),
                random_tensor(DataType::kFloat32, p, rng),
                random_tensor(DataType::kFloat32, p, rng),
                random_tensor(DataType::kFloat32, p, rng, 0.5, 1)};
    check_captured(c, device(), stream(), tol, "BatchNorm");
  }
  {
    OpCase c;
    c.op = "InstanceNorm";
    c.inputs = {random_tensor(DataType::kFloat32, {2, 6, 40, 40}, rng),
                random_tensor(DataType::kFloat32, {6}, rng),
                random_tensor(DataType::kFloat32, {6}, rng)};
    check_captured(c, device(), stream(), {2e-5, 2e-5}, "InstanceNorm");
  }
  {
    OpCase c;
    c.op = "LayerNorm";
    c.attrs.set("axis", int64_t{1});
    c.num_outputs = 3;
    c.inputs = {random_tensor(DataType::kFloat32, {4, 3, 700}, rng),
                random_tensor(DataType::kFloat32, {3, 700}, rng),
                random_tensor(DataType::kFloat32, {700}, rng)};
    check_captured(c, device(), stream(), {2e-5, 2e-5}, "LayerNorm");
  }
  for (int64_t axis : {0, 1}) {
    OpCase c;
    c.op = "Softmax";
    c.attrs.set("axis", axis);
    c.inputs = {random_tensor(DataType::kFloat32, {30, 2000}, rng)};
    check_captured(c, device(), stream(), {1e-6, 2e-5}, "Softmax");
  }
  for (int64_t axis : {0, 1}) {
    OpCase c;
    c.op = "Reduce";
    c.attrs.set("op", std::string("log_sum_exp"));
    c.attrs.set("axes", std::vector<int64_t>{axis});
    c.inputs = {random_tensor(DataType::kFloat32, {30, 2000}, rng)};
    check_captured(c, device(), stream(), {1e-5, 1e-5}, "Reduce");
  }
  {
    OpCase c;
    c.op = "TopK";
    c.attrs.set("k", int64_t{9});
    c.num_outputs = 2;
    c.inputs = {random_tensor(DataType::kFloat32, {7, 1000}, rng)};
    check_captured(c, device(), stream(), {}, "TopK", 2);
  }
}

}  // namespace
}  // namespace kiln::testing::capture_cuda_test
