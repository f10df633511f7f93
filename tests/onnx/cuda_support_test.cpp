// Every layer of the tiny BERT exports (both PyTorch exporters) has a CUDA tactic that supports
// it, in float32 and with float16 enabled. Checked without a GPU: the graph goes through the
// builder's stages before autotuning (shape inference, passes, profile shapes, host-evaluated
// shape programs dropped) and each remaining node is offered to the CUDA tactics' supports(),
// exactly the filter the autotuner applies. Needs a KILN_WITH_CUDA build (skips otherwise).
#include "builder/build.h"
#include "ir/shape_eval.h"
#include "network/network_state.h"
#include "onnx/onnx_test_util.h"
#include "ops/op.h"
#include "passes/pass.h"

#include <filesystem>

namespace kiln::testing::cuda_support_test {
namespace {

namespace fs = std::filesystem;

// "op 'name'" of every non-host node that no CUDA tactic supports (empty: all supported).
std::vector<std::string> unsupported_on_cuda(const std::string& file, DataType precision) {
  RecordingLogger log;
  Builder builder(log);
  auto net = builder.create_network();
  onnx::Parser parser(*net, log);
  Status s = parser.parse_from_file((fs::path(KILN_TEST_DATA_DIR) / "onnx" / file).string());
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  if (!s.is_ok()) return {"(import failed)"};
  ir::Graph g = net->state().graph;
  EXPECT_TRUE(g.validate().is_ok());
  EXPECT_TRUE(g.infer_shapes().is_ok());
  passes::PassOptions options;
  options.logger = &log;
  if (precision != DataType::kFloat32) options.reduced_precision = precision;
  s = passes::run_passes(g, options);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  if (!s.is_ok()) return {"(passes failed)"};

  OptimizationProfile p;
  for (const char* in : {"input_ids", "attention_mask"}) p.set_shape(in, {1, 1}, {2, 16}, {4, 32});
  std::vector<Dims> shapes[3];
  std::vector<int64_t> opt_symbols;
  for (int corner = 0; corner < 3; ++corner) {
    auto symbols = ir::bind_symbols(g, builder::profile_corner_dims(g, p, corner));
    EXPECT_TRUE(symbols.is_ok()) << symbols.status().to_string();
    if (!symbols.is_ok()) return {"(profile)"};
    if (corner == 1) opt_symbols = *symbols;
    auto all = ir::eval_all_shapes(g, *symbols);
    EXPECT_TRUE(all.is_ok()) << all.status().to_string();
    if (!all.is_ok()) return {"(shapes)"};
    shapes[corner] = std::move(*all);
  }
  auto order = g.topo_order();
  EXPECT_TRUE(order.is_ok());
  std::vector<std::string> missing;
  int checked = 0;
  for (int id : *order) {
    const ir::Node& n = g.node(id);
    if (builder::is_host_node(g, n)) continue;
    ops::KernelInfo info;
    info.graph = &g;
    info.node = &n;
    info.backend = Backend::kCuda;
    info.min = builder::node_shapes(n, shapes[0]);
    info.opt = builder::node_shapes(n, shapes[1]);
    info.max = builder::node_shapes(n, shapes[2]);
    info.opt_symbols = opt_symbols;
    bool supported = false;
    for (const ops::TacticDef& t : ops::cuda_tactics(n.op))
      supported = supported || t.supports(info);
    if (!supported) missing.push_back(n.op + " '" + n.name + "'");
    ++checked;
  }
  EXPECT_GT(checked, 10) << "too few device layers: the check would prove nothing";
  return missing;
}

class OnnxCudaSupport : public ::testing::TestWithParam<std::tuple<const char*, DataType>> {};

TEST_P(OnnxCudaSupport, EveryLayerHasACudaTactic) {
  if (ops::cuda_tactics("MatMul").empty()) GTEST_SKIP() << "built without CUDA";
  const auto& [file, precision] = GetParam();
  const std::vector<std::string> missing = unsupported_on_cuda(file, precision);
  std::string list;
  for (const auto& m : missing) list += "\n  " + m;
  EXPECT_TRUE(missing.empty()) << "layers without a supporting CUDA tactic:" << list;
}

INSTANTIATE_TEST_SUITE_P(
    TinyBert, OnnxCudaSupport,
    ::testing::Combine(::testing::Values("bert_tiny_dynamo.onnx", "bert_tiny_legacy.onnx"),
                       ::testing::Values(DataType::kFloat32, DataType::kFloat16)));

}  // namespace
}  // namespace kiln::testing::cuda_support_test
