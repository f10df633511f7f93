// ConstantOfShape: shapes (scalar, zero-size, up to rank 4), every output dtype and values, shape
// values for int outputs, dynamic shapes from a shape program, and errors.
#include "data_movement_util.h"

#include <cmath>

namespace kiln::testing::constant_of_shape_test {
namespace {

OpCase cos_case(const std::vector<int64_t>& shape, std::optional<double> value,
                std::optional<std::string> dtype, DataType sdt = DataType::kInt64) {
  OpCase c;
  c.op = "ConstantOfShape";
  c.inputs = {ints(sdt, shape)};
  c.constant = {true};
  if (value) c.attrs.set("value", *value);
  if (dtype) c.attrs.set("dtype", *dtype);
  return c;
}

TEST(ConstantOfShape, ShapesDtypesValues) {
  for (const auto& shape :
       {std::vector<int64_t>{}, std::vector<int64_t>{0}, std::vector<int64_t>{3},
        std::vector<int64_t>{2, 0, 3}, std::vector<int64_t>{2, 3, 1, 4}}) {
    for (DataType dt : all_dtypes()) {
      for (double v : {0.0, 1.0, 3.0}) {
        auto runs =
            run_cpu_tactics(cos_case(shape, v, std::string(dtype_name(dt)),
                                     shape.size() % 2 ? DataType::kInt32 : DataType::kInt64));
        ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
        ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"ConstantOfShape/cpu-ref/reference"});
        const HostTensor& out = (*runs)[0].outputs[0];
        EXPECT_EQ(out.dtype(), dt);
        EXPECT_EQ(out.shape(), dims_of(shape));
        for (int64_t i = 0; i < out.numel(); ++i) {
          const double want = dt == DataType::kBool ? (v != 0 ? 1 : 0) : v;
          ASSERT_EQ(out.get_double(i), want) << dtype_name(dt) << " [" << i << "]";
        }
      }
    }
  }
  // Defaults: float32 zeros. A fractional value in float16.
  auto runs = run_cpu_tactics(cos_case({2}, std::nullopt, std::nullopt));
  ASSERT_TRUE(runs.is_ok());
  EXPECT_EQ((*runs)[0].outputs[0].dtype(), DataType::kFloat32);
  EXPECT_EQ((*runs)[0].outputs[0].get_double(1), 0.0);
  runs = run_cpu_tactics(cos_case({2}, -2.5, std::string("float16")));
  ASSERT_TRUE(runs.is_ok());
  EXPECT_EQ((*runs)[0].outputs[0].get_double(0), -2.5);
}

TEST(ConstantOfShape, ShapeValueAndDynamicShape) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 4});
  int s = g.node(g.add_node("Shape", "s", {x}, 1)).outputs[0];
  ir::Attrs a;
  a.set("value", 1.0);
  a.set("dtype", std::string("int64"));
  int ones = g.node(g.add_node("ConstantOfShape", "ones", {s}, 1, a)).outputs[0];  // [N,4]
  int two = g.add_constant("two", ints(DataType::kInt64, {2}));
  int ones2 = g.node(g.add_node("ConstantOfShape", "ones2", {two}, 1, a)).outputs[0];  // [2]
  ASSERT_TRUE(g.infer_shapes().is_ok());
  EXPECT_EQ(*ir::eval_shape(g.value(ones).shape, std::vector<int64_t>{6}),
            (std::vector<int64_t>{6, 4}));
  EXPECT_FALSE(g.value(ones).shape_value.has_value());  // rank 2
  ASSERT_TRUE(g.value(ones2).shape_value.has_value());
  EXPECT_EQ(*ir::eval_shape(*g.value(ones2).shape_value, {}), (std::vector<int64_t>{1, 1}));
}

TEST(ConstantOfShape, Errors) {
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  expect_error(cos_case({2, -3}, 0.0, std::nullopt), "negative extent at dim 1");
  expect_error(cos_case({2}, 0.0, std::string("float64")), "unknown dtype 'float64'");
  expect_error(cos_case({2}, 300.0, std::string("int8")), "does not fit dtype int8");
  expect_error(cos_case({2}, -1.0, std::string("uint8")), "does not fit dtype uint8");
  expect_error(cos_case({2}, NAN, std::string("int32")), "does not fit dtype int32");
  OpCase c = cos_case({2}, 0.0, std::nullopt);
  c.constant = {false};
  expect_error(c, "data-dependent shapes are unsupported");
  c.inputs = {make_tensor(DataType::kFloat32, {1}, {2})};
  c.constant = {true};
  expect_error(c, "shape input must be int64");
  c.inputs = {HostTensor(DataType::kInt64, {1, 1})};
  expect_error(c, "1-D");
}

}  // namespace
}  // namespace kiln::testing::constant_of_shape_test
