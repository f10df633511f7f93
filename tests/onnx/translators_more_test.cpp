// More op translators: composites (inverse trigonometry, ReverseSequence, MaxUnpool) and the
// opset-dependent forms of Split, Pad, Resize, Hardmax, GroupNormalization, ConvTranspose.
#include "onnx/onnx_test_util.h"

#include <cmath>

namespace kiln::testing::translators_more_test {
namespace {

#define ASSERT_RAN(r)                           \
  ASSERT_TRUE((r).parse.is_ok()) << (r).errors; \
  ASSERT_TRUE((r).outputs.is_ok()) << (r).outputs.status().to_string()

TEST(OnnxTranslatorsMore, InverseTrigonometry) {
  std::vector<float> wide, unit;
  for (int i = -40; i <= 40; ++i) wide.push_back(static_cast<float>(i) * 0.37f);
  wide.push_back(1e6f);
  wide.push_back(-1e-6f);
  for (int i = -20; i <= 20; ++i) unit.push_back(static_cast<float>(i) / 20.f);
  struct Case {
    const char* op;
    double (*f)(double);
    const std::vector<float>* x;
  };
  for (const Case& k : {Case{"Atan", std::atan, &wide}, Case{"Asin", std::asin, &unit},
                        Case{"Acos", std::acos, &unit}}) {
    const auto& x = *k.x;
    auto r = run_op(13, k.op, {{"x", floats({static_cast<int64_t>(x.size())}, x)}}, {}, {"y"});
    ASSERT_RAN(r);
    auto y = values_of(r.outputs->at("y"));
    for (size_t i = 0; i < x.size(); ++i) {
      double want = k.f(x[i]);
      EXPECT_NEAR(y[i], want, 2e-6 * (1 + std::fabs(want))) << k.op << "(" << x[i] << ")";
    }
  }
}

TEST(OnnxTranslatorsMore, SplitByOpset) {
  std::vector<float> x = {0, 1, 2, 3, 4, 5, 6};
  auto s11 = run_op(11, "Split", {{"x", floats({7}, x)}}, {attr_ints("split", {2, 5})}, {"a", "b"});
  ASSERT_RAN(s11);
  EXPECT_EQ(values_of(s11.outputs->at("a")), (std::vector<float>{0, 1}));
  EXPECT_EQ(values_of(s11.outputs->at("b")), (std::vector<float>{2, 3, 4, 5, 6}));
  auto s13 = run_op(13, "Split",
                    {{"x", floats({7}, x)}, {"s", tensor_of(DataType::kInt64, {2}, {4, 3}), true}},
                    {}, {"a", "b"});
  ASSERT_RAN(s13);
  EXPECT_EQ(values_of(s13.outputs->at("b")), (std::vector<float>{4, 5, 6}));
  auto s18 =
      run_op(18, "Split", {{"x", floats({7}, x)}}, {attr_int("num_outputs", 3)}, {"a", "b", "c"});
  ASSERT_RAN(s18);
  EXPECT_EQ(values_of(s18.outputs->at("a")), (std::vector<float>{0, 1, 2}));
  EXPECT_EQ(values_of(s18.outputs->at("c")), (std::vector<float>{6}));
  auto bad =
      run_op(18, "Split", {{"x", floats({7}, x)}}, {attr_int("num_outputs", 2)}, {"a", "b", "c"});
  EXPECT_FALSE(bad.parse.is_ok());
  EXPECT_NE(bad.errors.find("num_outputs=2"), std::string::npos) << bad.errors;
}

TEST(OnnxTranslatorsMore, PadByOpset) {
  std::vector<float> x = {1, 2, 3, 4};
  auto p2 = run_op(2, "Pad", {{"x", floats({2, 2}, x)}},
                   {attr_ints("pads", {0, 1, 1, 0}), attr_float("value", 9.f)}, {"y"});
  ASSERT_RAN(p2);
  EXPECT_EQ(p2.outputs->at("y").shape(), (Dims{3, 3}));
  EXPECT_EQ(values_of(p2.outputs->at("y")), (std::vector<float>{9, 1, 2, 9, 3, 4, 9, 9, 9}));
  auto p13 = run_op(13, "Pad",
                    {{"x", floats({2, 2}, x)},
                     {"pads", tensor_of(DataType::kInt64, {4}, {1, 0, 0, 0}), true},
                     {"v", floats({}, {-1.f}), true}},
                    {attr_string("mode", "edge")}, {"y"});
  ASSERT_RAN(p13);
  EXPECT_EQ(values_of(p13.outputs->at("y")), (std::vector<float>{1, 2, 1, 2, 3, 4}));
}

TEST(OnnxTranslatorsMore, ResizeAndUpsampleLegacySemantics) {
  // Opset 10 / Upsample: asymmetric coordinates, nearest rounds down.
  std::vector<float> x = {1, 2, 3, 4};
  std::vector<float> want = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
  auto r10 =
      run_op(10, "Resize", {{"x", floats({1, 1, 2, 2}, x)}, {"s", floats({4}, {1, 1, 2, 2}), true}},
             {}, {"y"});
  ASSERT_RAN(r10);
  EXPECT_EQ(values_of(r10.outputs->at("y")), want);
  auto u9 =
      run_op(9, "Upsample",
             {{"x", floats({1, 1, 2, 2}, x)}, {"s", floats({4}, {1, 1, 2, 2}), true}}, {}, {"y"});
  ASSERT_RAN(u9);
  EXPECT_EQ(values_of(u9.outputs->at("y")), want);
  // Opset 13 with sizes and half_pixel linear: the 2x2 corners stay, the middle averages.
  auto r13 = run_op(13, "Resize",
                    {{"x", floats({1, 1, 2, 2}, x)},
                     {"", {}},
                     {"", {}},
                     {"sizes", tensor_of(DataType::kInt64, {4}, {1, 1, 4, 4}), true}},
                    {attr_string("mode", "linear")}, {"y"});
  ASSERT_RAN(r13);
  auto y = values_of(r13.outputs->at("y"));
  ASSERT_EQ(y.size(), 16u);
  EXPECT_FLOAT_EQ(y[0], 1.f);
  EXPECT_FLOAT_EQ(y[15], 4.f);
  EXPECT_FLOAT_EQ(y[5], 1.75f);  // (1,1): source (0.25, 0.25)
  auto aa =
      run_op(18, "Resize",
             {{"x", floats({1, 1, 2, 2}, x)}, {"", {}}, {"s", floats({4}, {1, 1, 2, 2}), true}},
             {attr_int("antialias", 1)}, {"y"});
  EXPECT_EQ(aa.parse.code(), StatusCode::kUnsupported);
  EXPECT_NE(aa.errors.find("antialias=1"), std::string::npos) << aa.errors;
}

TEST(OnnxTranslatorsMore, HardmaxByOpset) {
  std::vector<float> x = {1, 5, 3, 2, 9, 0, 4, 4};  // [2, 2, 2]
  auto h13 = run_op(13, "Hardmax", {{"x", floats({2, 2, 2}, x)}}, {attr_int("axis", 1)}, {"y"});
  ASSERT_RAN(h13);
  EXPECT_EQ(values_of(h13.outputs->at("y")), (std::vector<float>{0, 1, 1, 0, 1, 0, 0, 1}));
  // Opset 11: over each flattened [2*2] row.
  auto h11 = run_op(11, "Hardmax", {{"x", floats({2, 2, 2}, x)}}, {attr_int("axis", 1)}, {"y"});
  ASSERT_RAN(h11);
  EXPECT_EQ(values_of(h11.outputs->at("y")), (std::vector<float>{0, 1, 0, 0, 1, 0, 0, 0}));
}

TEST(OnnxTranslatorsMore, GroupNormalizationAffineByOpset) {
  // N=1, C=4, 2 groups of 2 channels, 1 spatial element each.
  std::vector<float> x = {1, 3, 10, 30};
  // opset 18: scale/bias per group.
  auto g18 = run_op(18, "GroupNormalization",
                    {{"x", floats({1, 4, 1}, x)},
                     {"s", floats({2}, {1, 2}), true},
                     {"b", floats({2}, {0, 1}), true}},
                    {attr_int("num_groups", 2), attr_float("epsilon", 0.f)}, {"y"});
  ASSERT_RAN(g18);
  auto y = values_of(g18.outputs->at("y"));
  EXPECT_NEAR(y[0], -1, 1e-5);
  EXPECT_NEAR(y[1], 1, 1e-5);
  EXPECT_NEAR(y[2], -1, 1e-5);  // -1 * 2 + 1
  EXPECT_NEAR(y[3], 3, 1e-5);
  // opset 21: per channel.
  auto g21 = run_op(21, "GroupNormalization",
                    {{"x", floats({1, 4, 1}, x)},
                     {"s", floats({4}, {1, 2, 3, 4}), true},
                     {"b", floats({4}, {0, 0, 0, 0}), true}},
                    {attr_int("num_groups", 2), attr_float("epsilon", 0.f)}, {"y"});
  ASSERT_RAN(g21);
  auto z = values_of(g21.outputs->at("y"));
  EXPECT_NEAR(z[1], 2, 1e-5);
  EXPECT_NEAR(z[2], -3, 1e-5);
}

TEST(OnnxTranslatorsMore, ReverseSequenceAndMaxUnpool) {
  // time_axis 1, batch_axis 0: [B=2, T=3], lengths 2 and 3.
  std::vector<float> x = {1, 2, 3, 4, 5, 6};
  auto rs = run_op(10, "ReverseSequence",
                   {{"x", floats({2, 3}, x)}, {"lens", tensor_of(DataType::kInt64, {2}, {2, 3})}},
                   {attr_int("time_axis", 1), attr_int("batch_axis", 0)}, {"y"});
  ASSERT_RAN(rs);
  EXPECT_EQ(values_of(rs.outputs->at("y")), (std::vector<float>{2, 1, 3, 6, 5, 4}));

  auto mu = run_op(11, "MaxUnpool",
                   {{"x", floats({1, 1, 1, 2}, {7, 8})},
                    {"i", tensor_of(DataType::kInt64, {1, 1, 1, 2}, {1, 6})}},
                   {attr_ints("kernel_shape", {2, 2}), attr_ints("strides", {2, 2})}, {"y"});
  ASSERT_RAN(mu);
  EXPECT_EQ(mu.outputs->at("y").shape(), (Dims{1, 1, 2, 4}));
  EXPECT_EQ(values_of(mu.outputs->at("y")), (std::vector<float>{0, 7, 0, 0, 0, 0, 8, 0}));
}

TEST(OnnxTranslatorsMore, ConvTransposeAttributes) {
  // Kernel 2x2 of ones, stride 2: each input pixel becomes a 2x2 block.
  auto r = run_op(
      13, "ConvTranspose",
      {{"x", floats({1, 1, 2, 2}, {1, 2, 3, 4})}, {"w", floats({1, 1, 2, 2}, {1, 1, 1, 1}), true}},
      {attr_ints("strides", {2, 2})}, {"y"});
  ASSERT_RAN(r);
  EXPECT_EQ(values_of(r.outputs->at("y")),
            (std::vector<float>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
  // output_shape larger than natural: padding goes to the end ("begin = T - T/2" with T < 0).
  auto o = run_op(
      13, "ConvTranspose",
      {{"x", floats({1, 1, 2, 2}, {1, 2, 3, 4})}, {"w", floats({1, 1, 2, 2}, {1, 1, 1, 1}), true}},
      {attr_ints("strides", {2, 2}), attr_ints("output_shape", {5, 5})}, {"y"});
  ASSERT_RAN(o);
  EXPECT_EQ(o.outputs->at("y").shape(), (Dims{1, 1, 5, 5}));
  auto bad = run_op(
      13, "ConvTranspose",
      {{"x", floats({1, 1, 2, 2}, {1, 2, 3, 4})}, {"w", floats({1, 1, 2, 2}, {1, 1, 1, 1}), true}},
      {attr_ints("kernel_shape", {3, 3})}, {"y"});
  EXPECT_FALSE(bad.parse.is_ok());
}

}  // namespace
}  // namespace kiln::testing::translators_more_test
