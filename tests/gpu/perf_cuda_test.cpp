// Timings of the CUDA tactics of Conv, Pooling, the norms, Softmax, Reduce, TopK and
// FusedElementwise on typical shapes (disabled by default: run with --gtest_also_run_disabled_tests
// --gtest_filter='*PerfCuda*'). Prints the median time per run and the bandwidth that the
// tensors' bytes (inputs read once, outputs written once) imply.
#include "gpu/op_check.h"
#include "ops/activation/activation.h"

#include <cstdio>

namespace kiln::testing::perf_cuda_test {
namespace {

using PerfCuda = GpuTest;

// Zero-filled inputs (random contents don't change these kernels' speed much; TopK on ties
// is its worst case).
OpCase zeros_case(const std::string& op, std::vector<std::pair<DataType, Dims>> inputs) {
  OpCase c;
  c.op = op;
  for (auto& [dt, d] : inputs) c.inputs.emplace_back(dt, d);
  return c;
}

void time_tactics(const OpCase& c, Device* device, cudaStream_t stream, const std::string& what) {
  auto g = make_graph(c);
  ASSERT_TRUE(g.is_ok()) << what << ": " << g.status().to_string();
  const ir::Node& node = g->node(0);
  ops::KernelInfo info;
  info.graph = &*g;
  info.node = &node;
  info.backend = Backend::kCuda;
  size_t bytes = 0;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    info.opt.inputs.push_back(node.inputs[i] < 0 ? Dims{} : c.inputs[i].shape());
    if (node.inputs[i] >= 0) bytes += c.inputs[i].nbytes();
  }
  for (int o : node.outputs) {
    auto d = ir::eval_shape(g->value(o).shape, {});
    ASSERT_TRUE(d.is_ok());
    info.opt.outputs.push_back(dims_of(*d));
    bytes += static_cast<size_t>(dims_of(*d).volume()) * dtype_size(g->value(o).dtype);
  }
  info.min = info.opt;
  info.max = info.opt;
  for (const ops::TacticDef& t : ops::cuda_tactics(c.op)) {
    if (!t.supports(info)) continue;
    const std::string id = ops::tactic_id(c.op, t);
    auto kernel = t.create(info);
    ASSERT_TRUE(kernel.is_ok()) << id;
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
      ASSERT_EQ(cudaMemset(b->get(), 0, h.nbytes()), cudaSuccess);
      ins.push_back(TensorView{b->get(), h.dtype(), h.shape()});
      bufs.push_back(std::move(*b));
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const DataType dt = g->value(node.outputs[o]).dtype;
      const size_t n = static_cast<size_t>(info.opt.outputs[o].volume()) * dtype_size(dt);
      auto b = device->allocate(std::max<size_t>(n, 1));
      ASSERT_TRUE(b.is_ok());
      outs.push_back(TensorView{b->get(), dt, info.opt.outputs[o]});
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
    auto ms = device->time(stream, 3, 10, [&] { return (*kernel)->execute(args); });
    ASSERT_TRUE(ms.is_ok()) << id << ": " << ms.status().to_string();
    std::printf("[ perf ] %-44s %-40s %9.4f ms %8.1f GB/s\n", what.c_str(), id.c_str(), *ms,
                static_cast<double>(bytes) / (*ms * 1e6));
  }
}

TEST_F(PerfCuda, DISABLED_Conv) {
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16}) {
    const std::string d = std::string(dtype_name(dt));
    OpCase c = zeros_case("Conv", {{dt, {32, 64, 56, 56}}, {dt, {64, 64, 3, 3}}, {dt, {64}}});
    c.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    c.attrs.set("activation", std::string("relu"));
    time_tactics(c, device(), stream(), "conv 3x3 64->64 56x56 n32 " + d);
    OpCase dw = zeros_case("Conv", {{dt, {32, 256, 56, 56}}, {dt, {256, 1, 3, 3}}});
    dw.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    dw.attrs.set("group", int64_t{256});
    time_tactics(dw, device(), stream(), "depthwise 3x3 256 56x56 n32 " + d);
  }
}

