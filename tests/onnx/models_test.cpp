// Whole models exported from PyTorch (tests/data/onnx): a tiny BERT through both of PyTorch's
// ONNX exporters, imported, built with one dynamic profile over batch and sequence, and run at
// two shapes against PyTorch's outputs.
#include "onnx/onnx_test_util.h"

#include <cmath>
#include <filesystem>
#include <fstream>

namespace kiln::testing {
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

void check_model(const std::string& file) {
  SCOPED_TRACE(file);
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
  OptimizationProfile p;
  for (const char* in : {"input_ids", "attention_mask"}) p.set_shape(in, {1, 1}, {2, 16}, {4, 32});
  config.add_profile(p);
  auto plan = builder.build_serialized_network(*net, config);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  Runtime runtime(log);
  auto engine = runtime.deserialize(*plan);
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
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
    EXPECT_LT(max_err / max_ref, 1e-5) << shape;
  }
}

TEST(OnnxModels, TinyBertLegacyExporter) {
  check_model("bert_tiny_legacy.onnx");
}
TEST(OnnxModels, TinyBertDynamoExporter) {
  check_model("bert_tiny_dynamo.onnx");
}

}  // namespace
}  // namespace kiln::testing

#include "network/network_state.h"
#include "passes/pass.h"
namespace kiln::testing {
namespace {
TEST(OnnxModelsDebug, Dump) {
  for (const char* file : {"bert_tiny_legacy.onnx", "bert_tiny_dynamo.onnx"}) {
    RecordingLogger log;
    Builder builder(log);
    auto net = builder.create_network();
    onnx::Parser parser(*net, log);
    ASSERT_TRUE(parser.parse_from_file((kData / file).string()).is_ok());
    ir::Graph g = net->state().graph;
    passes::PassOptions o;
    Status s = passes::run_passes(g, o);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    std::map<std::string, int> counts;
    for (int i = 0; i < g.num_nodes(); ++i) {
      const auto& n = g.node(i);
      if (n.removed) continue;
      std::string k = n.op;
      if (n.attrs.has("op")) k += ":" + n.attrs.get_string("op");
      if (n.attrs.has("activation")) k += ":" + n.attrs.get_string("activation");
      counts[k]++;
      std::string ins;
      for (int in : n.inputs) ins += (in >= 0 ? g.value(in).name + ir::shape_to_string(g.value(in).shape) : std::string("-")) + " ";
      if (n.op == "Attention" || n.op == "FusedElementwise" || n.op == "LayerNorm") {
        std::string at;
        for (auto& [an, av] : n.attrs.map()) {
          at += an + "=";
          if (auto* sv = std::get_if<std::string>(&av)) at += *sv;
          if (auto* iv = std::get_if<int64_t>(&av)) at += std::to_string(*iv);
          if (auto* fv = std::get_if<double>(&av)) at += std::to_string(*fv);
          if (auto* vv = std::get_if<std::vector<int64_t>>(&av)) { for (auto x : *vv) at += std::to_string(x) + ","; }
          at += " ";
        }
        printf("%s %s {%s} [%s] -> %s\n", k.c_str(), n.name.c_str(), at.c_str(), ins.c_str(), ir::shape_to_string(g.value(n.outputs[0]).shape).c_str());
      }
    }
    for (auto& [k, v] : counts) printf("  %s: %d\n", k.c_str(), v);
  }
}
}  // namespace
}  // namespace kiln::testing
