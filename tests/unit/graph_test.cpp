#include "ir/graph.h"
#include "ir/shape_eval.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace kiln::ir::graph_test {
namespace {

// A float attribute read as an int (a malformed ONNX file, found by fuzz.onnx_parser): saturated,
// never the undefined out-of-range conversion (UBSan checks this in the sanitizer build).
TEST(Attrs, FloatReadAsIntSaturates) {
  Attrs a;
  a.set("big", 1e300);
  a.set("small", -1.64319e32);
  a.set("nan", std::nan(""));
  a.set("inf", std::numeric_limits<double>::infinity());
  a.set("ok", -3.75);
  EXPECT_EQ(a.get_int("big"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(a.get_int("small"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(a.get_int("nan"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(a.get_int("inf"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(a.get_int("ok"), -3);
}

TEST(Graph, InputsGetSymbolsForDynamicDims) {
  Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 3, -1});
  EXPECT_EQ(g.symbols().size(), 2u);
  EXPECT_EQ(g.value(x).shape[1].value(), 3);
  EXPECT_EQ(g.value(x).shape[0].kind(), SymExpr::Kind::kSymbol);
  auto sym = bind_symbols(g, std::vector<Dims>{Dims{5, 3, 7}});
  ASSERT_TRUE(sym.is_ok());
  EXPECT_EQ(*sym, (std::vector<int64_t>{5, 7}));
}

TEST(Graph, BindSymbolsRejectsWrongStaticDimAndRank) {
  Graph g;
  g.add_input("x", DataType::kFloat32, Dims{-1, 3});
  auto r = bind_symbols(g, std::vector<Dims>{Dims{5, 4}});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("'x'"), std::string::npos);
  EXPECT_NE(r.status().message().find("fixed at 3"), std::string::npos);
  EXPECT_FALSE(bind_symbols(g, std::vector<Dims>{Dims{5}}).is_ok());
}

TEST(Graph, UniqueNamesAndRename) {
  Graph g;
  int a = g.add_input("t", DataType::kFloat32, Dims{1});
  int b = g.add_value("t", DataType::kFloat32, {});
  EXPECT_NE(g.value(a).name, g.value(b).name);
  EXPECT_FALSE(g.rename_value(b, "t").is_ok());
  EXPECT_TRUE(g.rename_value(b, "u").is_ok());
  EXPECT_EQ(g.find_value("u"), b);
}

TEST(Graph, TopoOrderAndCompact) {
  Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{2});
  Attrs relu;
  relu.set("type", std::string("relu"));
  int n1 = g.add_node("Activation", "a", {x}, 1, relu);
  int n2 = g.add_node("Activation", "b", {g.node(n1).outputs[0]}, 1, relu);
  int dead = g.add_node("Activation", "dead", {x}, 1, relu);
  g.mark_output(g.node(n2).outputs[0]);
  ASSERT_TRUE(g.infer_shapes().is_ok());
  auto order = g.topo_order();
  ASSERT_TRUE(order.is_ok());
  EXPECT_EQ(*order, (std::vector<int>{n1, dead, n2}));
  g.node(dead).removed = true;
  g.compact();
  EXPECT_EQ(g.num_nodes(), 2);
  EXPECT_TRUE(g.validate().is_ok());
  EXPECT_EQ(g.node(1).inputs[0], g.node(0).outputs[0]);
}

TEST(Graph, ValidateRejectsNoOutputsAndUnknownOp) {
  Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{2});
  EXPECT_FALSE(g.validate().is_ok());
  int n = g.add_node("NoSuchOp", "weird", {x}, 1);
  Status s = g.infer_node(n);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.to_string().find("NoSuchOp"), std::string::npos);
  EXPECT_NE(s.to_string().find("weird"), std::string::npos);
}

TEST(Status, ContextChains) {
  Status s =
      invalid_argument("bad stride").with_context("layer 'c1' (Conv)").with_context("profile 0");
  EXPECT_EQ(s.to_string(), "profile 0: layer 'c1' (Conv): bad stride");
  EXPECT_TRUE(Status::ok().with_context("x").is_ok());
}

}  // namespace
}  // namespace kiln::ir::graph_test
