// The ONNX parser: model-level handling (opsets, inputs, initializers, outputs, dtypes) and the
// error reports.
#include "onnx/onnx_test_util.h"

namespace kiln::testing {
namespace {

TEST(OnnxParser, ReluEndToEnd) {
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::FLOAT, {int64_t{2}, int64_t{3}});
  m.node("Relu", {"x"}, {"y"}, {}, "relu0");
  m.output("y");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
  EXPECT_TRUE(imp.parser->errors().empty());
  ASSERT_EQ(imp.network->num_outputs(), 1);
  EXPECT_EQ(imp.network->output(0)->name(), "y");
  auto out = run_network(*imp.builder, *imp.network,
                         {{"x", floats({2, 3}, {-1, 2, -3, 4, -5, 6})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(values_of(out->at("y")), (std::vector<float>{0, 2, 0, 4, 0, 6}));
}

}  // namespace
}  // namespace kiln::testing
