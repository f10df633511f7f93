// Whole models exported from PyTorch (tests/data/onnx): a tiny BERT through both of PyTorch's
// ONNX exporters, imported, built with one dynamic profile over batch and sequence, and run at
// two shapes against PyTorch's outputs; and the graph the fusion passes make of it.
#include "network/network_state.h"
#include "onnx/onnx_test_util.h"
#include "passes/pass.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

namespace kiln::testing::models_test {
namespace {

namespace fs = std::filesystem;

const fs::path kData = fs::path(KILN_TEST_DATA_DIR) / "onnx";

// Minimal .npy reader (version 1/2 headers, little-endian '<i8' / '<f4', C order).
Result<HostTensor> load_npy(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) return corrupt_data(p.string());
  size_t header_len = 0, off = 0;
  if (bytes[6] == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    off = 10;
  } else {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8) |
                 (static_cast<size_t>(static_cast<uint8_t>(bytes[10])) << 16);
    off = 12;
  }
  std::string header = bytes.substr(off, header_len);
  DataType dt = header.find("'<i8'") != std::string::npos   ? DataType::kInt64
                : header.find("'<f4'") != std::string::npos ? DataType::kFloat32
                                                            : DataType::kBool;
  if (dt == DataType::kBool) return unsupported("npy dtype in " + header);
  auto lp = header.find("'shape': (");
  if (lp == std::string::npos) return corrupt_data(header);
  std::vector<int64_t> dims;
  for (size_t i = lp + 10; header[i] != ')';) {
    if (std::isdigit(static_cast<unsigned char>(header[i]))) {
      size_t end = i;
      while (std::isdigit(static_cast<unsigned char>(header[end]))) ++end;
      dims.push_back(std::stoll(header.substr(i, end - i)));
      i = end;
    } else {
      ++i;
    }
  }
  HostTensor t(dt, Dims(std::span<const int64_t>(dims)));
  if (bytes.size() - off - header_len != t.nbytes()) return corrupt_data("npy size " + p.string());
  std::memcpy(t.data(), bytes.data() + off + header_len, t.nbytes());
  return t;
}

// fp16: build with BuilderFlag::kFp16 (the fused ops run in float16, accumulating in float).
// keep_fp32: layer-name patterns (Network::set_layer_precisions) kept in float32 under
// kObeyPrecisionConstraints; the engine must run each LayerNorm and Softmax in float32.
void check_model(const std::string& file, bool fp16 = false, const std::string& keep_fp32 = "") {
  SCOPED_TRACE(file + (fp16 ? " fp16" : "") + (keep_fp32.empty() ? "" : " " + keep_fp32));
  RecordingLogger log;
  Builder builder(log);
  auto net = builder.create_network();
  onnx::Parser parser(*net, log);
  Status s = parser.parse_from_file((kData / file).string());
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  ASSERT_EQ(net->num_inputs(), 2);
  EXPECT_EQ(net->input(0)->dims(), (Dims{-1, -1}));
  BuildConfig config;
  config.optimization_level = 1;
  if (fp16) config.set_flag(BuilderFlag::kFp16);
  if (!keep_fp32.empty()) {
    std::string spec;
    for (size_t start = 0; start <= keep_fp32.size();) {
      size_t comma = std::min(keep_fp32.find(',', start), keep_fp32.size());
      spec += (spec.empty() ? "" : ",") + keep_fp32.substr(start, comma - start) + ":fp32";
      start = comma + 1;
    }
    auto n = net->set_layer_precisions(spec);
    ASSERT_TRUE(n.is_ok()) << n.status().to_string();
    config.set_flag(BuilderFlag::kObeyPrecisionConstraints);
  }
  OptimizationProfile p;
  for (const char* in : {"input_ids", "attention_mask"}) p.set_shape(in, {1, 1}, {2, 16}, {4, 32});
  config.add_profile(p);
  auto plan = builder.build_serialized_network(*net, config);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  Runtime runtime(log);
  auto engine = runtime.deserialize(*plan);
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  if (!keep_fp32.empty()) {
    const auto j = nlohmann::json::parse((*engine)->inspect_json());
    int kept = 0;
    for (const auto& l : j["layers"]) {
      if (l["op"] != "LayerNorm" && l["op"] != "Softmax" && l["op"] != "MatMul") continue;
      const bool keep = l["op"] != "MatMul";
      kept += keep;
      EXPECT_EQ(l["outputs"][0]["dtype"], keep ? "float32" : "float16") << l["name"];
      EXPECT_EQ(l.contains("precision_constraint"), keep) << l["name"];
    }
    EXPECT_EQ(kept, 7);  // 5 LayerNorms, 2 Softmaxes (not fused into float16 attention)
  }
  auto ctx = (*engine)->create_context();
  ASSERT_TRUE(ctx.is_ok());
  for (const char* shape : {"2x16", "3x24"}) {
    auto ids = load_npy(kData / (std::string("bert_in_ids_") + shape + ".npy"));
    auto mask = load_npy(kData / (std::string("bert_in_mask_") + shape + ".npy"));
    auto want = load_npy(kData / (std::string("bert_out_") + shape + ".npy"));
    ASSERT_TRUE(ids.is_ok()) << ids.status().to_string();
    ASSERT_TRUE(mask.is_ok()) << mask.status().to_string();
    ASSERT_TRUE(want.is_ok()) << want.status().to_string();
    Status si = (*ctx)->set_input_shape("input_ids", ids->shape());
    ASSERT_TRUE(si.is_ok()) << si.to_string() << " " << ids->shape().to_string();
    ASSERT_TRUE((*ctx)->set_input_shape("attention_mask", mask->shape()).is_ok());
    ASSERT_EQ((*ctx)->tensor_shape("out"), want->shape());
    HostTensor out(DataType::kFloat32, want->shape());
    ASSERT_TRUE((*ctx)->set_tensor_address("input_ids", ids->data()).is_ok());
    ASSERT_TRUE((*ctx)->set_tensor_address("attention_mask", mask->data()).is_ok());
    ASSERT_TRUE((*ctx)->set_tensor_address("out", out.data()).is_ok());
    Status e = (*ctx)->execute();
    ASSERT_TRUE(e.is_ok()) << e.to_string();
    double max_err = 0, max_ref = 0;
    for (int64_t i = 0; i < out.numel(); ++i) {
      max_err = std::max(max_err, std::fabs(out.get_double(i) - want->get_double(i)));
      max_ref = std::max(max_ref, std::fabs(want->get_double(i)));
    }
    EXPECT_LT(max_err / max_ref, fp16 ? 2e-2 : 1e-5) << shape;
  }
}

