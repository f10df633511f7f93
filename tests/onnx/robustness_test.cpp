// Damaged models: truncated and bit-flipped copies of real ONNX test models must give errors (or
// import cleanly when the damage happens to be harmless), never crash, hang or allocate wildly.
// The libFuzzer target tests/fuzz/onnx_parser_fuzz.cpp explores the same surface further.
#include "onnx/onnx_test_util.h"

#include <filesystem>
#include <fstream>
#include <random>

namespace kiln::testing::robustness_test {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

class QuietLogger final : public Logger {
 public:
  void log(Severity, std::string_view) override {}
};

// Parses the bytes; checks the parser's own consistency. Also builds when the import succeeded
// (the builder must refuse or accept the result cleanly too).
void parse_damaged(const std::vector<uint8_t>& bytes, bool build) {
  QuietLogger log;
  Builder builder(log);
  auto net = builder.create_network();
  onnx::Parser parser(*net, log);
  Status s = parser.parse(bytes, "/nonexistent-kiln-dir");
  if (s.is_ok()) {
    EXPECT_TRUE(parser.errors().empty());
    EXPECT_TRUE(net->status().is_ok());
    if (build) {
      // Small static networks only: a damaged dim may ask for huge activations.
      bool small = true;
      for (int i = 0; i < net->num_inputs(); ++i) {
        Dims d = net->input(i)->dims();
        small &= !d.has_dynamic() && d.volume() < (1 << 16);
      }
      if (small) {
        BuildConfig config;
        config.optimization_level = 0;
        config.cpu_threads = 1;
        (void)builder.build_serialized_network(*net, config);
      }
    }
  } else {
    EXPECT_FALSE(parser.errors().empty());
    EXPECT_FALSE(net->status().is_ok());
    for (const auto& e : parser.errors()) EXPECT_FALSE(e.to_string().empty());
  }
}

std::vector<fs::path> sample_models() {
  const fs::path root = KILN_ONNX_TEST_DATA_DIR;
  std::vector<fs::path> out;
  for (const char* t :
       {"node/test_conv_with_strides_padding", "node/test_gemm_all_attributes",
        "node/test_layer_normalization_4d_axis0", "node/test_reshape_negative_dim",
        "node/test_sce_mean_weight_ii_3d_expanded",
        "node/test_layer_normalization_4d_axis0_expanded", "pytorch-converted/test_Linear",
        "pytorch-operator/test_operator_conv", "pytorch-converted/test_Conv2d_groups",
        "simple/test_expand_shape_model1"}) {
    fs::path p = root / t / "model.onnx";
    if (fs::exists(p)) out.push_back(p);
  }
  return out;
}

TEST(OnnxRobustness, TruncatedModels) {
  auto models = sample_models();
  if (models.empty())
    GTEST_SKIP() << "ONNX test data not installed (" << KILN_ONNX_TEST_DATA_DIR << ")";
  EXPECT_GE(models.size(), 8u);
  for (const auto& p : models) {
    auto bytes = read_all(p);
    ASSERT_FALSE(bytes.empty()) << p;
    for (size_t cut = 0; cut < bytes.size(); cut += std::max<size_t>(1, bytes.size() / 97)) {
      SCOPED_TRACE(p.string() + " cut at " + std::to_string(cut));
      parse_damaged(std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(cut)),
                    false);
    }
  }
}

TEST(OnnxRobustness, BitFlippedModels) {
  auto models = sample_models();
  if (models.empty()) GTEST_SKIP() << "ONNX test data not installed";
  std::mt19937 rng(1234);
  for (const auto& p : models) {
    const auto bytes = read_all(p);
    for (int trial = 0; trial < 400; ++trial) {
      auto damaged = bytes;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        size_t at = rng() % damaged.size();
        damaged[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
      }
      SCOPED_TRACE(p.string() + " trial " + std::to_string(trial));
      parse_damaged(damaged, trial % 5 == 0);
    }
  }
}

TEST(OnnxRobustness, RandomBytesAndOverwrittenVarints) {
  std::mt19937 rng(99);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<uint8_t> junk(rng() % 512);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    parse_damaged(junk, false);
  }
  // A valid model whose every byte in turn is set to 0xff (long varints, huge lengths and dims).
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::FLOAT, {int64_t{2}, int64_t{3}});
  m.initializer(make_tensor("w", pb::TensorProto::FLOAT, {3, 2}, {1, 2, 3, 4, 5, 6}));
  m.node("MatMul", {"x", "w"}, {"y"}, {}, "mm");
  m.output("y");
  const auto bytes = m.bytes();
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto damaged = bytes;
    damaged[i] = 0xff;
    SCOPED_TRACE("byte " + std::to_string(i));
    parse_damaged(damaged, true);
  }
}

}  // namespace
}  // namespace kiln::testing::robustness_test
