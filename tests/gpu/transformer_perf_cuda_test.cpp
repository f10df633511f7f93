// Timings of the CUDA tactics of BERT-base's fused layers in FP16 at sequence 128, batch 1 and
// 32 (disabled by default: run with --gtest_also_run_disabled_tests
// --gtest_filter='*TransformerPerfCuda*'): Attention (packed QKV, bool mask; also in FP32 with
// TF32 allowed) against the
// unfused scores GEMM + masked Softmax + P·V GEMM it replaces, LayerNorm with its residual, the
// FFN GEMM with bias + gelu_erf, and the embeddings' FusedElementwise. Prints the median time
// of each tactic and the bandwidth that the tensors' bytes imply; the whole-model comparison
// with PyTorch is bench/compare_pytorch.py.
#include "gpu/op_check.h"

#include <cstdio>

namespace kiln::testing::transformer_perf_cuda_test {
namespace {

using TransformerPerfCuda = GpuTest;

// Median ms of every supporting tactic of the case (random inputs).
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
      ASSERT_TRUE(device->upload(b->get(), h.data(), h.nbytes()).is_ok());
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
    auto ms = device->time(stream, 5, 20, [&] { return (*kernel)->execute(args); });
    ASSERT_TRUE(ms.is_ok()) << id << ": " << ms.status().to_string();
    std::printf("[ perf ] %-46s %-38s %9.4f ms %8.1f GB/s\n", what.c_str(), id.c_str(), *ms,
                static_cast<double>(bytes) / (*ms * 1e6));
  }
}

constexpr int64_t kSeq = 128, kHeads = 12, kHeadDim = 64, kHidden = 768, kFfn = 3072;
const DataType f16 = DataType::kFloat16;

TEST_F(TransformerPerfCuda, DISABLED_BertBaseLayers) {
  std::mt19937 rng(1);
  for (int64_t batch : {1, 32}) {
    const std::string b = " b" + std::to_string(batch);
    const int64_t rows = batch * kSeq;
    HostTensor mask = random_tensor(DataType::kBool, Dims{batch, 1, kSeq, kSeq}, rng, -0.5, 1);
    {
      HostTensor qkv = random_tensor(f16, Dims{batch, kSeq, 3 * kHidden}, rng, -2, 2);
      OpCase c;
      c.op = "Attention";
      for (const char* a : {"q_layout", "k_layout", "v_layout", "y_layout"}) {
        c.attrs.set(a, std::string("bsd"));
      }
      c.attrs.set("num_heads", kHeads);
      c.attrs.set("qkv_packed", int64_t{1});
      c.attrs.set("scale", 0.125);
      c.attrs.set("nan_to_zero", int64_t{1});
      c.inputs = {qkv, qkv, qkv, mask};
      time_tactics(c, device(), stream(), "attention packed qkv" + b);
      // float32 (TF32 allowed, the builder's default): cublas_batched against simt.
      HostTensor qkv32 = random_tensor(DataType::kFloat32, Dims{batch, kSeq, 3 * kHidden}, rng);
      c.inputs = {qkv32, qkv32, qkv32, mask};
      time_tactics(c, device(), stream(), "attention packed qkv fp32" + b);
    }
    {
      // What it replaces: scores GEMM, masked softmax, P·V GEMM (heads-major tensors).
      OpCase s;
      s.op = "MatMul";
      s.attrs.set("transpose_b", int64_t{1});
      s.inputs = {random_tensor(f16, Dims{batch, kHeads, kSeq, kHeadDim}, rng),
                  random_tensor(f16, Dims{batch, kHeads, kSeq, kHeadDim}, rng)};
      time_tactics(s, device(), stream(), "unfused: scores Q.K^T" + b);
      OpCase sm;
      sm.op = "Softmax";
      sm.attrs.set("axis", int64_t{-1});
      sm.attrs.set("scale", 0.125);
      sm.inputs = {random_tensor(f16, Dims{batch, kHeads, kSeq, kSeq}, rng), mask};
      time_tactics(sm, device(), stream(), "unfused: masked softmax" + b);
      OpCase pv;
      pv.op = "MatMul";
      pv.inputs = {random_tensor(f16, Dims{batch, kHeads, kSeq, kSeq}, rng),
                   random_tensor(f16, Dims{batch, kHeads, kSeq, kHeadDim}, rng)};
      time_tactics(pv, device(), stream(), "unfused: P.V" + b);
    }
    {
      OpCase c;
      c.op = "LayerNorm";
      c.attrs.set("epsilon", 1e-12);
      c.inputs = {random_tensor(f16, Dims{rows, kHidden}, rng),
                  random_tensor(f16, Dims{kHidden}, rng), random_tensor(f16, Dims{kHidden}, rng),
                  random_tensor(f16, Dims{rows, kHidden}, rng)};
      time_tactics(c, device(), stream(), "layernorm + residual" + b);
    }
    {
      OpCase c;
      c.op = "MatMul";
      c.attrs.set("activation", std::string("gelu_erf"));
      c.inputs = {random_tensor(f16, Dims{rows, kHidden}, rng),
                  random_tensor(f16, Dims{kHidden, kFfn}, rng, -0.05, 0.05),
                  random_tensor(f16, Dims{kFfn}, rng)};
      time_tactics(c, device(), stream(), "ffn gemm + bias + gelu_erf" + b);
      OpCase q;
      q.op = "MatMul";
      q.inputs = {random_tensor(f16, Dims{rows, kHidden}, rng),
                  random_tensor(f16, Dims{kHidden, 3 * kHidden}, rng, -0.05, 0.05),
                  random_tensor(f16, Dims{3 * kHidden}, rng)};
      time_tactics(q, device(), stream(), "qkv gemm + bias" + b);
    }
    {
      // Embeddings: word + token type + position (broadcast over the batch).
      OpCase c;
      c.op = "FusedElementwise";
      c.attrs.set("program", std::vector<int64_t>{0, 0, 0, 1, 0, 0, 0, 3, 2, 0});
      c.attrs.set("dtype", std::string("float16"));
      c.inputs = {random_tensor(f16, Dims{batch, kSeq, kHidden}, rng),
                  random_tensor(f16, Dims{batch, kSeq, kHidden}, rng),
                  random_tensor(f16, Dims{1, kSeq, kHidden}, rng)};
      time_tactics(c, device(), stream(), "embeddings sum" + b);
    }
  }
}

}  // namespace
}  // namespace kiln::testing::transformer_perf_cuda_test