TEST_F(PerfCuda, DISABLED_MemoryBoundOps) {
  const DataType f16 = DataType::kFloat16, f32 = DataType::kFloat32;
  {
    OpCase c = zeros_case("Softmax", {{f16, {4096, 4096}}});
    time_tactics(c, device(), stream(), "softmax rows 4096x4096 f16");
    OpCase s = zeros_case("Softmax", {{f16, {8192, 512}}});
    time_tactics(s, device(), stream(), "softmax rows 8192x512 f16");
    OpCase col = zeros_case("Softmax", {{f32, {64, 1000, 64}}});
    col.attrs.set("axis", int64_t{1});
    time_tactics(col, device(), stream(), "softmax columns 64x1000x64 f32");
  }
  for (int64_t axis : {0, 1}) {
    OpCase c = zeros_case("Reduce", {{f32, {4096, 4096}}});
    c.attrs.set("op", std::string("sum"));
    c.attrs.set("axes", std::vector<int64_t>{axis});
    time_tactics(c, device(), stream(), "reduce sum 4096x4096 axis " + std::to_string(axis));
  }
  {
    OpCase c = zeros_case("Reduce", {{f32, {1, 1 << 24}}});
    c.attrs.set("op", std::string("sum"));
    time_tactics(c, device(), stream(), "reduce sum all 16M");
  }
  {
    OpCase c = zeros_case("LayerNorm", {{f16, {8192, 1024}}, {f16, {1024}}, {f16, {1024}}});
    time_tactics(c, device(), stream(), "layernorm 8192x1024 f16");
  }
  {
    OpCase c = zeros_case(
        "BatchNorm", {{f16, {32, 64, 56, 56}}, {f32, {64}}, {f32, {64}}, {f32, {64}}, {f32, {64}}});
    time_tactics(c, device(), stream(), "batchnorm 32x64x56x56 f16");
  }
  {
    OpCase c = zeros_case("InstanceNorm", {{f32, {8, 64, 128, 128}}, {f32, {64}}, {f32, {64}}});
    time_tactics(c, device(), stream(), "instancenorm 8x64x128x128 f32");
  }
  {
    OpCase c = zeros_case("Pooling", {{f16, {32, 64, 112, 112}}});
    c.attrs.set("type", std::string("max"));
    c.attrs.set("kernel", std::vector<int64_t>{3, 3});
    c.attrs.set("strides", std::vector<int64_t>{2, 2});
    c.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    time_tactics(c, device(), stream(), "maxpool 3x3 s2 32x64x112x112 f16");
    OpCase g = zeros_case("Pooling", {{f16, {32, 2048, 7, 7}}});
    g.attrs.set("type", std::string("average"));
    g.attrs.set("global", int64_t{1});
    time_tactics(g, device(), stream(), "global avgpool 32x2048x7x7 f16");
  }
  {
    OpCase c = zeros_case("TopK", {{f32, {1024, 2048}}});
    c.attrs.set("k", int64_t{10});
    c.num_outputs = 2;
    time_tactics(c, device(), stream(), "topk 1024x2048 k10");
    OpCase b = zeros_case("TopK", {{f32, {16, 100000}}});
    b.attrs.set("k", int64_t{16});
    b.num_outputs = 2;
    time_tactics(b, device(), stream(), "topk 16x100000 k16");
  }
}

// FusedElementwise: the kernel's variants on typical fused chains, with references measured in
// the same run: ElementWise's vectorized sum of two [32,128,768] tensors (a memory-bound kernel
// of 3 tensors' traffic; the embeddings move 4), and the embeddings sum with three full inputs
// (the difference is the broadcast's cost).
OpCase fused_perf_case(std::vector<std::pair<DataType, Dims>> inputs, std::vector<int64_t> program,
                       std::vector<double> constants, DataType out) {
  OpCase c = zeros_case("FusedElementwise", std::move(inputs));
  c.attrs.set("program", program);
  c.attrs.set("constants", constants);
  c.attrs.set("dtype", std::string(dtype_name(out)));
  return c;
}