// The fused graph of the tiny BERT (2 layers, 4 heads): per layer one Attention reading the
// output of one GEMM that computes Q, K and V side by side (no head split/merge copies, no
// separate softmax, mask or NaN guard), GELU folded into the FFN's first GEMM, each residual add
// folded into its LayerNorm.
void check_fused_graph(const std::string& file) {
  SCOPED_TRACE(file);
  RecordingLogger log;
  Builder builder(log);
  auto net = builder.create_network();
  onnx::Parser parser(*net, log);
  ASSERT_TRUE(parser.parse_from_file((kData / file).string()).is_ok());
  ir::Graph g = net->state().graph;
  passes::PassOptions options;
  Status s = passes::run_passes(g, options);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  std::map<std::string, int> ops;
  int gelu_gemms = 0, residual_norms = 0;
  for (int i = 0; i < g.num_nodes(); ++i) {
    const ir::Node& n = g.node(i);
    if (n.removed) continue;
    ops[n.op]++;
    if (n.op == "Unary" && n.attrs.get_string("op") == "erf") ops["erf"]++;
    if (n.op == "MatMul" && n.attrs.get_string("activation") == "gelu_erf") ++gelu_gemms;
    if (n.op == "LayerNorm" && n.inputs.size() == 4 && n.inputs[3] >= 0) ++residual_norms;
    if (n.op == "Attention") {
      for (const char* l : {"q_layout", "k_layout", "v_layout", "y_layout"}) {
        EXPECT_EQ(n.attrs.get_string(l), "bsd") << l;
      }
      // Q, K and V are column blocks of one GEMM's output.
      EXPECT_EQ(n.attrs.get_int("qkv_packed"), 1);
      EXPECT_EQ(n.inputs[0], n.inputs[1]);
      EXPECT_EQ(n.inputs[0], n.inputs[2]);
      const int qkv = g.value(n.inputs[0]).producer;
      ASSERT_GE(qkv, 0);
      EXPECT_EQ(g.node(qkv).op, "MatMul");
      EXPECT_EQ(g.value(n.inputs[0]).shape.back().value(), 3 * 64);
      EXPECT_EQ(n.attrs.get_int("num_heads"), 4);
      EXPECT_EQ(n.attrs.get_int("nan_to_zero"), 1);
      ASSERT_EQ(n.inputs.size(), 4u);
      EXPECT_EQ(g.value(n.inputs[3]).dtype, DataType::kBool);  // the mask, not Where(mask, ..)
    }
  }
  EXPECT_EQ(ops["Attention"], 2);
  EXPECT_EQ(ops["Softmax"], 0);
  EXPECT_EQ(ops["erf"], 0);
  EXPECT_EQ(ops["Activation"], 0);
  EXPECT_EQ(gelu_gemms, 2);
  EXPECT_EQ(ops["MatMul"], 8);     // 4 per layer: Q/K/V packed, output, FFN in and out
  EXPECT_EQ(ops["LayerNorm"], 5);  // embeddings + 2 per layer
  EXPECT_EQ(residual_norms, 4);
  EXPECT_EQ(ops["Transpose"], 0);
  EXPECT_EQ(ops["FloatClass"], 0);
  EXPECT_EQ(ops["Select"], 0);
  EXPECT_EQ(ops["FusedElementwise"], 1);  // the embeddings' two adds
  // No ElementWise left on float activations (the rest are mask / shape arithmetic on ints and
  // bools).
  for (int i = 0; i < g.num_nodes(); ++i) {
    const ir::Node& n = g.node(i);
    if (n.removed || n.op != "ElementWise") continue;
    EXPECT_FALSE(is_floating(g.value(n.outputs[0]).dtype)) << g.describe_node(i);
  }
}

TEST(OnnxModels, TinyBertLegacyExporterFusedGraph) {
  check_fused_graph("bert_tiny_legacy.onnx");
}
TEST(OnnxModels, TinyBertDynamoExporterFusedGraph) {
  check_fused_graph("bert_tiny_dynamo.onnx");
}

TEST(OnnxModels, TinyBertLegacyExporter) {
  check_model("bert_tiny_legacy.onnx");
}
TEST(OnnxModels, TinyBertDynamoExporter) {
  check_model("bert_tiny_dynamo.onnx");
}
TEST(OnnxModels, TinyBertBothExportersFp16) {
  check_model("bert_tiny_legacy.onnx", true);
  check_model("bert_tiny_dynamo.onnx", true);
}
// The usual mixed precision of a transformer: FP16, with LayerNorm and Softmax in FP32.
TEST(OnnxModels, TinyBertFp16WithLayerNormAndSoftmaxInFp32) {
  check_model("bert_tiny_legacy.onnx", true, "*LayerNorm*,*Softmax*");
  check_model("bert_tiny_dynamo.onnx", true, "*layer_norm*,*Softmax*");
}

}  // namespace
}  // namespace kiln::testing::models_test
