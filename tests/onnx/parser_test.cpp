// The ONNX parser: model-level handling (opsets, inputs, initializers, Constant nodes, outputs,
// dtypes, external data) and the error reports.
#include "onnx/onnx_test_util.h"

#include "network/network_state.h"
#include "onnx/tensor_proto.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

namespace kiln::testing::parser_test {
namespace {

namespace fs = std::filesystem;

const ir::Graph& graph_of(const Imported& imp) {
  return imp.network->state().graph;
}

std::string joined_errors(const onnx::Parser& p) {
  std::string s;
  for (const auto& e : p.errors()) s += e.to_string() + "\n";
  return s;
}

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
  ASSERT_EQ(imp.network->num_layers(), 1);
  EXPECT_EQ(imp.network->layer(0)->name(), "relu0");
  EXPECT_EQ(imp.network->layer(0)->type(), "Relu");
  auto out =
      run_network(*imp.builder, *imp.network, {{"x", floats({2, 3}, {-1, 2, -3, 4, -5, 6})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(values_of(out->at("y")), (std::vector<float>{0, 2, 0, 4, 0, 6}));
}

TEST(OnnxParser, InitializersBecomeConstantsWithTheirOnnxNames) {
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::FLOAT, {int64_t{1}, int64_t{2}});
  m.initializer(make_tensor("fc.weight:0/odd name", pb::TensorProto::FLOAT, {2, 2}, {1, 2, 3, 4}));
  // An initializer that is also listed as a graph input is a constant, not an input.
  m.initializer(make_tensor("bias", pb::TensorProto::FLOAT, {2}, {10, 20}));
  m.input("bias", pb::TensorProto::FLOAT, {int64_t{2}});
  m.node("MatMul", {"x", "fc.weight:0/odd name"}, {"mm"});
  m.node("Add", {"mm", "bias"}, {"y"});
  m.output("y");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
  const ir::Graph& g = graph_of(imp);
  int w = g.find_value("fc.weight:0/odd name");
  ASSERT_GE(w, 0);
  EXPECT_TRUE(g.is_constant(w));
  EXPECT_EQ(g.value(w).constant->shape(), (Dims{2, 2}));
  EXPECT_TRUE(g.is_constant(g.find_value("bias")));
  EXPECT_EQ(imp.network->num_inputs(), 1);
  EXPECT_EQ(imp.network->input(0)->name(), "x");
  // Intermediate tensors keep their ONNX names too.
  EXPECT_NE(imp.network->find_tensor("mm"), nullptr);
  auto out = run_network(*imp.builder, *imp.network, {{"x", floats({1, 2}, {1, 1})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(values_of(out->at("y")), (std::vector<float>{14, 26}));
}

TEST(OnnxParser, WeightsAreUsedUnderTheirOwnNames) {
  // Refit finds weights by their ONNX names: the importer must not replace an initializer by a
  // derived copy (e.g. Gemm's B scaled by alpha).
  ModelBuilder m(13);
  m.input("x", pb::TensorProto::FLOAT, {int64_t{2}, int64_t{3}});
  m.initializer(
      make_tensor("fc.weight", pb::TensorProto::FLOAT, {4, 3}, std::vector<float>(12, 0.5f)));
  m.initializer(make_tensor("fc.bias", pb::TensorProto::FLOAT, {4}, {1, 2, 3, 4}));
  m.node("Gemm", {"x", "fc.weight", "fc.bias"}, {"y"},
         {attr_float("alpha", 2.f), attr_float("beta", 0.5f), attr_int("transB", 1)});
  m.output("y");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
  const ir::Graph& g = graph_of(imp);
  for (const char* name : {"fc.weight", "fc.bias"}) {
    int v = g.find_value(name);
    ASSERT_GE(v, 0) << name;
    EXPECT_FALSE(g.consumers(v).empty()) << name << " is not used by any layer";
  }
  auto out = run_network(*imp.builder, *imp.network, {{"x", floats({2, 3}, {1, 1, 1, 2, 2, 2})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  // 2 * (x . 0.5) + 0.5 * bias
  EXPECT_EQ(values_of(out->at("y")), (std::vector<float>{3.5f, 4, 4.5f, 5, 6.5f, 7, 7.5f, 8}));
}

TEST(OnnxParser, DimParamsShareSymbols) {
  ModelBuilder m(17);
  m.input("a", pb::TensorProto::FLOAT, {std::string("batch"), int64_t{4}, std::string("")});
  m.input("b", pb::TensorProto::FLOAT, {std::string("batch"), int64_t{4}, int64_t{-1}});
  m.node("Add", {"a", "b"}, {"y"});
  m.output("y");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
  const ir::Graph& g = graph_of(imp);
  // "batch" once, plus one symbol per unnamed unknown dim.
  ASSERT_EQ(g.symbols().size(), 3u);
  EXPECT_EQ(g.symbols()[0].name, "batch");
  const auto& sa = g.value(g.find_value("a")).shape;
  const auto& sb = g.value(g.find_value("b")).shape;
  EXPECT_TRUE(sa[0].same_as(sb[0]));
  EXPECT_FALSE(sa[2].same_as(sb[2]));
  EXPECT_EQ(imp.network->input(0)->dims(), (Dims{-1, 4, -1}));
  // Shapes that disagree on "batch" are refused when set.
  BuildConfig config;
  OptimizationProfile p;
  p.set_shape("a", {1, 4, 1}, {2, 4, 3}, {4, 4, 8});
  p.set_shape("b", {1, 4, 1}, {2, 4, 3}, {4, 4, 8});
  config.add_profile(p);
  config.optimization_level = 0;
  auto plan = imp.builder->build_serialized_network(*imp.network, config);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  Runtime rt(log);
  auto engine = rt.deserialize(*plan);
  ASSERT_TRUE(engine.is_ok());
  auto ctx = (*engine)->create_context();
  ASSERT_TRUE(ctx.is_ok());
  ASSERT_TRUE((*ctx)->set_input_shape("a", {2, 4, 3}).is_ok());
  // Inputs are set one at a time, so a disagreement is reported when the engine runs.
  ASSERT_TRUE((*ctx)->set_input_shape("b", {3, 4, 3}).is_ok());
  EXPECT_FALSE((*ctx)->all_input_shapes_specified());
  Status s = (*ctx)->execute();
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.to_string().find("'batch'"), std::string::npos) << s.to_string();
  ASSERT_TRUE((*ctx)->set_input_shape("b", {2, 4, 3}).is_ok());
  EXPECT_TRUE((*ctx)->all_input_shapes_specified());
  EXPECT_EQ((*ctx)->tensor_shape("y"), (Dims{2, 4, 3}));
}

TEST(OnnxParser, ConstantNodeForms) {
  ModelBuilder m(17);
  m.node("Constant", {}, {"t"},
         {attr_tensor("value", make_tensor("", pb::TensorProto::FLOAT, {2}, {1.5f, -2.5f}))});
  m.node("Constant", {}, {"f"}, {attr_float("value_float", 3.25f)});
  pb::AttributeProto fs;
  fs.set_name("value_floats");
  fs.set_type(pb::AttributeProto::FLOATS);
  fs.add_floats(1);
  fs.add_floats(2);
  m.node("Constant", {}, {"fs"}, {fs});
  m.node("Constant", {}, {"i"}, {attr_int("value_int", -7)});
  m.node("Constant", {}, {"is"}, {attr_ints("value_ints", {4, 5, 6})});
  for (const char* o : {"t", "f", "fs"}) m.output(o);
  m.output("i", pb::TensorProto::INT64);
  m.output("is", pb::TensorProto::INT64);
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
  const ir::Graph& g = graph_of(imp);
  for (const char* name : {"t", "f", "fs", "i", "is"}) {
    int v = g.find_value(name);
    ASSERT_GE(v, 0) << name;
    EXPECT_TRUE(g.is_constant(v)) << name;
  }
  EXPECT_EQ(g.value(g.find_value("f")).constant->shape().rank(), 0);
  EXPECT_EQ(g.value(g.find_value("i")).dtype, DataType::kInt64);
  auto out = run_network(*imp.builder, *imp.network, {});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(values_of(out->at("t")), (std::vector<float>{1.5f, -2.5f}));
  EXPECT_EQ(values_of(out->at("f")), (std::vector<float>{3.25f}));
  EXPECT_EQ(values_of(out->at("fs")), (std::vector<float>{1, 2}));
  EXPECT_EQ(out->at("i").get_int(0), -7);
  EXPECT_EQ(out->at("is").get_int(2), 6);

  ModelBuilder bad(17);
  bad.node("Constant", {}, {"s"}, {attr_string("value_string", "hello")});
  bad.output("s");
  auto b = import_model(bad, log);
  ASSERT_FALSE(b.status.is_ok());
  EXPECT_EQ(b.status.code(), StatusCode::kUnsupported);
  EXPECT_NE(b.status.message().find("string"), std::string::npos) << b.status.to_string();
}

TEST(OnnxParser, EveryDtypeMaps) {
  struct Case {
    int32_t onnx;
    DataType kiln;
  };
  const Case cases[] = {
      {pb::TensorProto::FLOAT, DataType::kFloat32},
      {pb::TensorProto::FLOAT16, DataType::kFloat16},
      {pb::TensorProto::BFLOAT16, DataType::kBFloat16},
      {pb::TensorProto::INT8, DataType::kInt8},
      {pb::TensorProto::UINT8, DataType::kUInt8},
      {pb::TensorProto::INT32, DataType::kInt32},
      {pb::TensorProto::INT64, DataType::kInt64},
      {pb::TensorProto::BOOL, DataType::kBool},
  };
  for (const auto& c : cases) {
    ModelBuilder m(17);
    m.input("x", c.onnx, {int64_t{3}});
    pb::TensorProto t;
    t.set_name("w");
    t.set_data_type(c.onnx);
    t.add_dims(3);
    // Typed-field encoding: float16/bfloat16 as bit patterns in int32_data.
    if (c.onnx == pb::TensorProto::FLOAT) {
      for (float v : {1.f, 0.f, 2.f}) t.add_float_data(v);
    } else if (c.onnx == pb::TensorProto::INT64) {
      for (int64_t v : {1, 0, 2}) t.add_int64_data(v);
    } else if (c.onnx == pb::TensorProto::FLOAT16) {
      for (int v : {0x3C00, 0x0000, 0x4000}) t.add_int32_data(v);
    } else if (c.onnx == pb::TensorProto::BFLOAT16) {
      for (int v : {0x3F80, 0x0000, 0x4000}) t.add_int32_data(v);
    } else {
      for (int v : {1, 0, c.onnx == pb::TensorProto::BOOL ? 1 : 2}) t.add_int32_data(v);
    }
    m.initializer(t);
    m.node("Identity", {"w"}, {"y"});
    m.output("y", c.onnx);
    RecordingLogger log;
    auto imp = import_model(m, log);
    ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
    const ir::Graph& g = graph_of(imp);
    EXPECT_EQ(g.value(g.find_value("x")).dtype, c.kiln) << dtype_name(c.kiln);
    const HostTensor& w = *g.value(g.find_value("w")).constant;
    ASSERT_EQ(w.dtype(), c.kiln);
    EXPECT_EQ(w.get_double(0), 1.0) << dtype_name(c.kiln);
    EXPECT_EQ(w.get_double(1), 0.0) << dtype_name(c.kiln);
    EXPECT_EQ(w.get_double(2), c.kiln == DataType::kBool ? 1.0 : 2.0) << dtype_name(c.kiln);
  }
}

TEST(OnnxParser, DoubleIsConvertedWithAWarning) {
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::DOUBLE, {int64_t{2}});
  pb::TensorProto t;
  t.set_name("w");
  t.set_data_type(pb::TensorProto::DOUBLE);
  t.add_dims(2);
  t.add_double_data(0.5);
  t.add_double_data(-1.25);
  m.initializer(t);
  m.node("Add", {"x", "w"}, {"y"});
  m.output("y", pb::TensorProto::DOUBLE);
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
  EXPECT_TRUE(log.saw("float64")) << ::testing::PrintToString(log.messages);
  EXPECT_EQ(imp.network->input(0)->dtype(), DataType::kFloat32);
  auto out = run_network(*imp.builder, *imp.network, {{"x", floats({2}, {1, 1})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(values_of(out->at("y")), (std::vector<float>{1.5f, -0.25f}));
}

TEST(OnnxParser, UnsupportedTypesAreReported) {
  ModelBuilder m(17);
  m.input("s", pb::TensorProto::STRING, {int64_t{2}});
  m.input("u", pb::TensorProto::UINT16, {int64_t{2}});
  auto* seq = m.graph().add_input();
  seq->set_name("q");
  seq->mutable_type()
      ->mutable_sequence_type()
      ->mutable_elem_type()
      ->mutable_tensor_type()
      ->set_elem_type(1);
  m.node("Identity", {"s"}, {"y"});
  m.output("y");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_FALSE(imp.status.is_ok());
  const auto& errs = imp.parser->errors();
  ASSERT_EQ(errs.size(), 3u) << joined_errors(*imp.parser);
  EXPECT_NE(errs[0].message.find("'s' has type STRING"), std::string::npos);
  EXPECT_NE(errs[1].message.find("'u' has type UINT16"), std::string::npos);
  EXPECT_NE(errs[2].message.find("sequence"), std::string::npos);
  for (const auto& e : errs) EXPECT_EQ(e.code, StatusCode::kUnsupported);
}

TEST(OnnxParser, UnsupportedOpNamesNodeOpAndOpset) {
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::FLOAT, {int64_t{2}});
  m.node("FooBar", {"x"}, {"y"}, {}, "my_node");
  m.output("y");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_FALSE(imp.status.is_ok());
  EXPECT_EQ(imp.status.code(), StatusCode::kUnsupported);
  ASSERT_EQ(imp.parser->errors().size(), 1u);
  const auto& e = imp.parser->errors()[0];
  EXPECT_EQ(e.node_name, "my_node");
  EXPECT_EQ(e.op_type, "FooBar");
  EXPECT_EQ(e.opset, 17);
  EXPECT_EQ(e.node_index, 0);
  EXPECT_EQ(e.to_string(), "node 'my_node' (FooBar, opset 17): unsupported op FooBar (opset 17)");
  EXPECT_NE(imp.status.message().find("unsupported op FooBar"), std::string::npos);
  // An unnamed node is shown by index; a network with import errors does not build.
  ModelBuilder m2(17);
  m2.input("x", pb::TensorProto::FLOAT, {int64_t{2}});
  m2.node("Relu", {"x"}, {"r"});
  m2.node("FooBar", {"r"}, {"y"});
  m2.output("y");
  auto imp2 = import_model(m2, log);
  ASSERT_EQ(imp2.parser->errors().size(), 1u);
  EXPECT_EQ(imp2.parser->errors()[0].to_string().rfind("node #1 (FooBar, opset 17)", 0), 0u)
      << imp2.parser->errors()[0].to_string();
  EXPECT_FALSE(imp2.network->status().is_ok());
  EXPECT_FALSE(imp2.builder->build_serialized_network(*imp2.network, {}).is_ok());
}

TEST(OnnxParser, UnsupportedAttributeValue) {
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::FLOAT, {int64_t{1}, int64_t{1}, int64_t{4}, int64_t{4}});
  m.initializer(make_tensor("w", pb::TensorProto::FLOAT, {1, 1, 3, 3}, std::vector<float>(9, 1)));
  m.node("Conv", {"x", "w"}, {"y"}, {attr_string("auto_pad", "SAME_WEIRD")}, "conv");
  m.output("y");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_FALSE(imp.status.is_ok());
  ASSERT_EQ(imp.parser->errors().size(), 1u);
  const auto& e = imp.parser->errors()[0];
  EXPECT_EQ(e.code, StatusCode::kUnsupported);
  EXPECT_NE(
      e.to_string().find("node 'conv' (Conv, opset 17): unsupported attribute auto_pad=SAME_WEIRD"),
      std::string::npos)
      << e.to_string();

  // An attribute of the wrong type is an invalid model.
  ModelBuilder m2(17);
  m2.input("x", pb::TensorProto::FLOAT, {int64_t{2}});
  m2.node("LeakyRelu", {"x"}, {"y"}, {attr_string("alpha", "big")});
  m2.output("y");
  auto imp2 = import_model(m2, log);
  ASSERT_EQ(imp2.parser->errors().size(), 1u);
  EXPECT_EQ(imp2.parser->errors()[0].code, StatusCode::kInvalidArgument);
  EXPECT_NE(
      imp2.parser->errors()[0].message.find("attribute alpha has type STRING, expected FLOAT"),
      std::string::npos)
      << imp2.parser->errors()[0].message;
}

TEST(OnnxParser, WrongInputCount) {
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::FLOAT, {int64_t{2}});
  m.node("Relu", {"x", "x"}, {"y"}, {}, "r");
  m.node("Gemm", {"x"}, {"z"}, {}, "g");
  m.output("y");
  m.output("z");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_EQ(imp.parser->errors().size(), 2u) << joined_errors(*imp.parser);
  EXPECT_EQ(imp.parser->errors()[0].to_string(),
            "node 'r' (Relu, opset 17): expects 1 input, got 2");
  EXPECT_EQ(imp.parser->errors()[1].to_string(),
            "node 'g' (Gemm, opset 17): expects 2 to 3 inputs, got 1");
  EXPECT_EQ(imp.parser->errors()[0].code, StatusCode::kInvalidArgument);
}

TEST(OnnxParser, TypeMismatch) {
  ModelBuilder m(17);
  m.input("a", pb::TensorProto::FLOAT, {int64_t{2}});
  m.input("b", pb::TensorProto::INT64, {int64_t{2}});
  m.node("Add", {"a", "b"}, {"y"}, {}, "add");
  m.output("y");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_EQ(imp.parser->errors().size(), 1u);
  EXPECT_EQ(imp.parser->errors()[0].to_string(),
            "node 'add' (Add, opset 17): inputs have different dtypes: float32 and int64");
  // A shape problem found by the op's shape inference names the node too.
  ModelBuilder m2(17);
  m2.input("a", pb::TensorProto::FLOAT, {int64_t{2}, int64_t{3}});
  m2.input("b", pb::TensorProto::FLOAT, {int64_t{4}, int64_t{5}});
  m2.node("MatMul", {"a", "b"}, {"y"}, {}, "mm");
  m2.output("y");
  auto imp2 = import_model(m2, log);
  ASSERT_EQ(imp2.parser->errors().size(), 1u);
  EXPECT_EQ(imp2.parser->errors()[0].to_string().rfind("node 'mm' (MatMul, opset 17): ", 0), 0u)
      << imp2.parser->errors()[0].to_string();
}

TEST(OnnxParser, MultipleErrorsAreAllReported) {
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::FLOAT, {int64_t{2}});
  m.node("FooOp", {"x"}, {"a"}, {}, "first");
  m.node("Relu", {"a"}, {"b"}, {}, "after_first");  // skipped: its input failed
  m.node("BarOp", {"x"}, {"c"}, {}, "second");
  m.node("Gelu", {"x"}, {"d"}, {}, "third");  // Gelu needs opset 20
  m.node("Add", {"b", "c"}, {"y"});
  m.output("y");
  m.output("d");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_FALSE(imp.status.is_ok());
  const auto& errs = imp.parser->errors();
  ASSERT_EQ(errs.size(), 3u) << joined_errors(*imp.parser);
  EXPECT_EQ(errs[0].node_name, "first");
  EXPECT_EQ(errs[1].node_name, "second");
  EXPECT_EQ(errs[2].node_name, "third");
  EXPECT_NE(errs[2].message.find("from opset 20"), std::string::npos) << errs[2].message;
  EXPECT_NE(imp.status.message().find("3 errors"), std::string::npos) << imp.status.to_string();
  EXPECT_NE(imp.status.message().find("node 'first' (FooOp, opset 17)"), std::string::npos);
}

TEST(OnnxParser, OpsetsAndDomains) {
  RecordingLogger log;
  ModelBuilder newer(22);
  newer.input("x", pb::TensorProto::FLOAT, {int64_t{2}});
  newer.node("Relu", {"x"}, {"y"});
  newer.output("y");
  auto a = import_model(newer, log);
  ASSERT_FALSE(a.status.is_ok());
  EXPECT_EQ(a.status.code(), StatusCode::kUnsupported);
  EXPECT_NE(a.status.message().find("opset 22"), std::string::npos) << a.status.to_string();

  ModelBuilder ml(17);
  auto* op = ml.model().add_opset_import();
  op->set_domain("ai.onnx.ml");
  op->set_version(3);
  ml.input("x", pb::TensorProto::FLOAT, {int64_t{2}});
  ml.node("Normalizer", {"x"}, {"y"}, {}, "norm").set_domain("ai.onnx.ml");
  ml.output("y");
  auto b = import_model(ml, log);
  ASSERT_EQ(b.parser->errors().size(), 1u);
  EXPECT_EQ(b.parser->errors()[0].code, StatusCode::kUnsupported);
  EXPECT_NE(b.parser->errors()[0].message.find("unsupported op Normalizer (domain ai.onnx.ml)"),
            std::string::npos)
      << b.parser->errors()[0].message;

  ModelBuilder none(17);
  none.model().clear_opset_import();
  none.input("x", pb::TensorProto::FLOAT, {int64_t{2}});
  none.node("Relu", {"x"}, {"y"});
  none.output("y");
  auto c = import_model(none, log);
  ASSERT_FALSE(c.status.is_ok());
  EXPECT_NE(c.status.message().find("no opset of the default ONNX domain"), std::string::npos);

  Builder builder(log);
  auto net = builder.create_network();
  onnx::Parser parser(*net, log);
  EXPECT_TRUE(parser.supports_operator("Conv", 13));
  EXPECT_TRUE(parser.supports_operator("Relu", 21));
  EXPECT_FALSE(parser.supports_operator("Relu", 22));
  EXPECT_FALSE(parser.supports_operator("FooBar", 17));
  EXPECT_FALSE(parser.supports_operator("Gelu", 17));
  EXPECT_TRUE(parser.supports_operator("Gelu", 20));
  EXPECT_TRUE(parser.supports_operator("LayerNormalization", 17));
}

TEST(OnnxParser, OutputsThatAliasOtherTensors) {
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::FLOAT, {int64_t{2}});
  m.node("Identity", {"x"}, {"y"});
  m.node("Dropout", {"y"}, {"z"});
  m.output("y");
  m.output("z");
  m.output("x");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
  ASSERT_EQ(imp.network->num_outputs(), 3);
  EXPECT_EQ(imp.network->output(0)->name(), "y");
  EXPECT_EQ(imp.network->output(1)->name(), "z");
  EXPECT_EQ(imp.network->output(2)->name(), "x");
  EXPECT_EQ(imp.network->input(0)->name(), "x");
  auto out = run_network(*imp.builder, *imp.network, {{"x", floats({2}, {3, 4})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(values_of(out->at("y")), (std::vector<float>{3, 4}));
  EXPECT_EQ(values_of(out->at("z")), (std::vector<float>{3, 4}));
}

TEST(OnnxParser, NodesOutOfOrderAreSorted) {
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::FLOAT, {int64_t{2}});
  m.node("Neg", {"a"}, {"y"});
  m.node("Abs", {"x"}, {"a"});
  m.output("y");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
  auto out = run_network(*imp.builder, *imp.network, {{"x", floats({2}, {-3, 4})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(values_of(out->at("y")), (std::vector<float>{-3, -4}));

  ModelBuilder undefined(17);
  undefined.input("x", pb::TensorProto::FLOAT, {int64_t{2}});
  undefined.node("Neg", {"nope"}, {"y"}, {}, "neg");
  undefined.output("y");
  auto u = import_model(undefined, log);
  ASSERT_EQ(u.parser->errors().size(), 1u);
  EXPECT_NE(u.parser->errors()[0].message.find("'nope'"), std::string::npos);
}

// Initializers' raw_data: small ones are copied, large ones (4 KiB and more) hand their buffer
// over to the constant (no copy). Both must give exactly the file's values, aligned for the
// dtype, and stay valid after the parser and its parsed model are gone.
TEST(OnnxParser, RawDataOfEveryDtypeIsImportedExactly) {
  const int32_t types[] = {
      pb::TensorProto::FLOAT, pb::TensorProto::FLOAT16, pb::TensorProto::BFLOAT16,
      pb::TensorProto::INT8,  pb::TensorProto::UINT8,   pb::TensorProto::INT32,
      pb::TensorProto::INT64, pb::TensorProto::BOOL,    pb::TensorProto::DOUBLE};
  std::mt19937 rng(7);
  for (int32_t type : types) {
    for (int64_t n : {int64_t{3}, int64_t{5001}}) {
      const size_t src_size =
          type == pb::TensorProto::DOUBLE                                         ? 8
          : type == pb::TensorProto::INT64                                        ? 8
          : type == pb::TensorProto::FLOAT || type == pb::TensorProto::INT32      ? 4
          : type == pb::TensorProto::FLOAT16 || type == pb::TensorProto::BFLOAT16 ? 2
                                                                                  : 1;
      std::string raw(static_cast<size_t>(n) * src_size, '\0');
      if (type == pb::TensorProto::DOUBLE) {
        std::uniform_real_distribution<double> d(-1e6, 1e6);
        for (int64_t i = 0; i < n; ++i) {
          const double v = d(rng);
          std::memcpy(raw.data() + i * 8, &v, 8);
        }
      } else {
        for (char& c : raw) c = static_cast<char>(rng());  // bool: 0, 1 and other non-zero bytes
        if (type == pb::TensorProto::BOOL) raw[0] = 0, raw[1] = 1, raw[2] = 2;
      }
      ModelBuilder m(17);
      pb::TensorProto t;
      t.set_name("w");
      t.set_data_type(type);
      t.add_dims(n);
      t.set_raw_data(raw);
      m.initializer(t);
      m.input("x", pb::TensorProto::FLOAT, {int64_t{1}});
      m.node("Relu", {"x"}, {"y"});
      m.output("y");
      const std::string what =
          std::string(onnx_import::onnx_dtype_name(type)) + " x " + std::to_string(n);
      RecordingLogger log;
      auto imp = import_model(m, log);
      ASSERT_TRUE(imp.status.is_ok()) << what << ": " << imp.status.to_string();
      imp.parser.reset();
      const ir::Graph& g = graph_of(imp);
      const HostTensor& w = *g.value(g.find_value("w")).constant;
      ASSERT_EQ(w.numel(), n) << what;
      ASSERT_EQ(w.nbytes(), static_cast<size_t>(n) * dtype_size(w.dtype())) << what;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(w.data()) % dtype_size(w.dtype()), 0u) << what;
      std::string want = raw;
      if (type == pb::TensorProto::DOUBLE) {
        want.assign(static_cast<size_t>(n) * 4, '\0');
        for (int64_t i = 0; i < n; ++i) {
          double v;
          std::memcpy(&v, raw.data() + i * 8, 8);
          const float f = static_cast<float>(v);
          std::memcpy(want.data() + i * 4, &f, 4);
        }
      } else if (type == pb::TensorProto::BOOL) {
        for (char& c : want) c = c != 0 ? 1 : 0;
      }
      EXPECT_EQ(std::memcmp(w.data(), want.data(), want.size()), 0) << what;
    }
  }
}

// The mapped-file path hands the same buffers over.
TEST(OnnxParser, LargeInitializerFromAFile) {
  const int64_t n = 100000;
  std::vector<float> values(n);
  for (int64_t i = 0; i < n; ++i) values[i] = static_cast<float>(i) * 0.25f - 7.f;
  ModelBuilder m(17);
  pb::TensorProto t;
  t.set_name("w");
  t.set_data_type(pb::TensorProto::FLOAT);
  t.add_dims(n);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), n * sizeof(float)));
  m.initializer(t);
  m.input("x", pb::TensorProto::FLOAT, {n});
  m.node("Add", {"x", "w"}, {"y"});
  m.output("y");
  const auto bytes = m.bytes();
  const fs::path file =
      fs::temp_directory_path() /
      ("kiln_onnx_large_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
       ".onnx");
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  RecordingLogger log;
  Builder builder(log);
  auto net = builder.create_network();
  {
    onnx::Parser parser(*net, log);
    Status s = parser.parse_from_file(file.string());
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }
  fs::remove(file);
  const ir::Graph& g = net->state().graph;
  const HostTensor& w = *g.value(g.find_value("w")).constant;
  ASSERT_EQ(w.nbytes(), n * sizeof(float));
  EXPECT_EQ(std::memcmp(w.data(), values.data(), w.nbytes()), 0);
  auto out = run_network(builder, *net, {{"x", floats({n}, std::vector<float>(n, 1.f))}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  const std::vector<float> y = values_of(out->at("y"));
  ASSERT_EQ(y.size(), static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i += 997) EXPECT_EQ(y[i], values[i] + 1.f) << i;
}

// ---- external data ----

class ExternalData : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kiln_onnx_ext_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::ofstream f(dir_ / "weights.bin", std::ios::binary);
    const float pad[2] = {99, 99};
    const float w[3] = {1.5f, 2.5f, -4.f};
    f.write(reinterpret_cast<const char*>(pad), sizeof pad);
    f.write(reinterpret_cast<const char*>(w), sizeof w);
  }
  void TearDown() override { fs::remove_all(dir_); }

  ModelBuilder model(const std::string& location, int64_t offset, int64_t length) {
    ModelBuilder m(17);
    m.input("x", pb::TensorProto::FLOAT, {int64_t{3}});
    pb::TensorProto t;
    t.set_name("w");
    t.set_data_type(pb::TensorProto::FLOAT);
    t.add_dims(3);
    t.set_data_location(pb::TensorProto::EXTERNAL);
    auto add = [&](const char* k, const std::string& v) {
      auto* e = t.add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", location);
    if (offset >= 0) add("offset", std::to_string(offset));
    if (length >= 0) add("length", std::to_string(length));
    m.initializer(t);
    m.node("Mul", {"x", "w"}, {"y"});
    m.output("y");
    return m;
  }

  fs::path dir_;
};

TEST_F(ExternalData, LoadsFromTheModelDirectory) {
  RecordingLogger log;
  auto imp = import_model(model("weights.bin", 8, 12), log, dir_.string());
  ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
  auto out = run_network(*imp.builder, *imp.network, {{"x", floats({3}, {2, 2, 2})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(values_of(out->at("y")), (std::vector<float>{3, 5, -8}));

  // The same through parse_from_file: the file's directory is the base.
  auto bytes = model("weights.bin", 8, -1).bytes();
  fs::path file = dir_ / "model.onnx";
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  Builder builder(log);
  auto net = builder.create_network();
  onnx::Parser parser(*net, log);
  Status s = parser.parse_from_file(file.string());
  EXPECT_TRUE(s.is_ok()) << s.to_string();
}

TEST_F(ExternalData, MissingFileNamesTensorAndPath) {
  RecordingLogger log;
  auto imp = import_model(model("missing.bin", 0, 12), log, dir_.string());
  ASSERT_FALSE(imp.status.is_ok());
  ASSERT_EQ(imp.parser->errors().size(), 1u);
  const std::string msg = imp.parser->errors()[0].message;
  EXPECT_EQ(imp.parser->errors()[0].code, StatusCode::kIoError);
  EXPECT_NE(msg.find("'w'"), std::string::npos) << msg;
  EXPECT_NE(msg.find((dir_ / "missing.bin").string()), std::string::npos) << msg;
}

TEST_F(ExternalData, OutOfRangeAndBadLocations) {
  RecordingLogger log;
  auto far = import_model(model("weights.bin", 16, 12), log, dir_.string());
  ASSERT_FALSE(far.status.is_ok());
  EXPECT_NE(far.status.message().find("outside"), std::string::npos) << far.status.to_string();
  EXPECT_NE(far.status.message().find("'w'"), std::string::npos);

  auto wrong_len = import_model(model("weights.bin", 0, 8), log, dir_.string());
  ASSERT_FALSE(wrong_len.status.is_ok());
  EXPECT_NE(wrong_len.status.message().find("needs 12"), std::string::npos)
      << wrong_len.status.to_string();

  auto escape = import_model(model("../weights.bin", 0, 12), log, dir_.string());
  ASSERT_FALSE(escape.status.is_ok());
  EXPECT_NE(escape.status.message().find("leaves the model's directory"), std::string::npos);

  auto absolute = import_model(model("/etc/passwd", 0, 12), log, dir_.string());
  ASSERT_FALSE(absolute.status.is_ok());
  EXPECT_NE(absolute.status.message().find("absolute"), std::string::npos);
}

// External data is read straight into the tensor: float64 converted, bool normalized, a large
// tensor at an odd offset.
TEST_F(ExternalData, EveryReadPathGivesTheFilesValues) {
  const int64_t n = 3000;
  std::vector<double> doubles(n);
  std::vector<uint8_t> bools(n);
  std::vector<float> big(n);
  for (int64_t i = 0; i < n; ++i) {
    doubles[i] = static_cast<double>(i) / 3.0 - 100.0;
    bools[i] = static_cast<uint8_t>(i % 3 == 0 ? 0 : i % 3 == 1 ? 1 : 7);
    big[i] = static_cast<float>(i) * 1.5f;
  }
  {
    std::ofstream f(dir_ / "mixed.bin", std::ios::binary);
    f.write(reinterpret_cast<const char*>(doubles.data()), n * 8);  // at 0
    f.write(reinterpret_cast<const char*>(bools.data()), n);        // at 8n
    f.put('x');                                                     // big at an odd offset
    f.write(reinterpret_cast<const char*>(big.data()), n * 4);
  }
  ModelBuilder m(17);
  auto add = [&](const char* name, int32_t type, int64_t offset, int64_t length) {
    pb::TensorProto t;
    t.set_name(name);
    t.set_data_type(type);
    t.add_dims(n);
    t.set_data_location(pb::TensorProto::EXTERNAL);
    for (auto [k, v] : {std::pair<const char*, std::string>{"location", "mixed.bin"},
                        {"offset", std::to_string(offset)},
                        {"length", std::to_string(length)}}) {
      auto* e = t.add_external_data();
      e->set_key(k);
      e->set_value(v);
    }
    m.initializer(t);
  };
  add("d", pb::TensorProto::DOUBLE, 0, n * 8);
  add("b", pb::TensorProto::BOOL, n * 8, n);
  add("f", pb::TensorProto::FLOAT, n * 9 + 1, n * 4);
  m.input("x", pb::TensorProto::FLOAT, {int64_t{1}});
  m.node("Relu", {"x"}, {"y"});
  m.output("y");
  RecordingLogger log;
  auto imp = import_model(m, log, dir_.string());
  ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
  const ir::Graph& g = graph_of(imp);
  const HostTensor& d = *g.value(g.find_value("d")).constant;
  const HostTensor& b = *g.value(g.find_value("b")).constant;
  const HostTensor& f = *g.value(g.find_value("f")).constant;
  ASSERT_EQ(d.dtype(), DataType::kFloat32);
  ASSERT_EQ(b.dtype(), DataType::kBool);
  ASSERT_EQ(f.dtype(), DataType::kFloat32);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(d.as<float>()[i], static_cast<float>(doubles[i])) << i;
    ASSERT_EQ(b.as<uint8_t>()[i], bools[i] != 0 ? 1 : 0) << i;
    ASSERT_EQ(f.as<float>()[i], big[i]) << i;
  }
}

// ---- damaged files ----

TEST(OnnxParser, TruncatedAndNonOnnxFilesAreRefused) {
  RecordingLogger log;
  Builder builder(log);
  {
    auto net = builder.create_network();
    onnx::Parser parser(*net, log);
    std::string text = "this is not an onnx model, just some text\n";
    Status s = parser.parse(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), StatusCode::kCorruptData);
    ASSERT_EQ(parser.errors().size(), 1u);
  }
  {
    auto net = builder.create_network();
    onnx::Parser parser(*net, log);
    Status s = parser.parse({});
    EXPECT_EQ(s.code(), StatusCode::kCorruptData);
  }
  {
    auto net = builder.create_network();
    onnx::Parser parser(*net, log);
    Status s = parser.parse_from_file("/nonexistent/dir/model.onnx");
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    EXPECT_NE(s.message().find("/nonexistent/dir/model.onnx"), std::string::npos);
  }
  // A real model cut short.
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::FLOAT, {int64_t{2}, int64_t{2}});
  m.initializer(make_tensor("w", pb::TensorProto::FLOAT, {2, 2}, {1, 2, 3, 4}));
  m.node("MatMul", {"x", "w"}, {"y"});
  m.output("y");
  auto bytes = m.bytes();
  for (size_t cut : {bytes.size() - 1, bytes.size() / 2, size_t{3}}) {
    auto net = builder.create_network();
    onnx::Parser parser(*net, log);
    Status s = parser.parse(std::span(bytes.data(), cut));
    EXPECT_FALSE(s.is_ok()) << "cut at " << cut;
    EXPECT_FALSE(parser.errors().empty());
  }
  // Larger than the configured limit.
  auto net = builder.create_network();
  onnx::ParserOptions small;
  small.max_model_bytes = 16;
  onnx::Parser parser(*net, log, small);
  Status s = parser.parse(bytes);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
}

TEST(OnnxParser, HugeDimsWithoutDataAreRefusedWithoutAllocating) {
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::FLOAT, {int64_t{2}});
  pb::TensorProto t;
  t.set_name("w");
  t.set_data_type(pb::TensorProto::FLOAT);
  t.add_dims(int64_t{1} << 40);
  t.add_dims(int64_t{1} << 40);  // overflows int64 elements
  m.initializer(t);
  pb::TensorProto t2;
  t2.set_name("w2");
  t2.set_data_type(pb::TensorProto::FLOAT);
  t2.add_dims(int64_t{1} << 28);  // 1 GiB claimed, no data
  m.initializer(t2);
  m.node("Relu", {"x"}, {"y"});
  m.output("y");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_EQ(imp.parser->errors().size(), 2u) << joined_errors(*imp.parser);
  EXPECT_NE(imp.parser->errors()[0].message.find("too many elements"), std::string::npos);
  EXPECT_NE(imp.parser->errors()[1].message.find("float_data has 0 values"), std::string::npos)
      << imp.parser->errors()[1].message;
}

}  // namespace
}  // namespace kiln::testing::parser_test
