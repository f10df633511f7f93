// Timings of the CUDA tactics of the data-movement and indexing ops (Range, Pad, Resize, Split,
// Tile, Trilu, DepthToSpace, SpaceToDepth, GatherElements, GatherND, ScatterElements, ScatterND,
// OneHot, CumSum, ArgReduce) on typical shapes, each next to a device-to-device cudaMemcpyAsync
// moving as many bytes, timed in the same run (disabled by default: run with
// --gtest_also_run_disabled_tests --gtest_filter='*IndexingPerfCuda*'). Prints the median time
// per run, the bandwidth the tensors' bytes imply (inputs read once, outputs written once) and
// the ratio to the copy (1.0 = as fast as a plain copy of those bytes).
#include "backends/cuda/cuda_check.h"
#include "gpu/cuda_case_util.h"
#include "gpu/index_case_util.h"
#include "ops/data_movement_util.h"

#include <cstdio>

namespace kiln::testing::indexing_perf_cuda_test {
namespace {

using IndexingPerfCuda = GpuTest;

void time_case(const OpCase& c, Device* device, cudaStream_t stream, const std::string& what) {
  auto g = make_graph(c);
  ASSERT_TRUE(g.is_ok()) << what << ": " << g.status().to_string();
  const ir::Node& node = g->node(0);
  ops::KernelInfo info;
  info.graph = &*g;
  info.node = &node;
  info.backend = Backend::kCuda;
  size_t in_bytes = 0, out_bytes = 0;
  std::vector<DeviceBuffer> bufs;
  std::vector<TensorView> ins, hosts, outs;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (node.inputs[i] < 0) {
      info.opt.inputs.push_back(Dims{});
      ins.push_back({});
      hosts.push_back({});
      continue;
    }
    const HostTensor& h = c.inputs[i];
    info.opt.inputs.push_back(h.shape());
    in_bytes += h.nbytes();
    auto b = device->allocate(std::max<size_t>(h.nbytes(), 1));
    ASSERT_TRUE(b.is_ok());
    ASSERT_TRUE(device->upload(b->get(), h.data(), h.nbytes()).is_ok());
    ins.push_back({b->get(), h.dtype(), h.shape()});
    hosts.push_back(h.view());
    bufs.push_back(std::move(*b));
  }
  for (int o : node.outputs) {
    auto d = ir::eval_shape(g->value(o).shape, {});
    ASSERT_TRUE(d.is_ok());
    const Dims dims = make_dims(*d);
    const DataType dt = g->value(o).dtype;
    info.opt.outputs.push_back(dims);
    const size_t n = static_cast<size_t>(dims.volume()) * dtype_size(dt);
    out_bytes += n;
    auto b = device->allocate(std::max<size_t>(n, 1));
    ASSERT_TRUE(b.is_ok());
    outs.push_back({b->get(), dt, dims});
    bufs.push_back(std::move(*b));
  }
  info.min = info.opt;
  info.max = info.opt;
  // The baseline: one copy moving (in + out) / 2 bytes each way.
  const size_t copy = std::max<size_t>((in_bytes + out_bytes) / 2, 1);
  auto src = device->allocate(copy), dst = device->allocate(copy);
  ASSERT_TRUE(src.is_ok() && dst.is_ok());
  auto copy_ms = device->time(stream, 3, 20, [&] {
    return cuda::cuda_status(
        cudaMemcpyAsync(dst->get(), src->get(), copy, cudaMemcpyDeviceToDevice, stream), "copy");
  });
  ASSERT_TRUE(copy_ms.is_ok()) << copy_ms.status().to_string();
  for (const ops::TacticDef& t : ops::cuda_tactics(c.op)) {
    if (!t.supports(info)) continue;
    const std::string id = ops::tactic_id(c.op, t);
    auto kernel = t.create(info);
    ASSERT_TRUE(kernel.is_ok()) << id;
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
    args.host_inputs = hosts;
    args.workspace = wsb.get();
    args.workspace_size = ws;
    args.stream = stream;
    auto ms = device->time(stream, 3, 20, [&] { return (*kernel)->execute(args); });
    ASSERT_TRUE(ms.is_ok()) << id << ": " << ms.status().to_string();
    std::printf("[ perf ] %-40s %-38s %9.4f ms %8.1f GB/s %6.2fx copy\n", what.c_str(), id.c_str(),
                *ms, static_cast<double>(in_bytes + out_bytes) / (*ms * 1e6), *ms / *copy_ms);
  }
}

OpCase op_case(const std::string& op, std::vector<HostTensor> inputs,
               std::vector<bool> constant = {}) {
  OpCase c;
  c.op = op;
  c.inputs = std::move(inputs);
  c.constant = std::move(constant);
  return c;
}

TEST_F(IndexingPerfCuda, DISABLED_DataMovement) {
  std::mt19937 rng(1);
  const DataType f16 = DataType::kFloat16;
  const HostTensor image = pattern_tensor(f16, Dims{32, 64, 56, 56}, rng);
  for (const char* mode : {"constant", "reflect"}) {
    OpCase c =
        op_case("Pad", {image, ints(DataType::kInt64, {0, 0, 1, 1, 0, 0, 1, 1})}, {false, true});
    c.attrs.set("mode", std::string(mode));
    time_case(c, device(), stream(), std::string("pad 1 32x64x56x56 f16 ") + mode);
  }
  const HostTensor fmap = pattern_tensor(f16, Dims{8, 256, 64, 64}, rng);
  for (const char* mode : {"nearest", "linear"}) {
    OpCase c =
        op_case("Resize", {fmap, HostTensor(), make_tensor(DataType::kFloat32, {4}, {1, 1, 2, 2})},
                {false, true, true});
    c.attrs.set("mode", std::string(mode));
    time_case(c, device(), stream(), std::string("resize x2 8x256x64x64 f16 ") + mode);
  }
  {
    OpCase c = op_case(
        "Split",
        {pattern_tensor(f16, Dims{32, 128, 2304}, rng), ints(DataType::kInt64, {768, 768, 768})},
        {false, true});
    c.attrs.set("axis", int64_t{2});
    c.num_outputs = 3;
    time_case(c, device(), stream(), "split qkv 32x128x2304 f16");
  }
  time_case(
      op_case("Tile",
              {pattern_tensor(f16, Dims{32, 1, 512}, rng), ints(DataType::kInt64, {1, 128, 1})},
              {false, true}),
      device(), stream(), "tile 32x1x512 -> x128 f16");
  time_case(op_case("Trilu", {pattern_tensor(f16, Dims{4096, 4096}, rng)}), device(), stream(),
            "trilu 4096x4096 f16");
  {
    OpCase c = op_case("DepthToSpace", {fmap});
    c.attrs.set("blocksize", int64_t{2});
    time_case(c, device(), stream(), "depth_to_space b2 8x256x64x64 f16");
    OpCase s = op_case("SpaceToDepth", {fmap});
    s.attrs.set("blocksize", int64_t{2});
    time_case(s, device(), stream(), "space_to_depth b2 8x256x64x64 f16");
  }
  {
    HostTensor r0(DataType::kFloat32, {}), r1(DataType::kFloat32, {}), r2(DataType::kFloat32, {});
    r0.as<float>()[0] = 0;
    r1.as<float>()[0] = 1 << 24;
    r2.as<float>()[0] = 1;
    time_case(op_case("Range", {r0, r1, r2}, {true, true, true}), device(), stream(),
              "range 16M f32");
  }
}

TEST_F(IndexingPerfCuda, DISABLED_Indexing) {
  std::mt19937 rng(2);
  const DataType f32 = DataType::kFloat32, i64 = DataType::kInt64;
  const HostTensor data = pattern_tensor(f32, Dims{4096, 1024}, rng);
  {
    OpCase c = op_case("GatherElements", {data, random_indices(rng, i64, Dims{4096, 1024}, 1024)});
    c.attrs.set("axis", int64_t{1});
    time_case(c, device(), stream(), "gather_elements 4096x1024 f32");
  }
  time_case(op_case("GatherND", {data, random_tuples(rng, i64, {8192}, {4096})}), device(),
            stream(), "gather_nd rows 8192 of 4096x1024 f32");
  for (const char* red : {"none", "add", "max"}) {
    OpCase c = op_case("ScatterElements", {data, random_indices(rng, i64, Dims{4096, 256}, 1024),
                                           pattern_tensor(f32, Dims{4096, 256}, rng)});
    c.attrs.set("axis", int64_t{1});
    c.attrs.set("reduction", std::string(red));
    time_case(c, device(), stream(), std::string("scatter_elements 4096x256 f32 ") + red);
    OpCase n = op_case("ScatterND", {data, random_tuples(rng, i64, {1024}, {4096}),
                                     pattern_tensor(f32, Dims{1024, 1024}, rng)});
    n.attrs.set("reduction", std::string(red));
    time_case(n, device(), stream(), std::string("scatter_nd rows 1024 f32 ") + red);
  }
  {
    OpCase c = op_case("OneHot",
                       {random_indices(rng, i64, Dims{64, 128}, 1000), int64_scalar(1000),
                        make_tensor(f32, {2}, {0, 1})},
                       {false, true, false});
    time_case(c, device(), stream(), "one_hot 64x128 depth 1000 f32");
  }
  for (int64_t axis : {0, 1}) {
    OpCase c = op_case("CumSum", {pattern_tensor(f32, Dims{4096, 4096}, rng), int64_scalar(axis)},
                       {false, true});
    time_case(c, device(), stream(), "cumsum 4096x4096 f32 axis " + std::to_string(axis));
    OpCase a = op_case("ArgReduce", {pattern_tensor(f32, Dims{4096, 4096}, rng)});
    a.attrs.set("op", std::string("max"));
    a.attrs.set("axis", axis);
    time_case(a, device(), stream(), "argmax 4096x4096 f32 axis " + std::to_string(axis));
  }
}

}  // namespace
}  // namespace kiln::testing::indexing_perf_cuda_test
