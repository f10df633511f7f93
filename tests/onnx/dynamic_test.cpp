// Dynamic shapes through the importer: the Shape -> Gather -> Unsqueeze -> Concat -> Reshape
// chains of PyTorch exports are evaluated on the host (no kernels), and the engine serves every
// shape of its profile.
#include "onnx/onnx_test_util.h"

#include "builder/build.h"
#include "network/network_state.h"

namespace kiln::testing::dynamic_test {
namespace {

// y = Reshape(x, [batch, seq, 2, 4]) with the shape computed from Shape(x); then Transpose.
ModelBuilder shape_chain_model() {
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::FLOAT, {std::string("batch"), std::string("seq"), int64_t{8}});
  m.node("Shape", {"x"}, {"shape"}, {}, "/Shape");
  m.initializer(make_int64_tensor("i0", {}, {0}));
  m.initializer(make_int64_tensor("i1", {}, {1}));
  m.initializer(make_int64_tensor("axes0", {1}, {0}));
  m.initializer(make_int64_tensor("tail", {2}, {2, 4}));
  m.node("Gather", {"shape", "i0"}, {"b"}, {attr_int("axis", 0)}, "/Gather");
  m.node("Gather", {"shape", "i1"}, {"s"}, {attr_int("axis", 0)}, "/Gather_1");
  m.node("Unsqueeze", {"b", "axes0"}, {"b1"}, {}, "/Unsqueeze");
  m.node("Unsqueeze", {"s", "axes0"}, {"s1"}, {}, "/Unsqueeze_1");
  m.node("Concat", {"b1", "s1", "tail"}, {"new_shape"}, {attr_int("axis", 0)}, "/Concat");
  m.node("Reshape", {"x", "new_shape"}, {"r"}, {}, "/Reshape");
  m.node("Transpose", {"r"}, {"y"}, {attr_ints("perm", {0, 2, 1, 3})}, "/Transpose");
  m.output("y");
  return m;
}

TEST(OnnxDynamic, ShapeProgramIsEvaluatedOnTheHost) {
  RecordingLogger log;
  auto imp = import_model(shape_chain_model(), log);
  ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
  const ir::Graph& g = imp.network->state().graph;
  // The reshape target is a host shape tensor: symbolic content [batch, seq, 2, 4].
  int shape_value = g.find_value("new_shape");
  ASSERT_GE(shape_value, 0);
  ASSERT_TRUE(g.value(shape_value).shape_value.has_value());
  EXPECT_EQ(g.value(shape_value).shape_value->size(), 4u);
  EXPECT_EQ(imp.network->find_tensor("y")->dims(), (Dims{-1, 2, -1, 4}));

  BuildConfig config;
  config.optimization_level = 0;
  OptimizationProfile p;
  p.set_shape("x", {1, 1, 8}, {2, 3, 8}, {4, 6, 8});
  config.add_profile(p);
  auto desc = builder::build_engine_desc(g, config, log, {});
  ASSERT_TRUE(desc.is_ok()) << desc.status().to_string();
  const ir::Graph& built = desc->graph;
  int reshape_node = -1;
  int host_nodes = 0;
  for (int id = 0; id < built.num_nodes(); ++id) {
    const ir::Node& n = built.node(id);
    if (n.removed) continue;
    const std::string& tactic = desc->profiles[0].tactics[id];
    if (n.op == "Shape" || n.op == "Gather" || n.op == "Unsqueeze" || n.op == "Concat") {
      EXPECT_TRUE(tactic.empty()) << n.name << " (" << n.op << ") runs as a kernel: " << tactic;
      ++host_nodes;
    }
    if (n.op == "Reshape") reshape_node = id;
  }
  EXPECT_GE(host_nodes, 1);
  ASSERT_GE(reshape_node, 0);
  const ir::Node& reshape = built.node(reshape_node);
  ASSERT_EQ(reshape.inputs.size(), 2u);
  const ir::Value& target = built.value(reshape.inputs[1]);
  EXPECT_TRUE(target.shape_value.has_value()) << "the shape input is not a host shape tensor";
  if (target.producer >= 0) {
    EXPECT_TRUE(desc->profiles[0].tactics[target.producer].empty());
  }
  EXPECT_EQ(desc->profiles[0].value_offsets[reshape.inputs[1]], -1)
      << "the shape tensor has device memory";

  // One engine, several shapes of the profile.
  auto plan = imp.builder->build_serialized_network(*imp.network, config);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  Runtime runtime(log);
  auto engine = runtime.deserialize(*plan);
  ASSERT_TRUE(engine.is_ok()) << engine.status().to_string();
  auto ctx = (*engine)->create_context();
  ASSERT_TRUE(ctx.is_ok());
  for (auto [b, s] : {std::pair<int64_t, int64_t>{2, 3}, {4, 6}, {1, 1}, {3, 2}}) {
    HostTensor x(DataType::kFloat32, {b, s, 8});
    for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = static_cast<float>(i);
    ASSERT_TRUE((*ctx)->set_input_shape("x", x.shape()).is_ok());
    EXPECT_EQ((*ctx)->tensor_shape("y"), (Dims{b, 2, s, 4}));
    HostTensor y(DataType::kFloat32, {b, 2, s, 4});
    ASSERT_TRUE((*ctx)->set_tensor_address("x", x.data()).is_ok());
    ASSERT_TRUE((*ctx)->set_tensor_address("y", y.data()).is_ok());
    Status st = (*ctx)->execute();
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    // y[n, h, t, d] = x[n, t, h * 4 + d]
    for (int64_t n = 0; n < b; ++n) {
      for (int64_t h = 0; h < 2; ++h) {
        for (int64_t t = 0; t < s; ++t) {
          for (int64_t d = 0; d < 4; ++d) {
            ASSERT_EQ(y.as<float>()[((n * 2 + h) * s + t) * 4 + d],
                      x.as<float>()[(n * s + t) * 8 + h * 4 + d]);
          }
        }
      }
    }
  }
  // Outside the profile: refused.
  EXPECT_FALSE((*ctx)->set_input_shape("x", {5, 2, 8}).is_ok());
}

TEST(OnnxDynamic, FlattenAndSizeWithDynamicDims) {
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::FLOAT, {std::string("n"), int64_t{3}, std::string("w")});
  m.node("Flatten", {"x"}, {"f"}, {attr_int("axis", 1)});
  m.node("Size", {"x"}, {"numel"});
  m.node("Softmax", {"x"}, {"sm"}, {attr_int("axis", 1)});
  m.output("f");
  m.output("numel", pb::TensorProto::INT64);
  m.output("sm");
  RecordingLogger log;
  // Opset 11 Softmax on a dynamic shape: the coerce-to-2-D reshapes use shape programs.
  m.model().mutable_opset_import(0)->set_version(11);
  auto imp = import_model(m, log);
  ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
  HostTensor x(DataType::kFloat32, {2, 3, 5});
  for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = static_cast<float>(i % 7) * 0.1f;
  auto out = run_network(*imp.builder, *imp.network, {{"x", x}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(out->at("f").shape(), (Dims{2, 15}));
  EXPECT_EQ(out->at("numel").get_int(0), 30);
  // Softmax over each whole row of 15.
  const HostTensor& sm = out->at("sm");
  for (int n = 0; n < 2; ++n) {
    double sum = 0;
    for (int i = 0; i < 15; ++i) sum += sm.get_double(n * 15 + i);
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

}  // namespace
}  // namespace kiln::testing::dynamic_test

namespace kiln::testing::dynamic_test {
namespace {

// Older PyTorch exports of interpolate compute output sizes in float from Shape: with static
// input dims the whole computation folds while importing.
TEST(OnnxDynamic, FloatMathOnStaticShapesFolds) {
  ModelBuilder m(13);
  m.input("x", pb::TensorProto::FLOAT, {int64_t{1}, int64_t{1}, int64_t{2}, int64_t{3}});
  m.node("Shape", {"x"}, {"s"});
  m.initializer(make_int64_tensor("st", {1}, {2}));
  m.initializer(make_int64_tensor("en", {1}, {4}));
  m.node("Slice", {"s", "st", "en"}, {"hw"});
  m.node("Cast", {"hw"}, {"hwf"}, {attr_int("to", pb::TensorProto::FLOAT)});
  m.initializer(make_tensor("two", pb::TensorProto::FLOAT, {}, {2.f}));
  m.node("Mul", {"hwf", "two"}, {"scaled"});
  m.node("Floor", {"scaled"}, {"fl"});
  m.node("Cast", {"fl"}, {"hw2"}, {attr_int("to", pb::TensorProto::INT64)});
  m.initializer(make_int64_tensor("nc", {2}, {1, 1}));
  m.node("Concat", {"nc", "hw2"}, {"sizes"}, {attr_int("axis", 0)});
  m.node("Resize", {"x", "", "", "sizes"}, {"y"}, {attr_string("mode", "nearest")});
  m.output("y");
  RecordingLogger log;
  auto imp = import_model(m, log);
  ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
  EXPECT_EQ(imp.network->find_tensor("y")->dims(), (Dims{1, 1, 4, 6}));
  auto out =
      run_network(*imp.builder, *imp.network, {{"x", floats({1, 1, 2, 3}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  EXPECT_EQ(out->at("y").shape(), (Dims{1, 1, 4, 6}));
}

}  // namespace
}  // namespace kiln::testing::dynamic_test

namespace kiln::testing::dynamic_test {
namespace {

// torch.arange(n, dtype=torch.float) with a traced n exports as Range(0., Cast(n), 1.) (YOLO's
// grid): with a dynamic n this imports as an int64 shape program cast to float.
ModelBuilder float_range_model(float start) {
  ModelBuilder m(17);
  m.input("x", pb::TensorProto::FLOAT, {std::string("n"), std::string("w")});
  m.node("Shape", {"x"}, {"s"});
  m.initializer(make_int64_tensor("one", {}, {1}));
  m.node("Gather", {"s", "one"}, {"w"}, {attr_int("axis", 0)});
  m.node("Cast", {"w"}, {"wf"}, {attr_int("to", pb::TensorProto::FLOAT)});
  m.node("Constant", {}, {"start"},
         {attr_tensor("value", make_tensor("v", pb::TensorProto::FLOAT, {}, {start}))});
  m.node("Constant", {}, {"delta"},
         {attr_tensor("value", make_tensor("v", pb::TensorProto::FLOAT, {}, {1.f}))});
  m.node("Range", {"start", "wf", "delta"}, {"r"});
  m.node("Add", {"x", "r"}, {"y"});
  m.output("r");
  m.output("y");
  return m;
}

TEST(OnnxDynamic, FloatRangeWithBoundsFromShapes) {
  RecordingLogger log;
  auto imp = import_model(float_range_model(0.f), log);
  ASSERT_TRUE(imp.status.is_ok()) << imp.status.to_string();
  EXPECT_EQ(imp.network->find_tensor("r")->dims(), (Dims{-1}));
  EXPECT_EQ(imp.network->find_tensor("r")->dtype(), DataType::kFloat32);
  for (int64_t w : {5, 2}) {
    HostTensor x(DataType::kFloat32, {2, w});
    for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = 0.25f * static_cast<float>(i);
    auto out = run_network(*imp.builder, *imp.network, {{"x", x}});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    ASSERT_EQ(out->at("r").shape(), (Dims{w}));
    for (int64_t i = 0; i < w; ++i) EXPECT_EQ(out->at("r").as<float>()[i], static_cast<float>(i));
    for (int64_t i = 0; i < x.numel(); ++i) {
      EXPECT_EQ(out->at("y").as<float>()[i], x.as<float>()[i] + static_cast<float>(i % w));
    }
  }
  // A fractional start with a shape-derived limit has no exact integer form: a clear error.
  RecordingLogger log2;
  auto bad = import_model(float_range_model(0.5f), log2);
  ASSERT_FALSE(bad.status.is_ok());
  EXPECT_EQ(bad.status.code(), StatusCode::kUnsupported);
  EXPECT_NE(bad.status.message().find("start is not an integer"), std::string::npos)
      << bad.status.to_string();
}

}  // namespace
}  // namespace kiln::testing::dynamic_test