TEST_F(PerfCuda, DISABLED_FusedElementwise) {
  const DataType f16 = DataType::kFloat16, f32 = DataType::kFloat32;
  const int64_t gelu = static_cast<int64_t>(ops::ActivationKind::kGeluErf);
  {
    OpCase add = zeros_case("ElementWise", {{f16, {32, 128, 768}}, {f16, {32, 128, 768}}});
    add.attrs.set("op", std::string("sum"));
    time_tactics(add, device(), stream(), "reference: ElementWise sum 32x128x768 f16");
  }
  for (DataType dt : {f16, f32}) {
    const std::string d = std::string(dtype_name(dt));
    // BERT-base embeddings (batch 32, sequence 128): word + token type + position, the position
    // embeddings broadcast over the batch.
    time_tactics(fused_perf_case({{dt, {32, 128, 768}}, {dt, {32, 128, 768}}, {dt, {1, 128, 768}}},
                                 {0, 0, 0, 1, 0, 0, 0, 3, 2, 0}, {}, dt),
                 device(), stream(), "embeddings sum 32x128x768 (+1x128x768) " + d);
    // The same without the broadcast (three full inputs).
    time_tactics(fused_perf_case({{dt, {32, 128, 768}}, {dt, {32, 128, 768}}, {dt, {32, 128, 768}}},
                                 {0, 0, 0, 1, 0, 0, 0, 3, 2, 0}, {}, dt),
                 device(), stream(), "sum of 3 full 32x128x768 " + d);
  }
  // Bias + gelu_erf on an FFN activation: [4096,3072] + [3072].
  time_tactics(fused_perf_case({{f16, {4096, 3072}}, {f16, {3072}}},
                               {0, 0, 0, 1, 0, 2, gelu, 2, -1, -1}, {0.0}, f16),
               device(), stream(), "bias + gelu_erf 4096x3072 f16");
  // Attention mask: where(bool [32,1,1,128], scores, -10000) * 0.125 over [32,12,128,128].
  time_tactics(fused_perf_case({{DataType::kBool, {32, 1, 1, 128}}, {f16, {32, 12, 128, 128}}},
                               {3, 0, 0, 1, -1, 0, 2, 2, -2, 0}, {-10000.0, 0.125}, f16),
               device(), stream(), "mask where 32x12x128x128 f16 (bool 32x1x1x128)");
  // Per-channel scale and shift of NCHW with 7x7 planes (rows not a multiple of 8: gathered).
  time_tactics(fused_perf_case({{f16, {32, 512, 7, 7}}, {f16, {512, 1, 1}}, {f16, {512, 1, 1}}},
                               {0, 2, 0, 1, 0, 0, 0, 3, 2, 0}, {}, f16),
               device(), stream(), "channel affine 32x512x7x7 f16");
  // Decomposed LayerNorm tail: (x - mean) * rsqrt(var + eps) * gamma + beta, float32 [8192,1024]
  // with [8192,1] statistics and [1024] weights: 5 inputs (items of 4).
  time_tactics(
      fused_perf_case(
          {{f32, {8192, 1024}}, {f32, {8192, 1}}, {f32, {8192, 1}}, {f32, {1024}}, {f32, {1024}}},
          {0, 1, 0, 1, 0, 0, 0, 2, -1, 0, 1, 3, 6, 0, 0,
           0, 2, 5, 7, 0, 0, 2, 8, 3,  0, 0, 0, 9, 4, 0},
          {1e-5}, f32),
      device(), stream(), "layernorm tail 8192x1024 f32");
}

}  // namespace
}  // namespace kiln::testing::perf_cuda_test
