// Op translators: each imported op run end to end and compared with values computed here
// independently (naive loops / hand values), including the opset-dependent forms.
#include "onnx/onnx_test_util.h"

#include <cmath>
#include <random>

namespace kiln::testing::translators_test {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

void expect_near(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << "at " << i;
  }
}

#define ASSERT_RAN(r)                           \
  ASSERT_TRUE((r).parse.is_ok()) << (r).errors; \
  ASSERT_TRUE((r).outputs.is_ok()) << (r).outputs.status().to_string()

TEST(OnnxTranslators, GemmAlphaBetaTransposesAndBias) {
  const int64_t m = 2, k = 3, n = 4;
  auto a = random_values(m * k, 1), b = random_values(n * k, 2), c1 = random_values(n, 3),
       c2 = random_values(m * n, 4);
  auto expected = [&](const std::vector<float>& cvals, bool c_2d, float alpha, float beta) {
    std::vector<float> y(m * n);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        float acc = 0;
        for (int64_t p = 0; p < k; ++p) acc += a[i * k + p] * b[j * k + p];  // B is [N, K]
        y[i * n + j] = alpha * acc + beta * (c_2d ? cvals[i * n + j] : cvals[j]);
      }
    }
    return y;
  };
  // Constant 1-D C (becomes the MatMul bias), constant B scaled by alpha.
  auto r1 = run_op(
      13, "Gemm",
      {{"A", floats({m, k}, a)}, {"B", floats({n, k}, b), true}, {"C", floats({n}, c1), true}},
      {attr_float("alpha", 0.5f), attr_float("beta", 2.f), attr_int("transB", 1)}, {"Y"});
  ASSERT_RAN(r1);
  expect_near(values_of(r1.outputs->at("Y")), expected(c1, false, 0.5f, 2.f));
  // Run-time B and 2-D C: alpha and beta as multiplications.
  auto r2 = run_op(
      13, "Gemm", {{"A", floats({m, k}, a)}, {"B", floats({n, k}, b)}, {"C", floats({m, n}, c2)}},
      {attr_float("alpha", -1.5f), attr_float("beta", 0.25f), attr_int("transB", 1)}, {"Y"});
  ASSERT_RAN(r2);
  expect_near(values_of(r2.outputs->at("Y")), expected(c2, true, -1.5f, 0.25f));
  // transA with A given as [K, M]; no C (opset 11+).
  std::vector<float> at(k * m);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t p = 0; p < k; ++p) at[p * m + i] = a[i * k + p];
  }
  auto r3 = run_op(13, "Gemm", {{"A", floats({k, m}, at)}, {"B", floats({n, k}, b)}},
                   {attr_int("transA", 1), attr_int("transB", 1)}, {"Y"});
  ASSERT_RAN(r3);
  expect_near(values_of(r3.outputs->at("Y")), expected(std::vector<float>(n, 0), false, 1.f, 0.f));
}

// Naive 2-D convolution of one channel with explicit pads.
std::vector<float> conv2d(const std::vector<float>& x, int64_t h, int64_t w,
                          const std::vector<float>& k, int64_t kh, int64_t kw, int64_t stride,
                          int64_t pt, int64_t pl, int64_t pb, int64_t pr, int64_t* oh,
                          int64_t* ow) {
  *oh = (h + pt + pb - kh) / stride + 1;
  *ow = (w + pl + pr - kw) / stride + 1;
  std::vector<float> y(*oh * *ow, 0.f);
  for (int64_t i = 0; i < *oh; ++i) {
    for (int64_t j = 0; j < *ow; ++j) {
      float acc = 0;
      for (int64_t u = 0; u < kh; ++u) {
        for (int64_t v = 0; v < kw; ++v) {
          int64_t yy = i * stride + u - pt, xx = j * stride + v - pl;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w) acc += x[yy * w + xx] * k[u * kw + v];
        }
      }
      y[i * *ow + j] = acc;
    }
  }
  return y;
}

TEST(OnnxTranslators, ConvAutoPad) {
  auto x = random_values(25, 5);
  auto k3 = random_values(9, 6), k2 = random_values(4, 7);
  int64_t oh = 0, ow = 0;
  // SAME_UPPER, stride 2, 5x5, kernel 3: output 3x3, total pad 2 -> 1 and 1.
  auto want = conv2d(x, 5, 5, k3, 3, 3, 2, 1, 1, 1, 1, &oh, &ow);
  auto r =
      run_op(13, "Conv", {{"X", floats({1, 1, 5, 5}, x)}, {"W", floats({1, 1, 3, 3}, k3), true}},
             {attr_string("auto_pad", "SAME_UPPER"), attr_ints("strides", {2, 2})}, {"Y"});
  ASSERT_RAN(r);
  EXPECT_EQ(r.outputs->at("Y").shape(), (Dims{1, 1, 3, 3}));
  expect_near(values_of(r.outputs->at("Y")), want);
  // Kernel 2, stride 1: one pad in total; SAME_UPPER puts it at the end, SAME_LOWER at the start.
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER"}) {
    bool upper = std::string(mode) == "SAME_UPPER";
    auto w2 = conv2d(x, 5, 5, k2, 2, 2, 1, upper ? 0 : 1, upper ? 0 : 1, upper ? 1 : 0,
                     upper ? 1 : 0, &oh, &ow);
    auto r2 =
        run_op(13, "Conv", {{"X", floats({1, 1, 5, 5}, x)}, {"W", floats({1, 1, 2, 2}, k2), true}},
               {attr_string("auto_pad", mode)}, {"Y"});
    ASSERT_RAN(r2);
    EXPECT_EQ(r2.outputs->at("Y").shape(), (Dims{1, 1, 5, 5})) << mode;
    expect_near(values_of(r2.outputs->at("Y")), w2);
  }
  // VALID, and explicit asymmetric pads.
  auto w3 = conv2d(x, 5, 5, k3, 3, 3, 1, 0, 0, 0, 0, &oh, &ow);
  auto r3 =
      run_op(13, "Conv", {{"X", floats({1, 1, 5, 5}, x)}, {"W", floats({1, 1, 3, 3}, k3), true}},
             {attr_string("auto_pad", "VALID")}, {"Y"});
  ASSERT_RAN(r3);
  expect_near(values_of(r3.outputs->at("Y")), w3);
  auto w4 = conv2d(x, 5, 5, k3, 3, 3, 1, 0, 1, 2, 0, &oh, &ow);
  auto r4 =
      run_op(13, "Conv", {{"X", floats({1, 1, 5, 5}, x)}, {"W", floats({1, 1, 3, 3}, k3), true}},
             {attr_ints("pads", {0, 1, 2, 0})}, {"Y"});
  ASSERT_RAN(r4);
  EXPECT_EQ(r4.outputs->at("Y").shape(), (Dims{1, 1, oh, ow}));
  expect_near(values_of(r4.outputs->at("Y")), w4);
  // kernel_shape that contradicts W.
  auto bad =
      run_op(13, "Conv", {{"X", floats({1, 1, 5, 5}, x)}, {"W", floats({1, 1, 3, 3}, k3), true}},
             {attr_ints("kernel_shape", {2, 2})}, {"Y"});
  EXPECT_FALSE(bad.parse.is_ok());
  EXPECT_NE(bad.errors.find("kernel_shape=[2,2]"), std::string::npos) << bad.errors;
}

TEST(OnnxTranslators, SoftmaxAxisSemanticsByOpset) {
  auto x = random_values(24, 8, -3, 3);
  // Opset 13: softmax along axis 1 of [2,3,4] alone.
  std::vector<float> per_axis(24), coerced(24);
  for (int n = 0; n < 2; ++n) {
    for (int w = 0; w < 4; ++w) {
      float mx = -1e30f, sum = 0;
      for (int c = 0; c < 3; ++c) mx = std::max(mx, x[n * 12 + c * 4 + w]);
      for (int c = 0; c < 3; ++c) sum += std::exp(x[n * 12 + c * 4 + w] - mx);
      for (int c = 0; c < 3; ++c)
        per_axis[n * 12 + c * 4 + w] = std::exp(x[n * 12 + c * 4 + w] - mx) / sum;
    }
    // Opset 11: the input coerced to [2, 12], softmax over each row.
    float mx = -1e30f, sum = 0;
    for (int i = 0; i < 12; ++i) mx = std::max(mx, x[n * 12 + i]);
    for (int i = 0; i < 12; ++i) sum += std::exp(x[n * 12 + i] - mx);
    for (int i = 0; i < 12; ++i) coerced[n * 12 + i] = std::exp(x[n * 12 + i] - mx) / sum;
  }
  auto r13 = run_op(13, "Softmax", {{"x", floats({2, 3, 4}, x)}}, {attr_int("axis", 1)}, {"y"});
  ASSERT_RAN(r13);
  expect_near(values_of(r13.outputs->at("y")), per_axis);
  auto r11 = run_op(11, "Softmax", {{"x", floats({2, 3, 4}, x)}}, {attr_int("axis", 1)}, {"y"});
  ASSERT_RAN(r11);
  EXPECT_EQ(r11.outputs->at("y").shape(), (Dims{2, 3, 4}));
  expect_near(values_of(r11.outputs->at("y")), coerced);
  // LogSoftmax opset 11 with the default axis (1) is the log of the same.
  auto l11 = run_op(11, "LogSoftmax", {{"x", floats({2, 3, 4}, x)}}, {}, {"y"});
  ASSERT_RAN(l11);
  std::vector<float> logs(24);
  for (int i = 0; i < 24; ++i) logs[i] = std::log(coerced[i]);
  expect_near(values_of(l11.outputs->at("y")), logs, 1e-4f);
}

TEST(OnnxTranslators, FlattenSqueezeUnsqueezeByOpset) {
  auto x = random_values(24, 9);
  for (int64_t axis : {0, 1, 2, 3, -1}) {
    auto r = run_op(13, "Flatten", {{"x", floats({2, 3, 4}, x)}}, {attr_int("axis", axis)}, {"y"});
    ASSERT_RAN(r);
    int64_t a = axis < 0 ? axis + 3 : axis;
    int64_t rows = 1;
    for (int64_t d = 0; d < a; ++d) rows *= std::vector<int64_t>{2, 3, 4}[d];
    EXPECT_EQ(r.outputs->at("y").shape(), (Dims{rows, 24 / rows})) << axis;
    EXPECT_EQ(values_of(r.outputs->at("y")), x);
  }
  // Squeeze: attribute axes (opset 11), input axes (opset 13).
  auto s11 =
      run_op(11, "Squeeze", {{"x", floats({2, 1, 3, 1}, x)}}, {attr_ints("axes", {1})}, {"y"});
  ASSERT_RAN(s11);
  EXPECT_EQ(s11.outputs->at("y").shape(), (Dims{2, 3, 1}));
  auto s13 = run_op(
      13, "Squeeze",
      {{"x", floats({2, 1, 3, 1}, x)}, {"axes", tensor_of(DataType::kInt64, {1}, {-1}), true}}, {},
      {"y"});
  ASSERT_RAN(s13);
  EXPECT_EQ(s13.outputs->at("y").shape(), (Dims{2, 1, 3}));
  auto u11 =
      run_op(11, "Unsqueeze", {{"x", floats({2, 3}, x)}}, {attr_ints("axes", {0, 3})}, {"y"});
  ASSERT_RAN(u11);
  EXPECT_EQ(u11.outputs->at("y").shape(), (Dims{1, 2, 3, 1}));
  auto u13 = run_op(
      13, "Unsqueeze",
      {{"x", floats({2, 3}, x)}, {"axes", tensor_of(DataType::kInt64, {1}, {1}), true}}, {}, {"y"});
  ASSERT_RAN(u13);
  EXPECT_EQ(u13.outputs->at("y").shape(), (Dims{2, 1, 3}));
  // Opset 13 axes that are a run-time input cannot be imported.
  auto dyn = run_op(13, "Unsqueeze",
                    {{"x", floats({2, 3}, x)}, {"axes", tensor_of(DataType::kInt64, {1}, {1})}}, {},
                    {"y"});
  EXPECT_EQ(dyn.parse.code(), StatusCode::kUnsupported);
  EXPECT_NE(dyn.errors.find("axes (input 1 'axes') must be known"), std::string::npos)
      << dyn.errors;
}

TEST(OnnxTranslators, ClipByOpsetAndDtype) {
  std::vector<float> x = {-3, -1, 0, 1, 3};
  auto c6 = run_op(6, "Clip", {{"x", floats({5}, x)}},
                   {attr_float("min", -1.5f), attr_float("max", 2.f)}, {"y"});
  ASSERT_RAN(c6);
  EXPECT_EQ(values_of(c6.outputs->at("y")), (std::vector<float>{-1.5f, -1, 0, 1, 2}));
  auto c13 =
      run_op(13, "Clip", {{"x", floats({5}, x)}, {"lo", floats({}, {-0.5f}), true}}, {}, {"y"});
  ASSERT_RAN(c13);
  EXPECT_EQ(values_of(c13.outputs->at("y")), (std::vector<float>{-0.5f, -0.5f, 0, 1, 3}));
  // Only max, skipping min with an empty name; run-time bounds.
  auto cmax =
      run_op(13, "Clip", {{"x", floats({5}, x)}, {"", {}}, {"hi", floats({}, {0.5f})}}, {}, {"y"});
  ASSERT_RAN(cmax);
  EXPECT_EQ(values_of(cmax.outputs->at("y")), (std::vector<float>{-3, -1, 0, 0.5f, 0.5f}));
  auto ci = run_op(13, "Clip",
                   {{"x", tensor_of(DataType::kInt32, {5}, {-3, -1, 0, 1, 3})},
                    {"lo", tensor_of(DataType::kInt32, {}, {-2}), true},
                    {"hi", tensor_of(DataType::kInt32, {}, {2}), true}},
                   {}, {"y"});
  ASSERT_RAN(ci);
  EXPECT_EQ(ci.outputs->at("y").dtype(), DataType::kInt32);
  EXPECT_EQ(values_of(ci.outputs->at("y")), (std::vector<float>{-2, -1, 0, 1, 2}));
}

TEST(OnnxTranslators, ReduceAxesAttributeOrInput) {
  auto x = random_values(24, 10);
  std::vector<float> mean_axis1(8, 0.f);
  for (int n = 0; n < 2; ++n) {
    for (int w = 0; w < 4; ++w) {
      for (int c = 0; c < 3; ++c) mean_axis1[n * 4 + w] += x[n * 12 + c * 4 + w] / 3;
    }
  }
  auto r13 = run_op(13, "ReduceMean", {{"x", floats({2, 3, 4}, x)}},
                    {attr_ints("axes", {1}), attr_int("keepdims", 0)}, {"y"});
  ASSERT_RAN(r13);
  EXPECT_EQ(r13.outputs->at("y").shape(), (Dims{2, 4}));
  expect_near(values_of(r13.outputs->at("y")), mean_axis1);
  auto r18 =
      run_op(18, "ReduceMean",
             {{"x", floats({2, 3, 4}, x)}, {"axes", tensor_of(DataType::kInt64, {1}, {-2}), true}},
             {}, {"y"});
  ASSERT_RAN(r18);
  EXPECT_EQ(r18.outputs->at("y").shape(), (Dims{2, 1, 4}));
  expect_near(values_of(r18.outputs->at("y")), mean_axis1);
  // ReduceSum takes axes as an input from opset 13; no axes: everything.
  auto s = run_op(13, "ReduceSum", {{"x", floats({2, 3, 4}, x)}}, {attr_int("keepdims", 0)}, {"y"});
  ASSERT_RAN(s);
  float total = 0;
  for (float v : x) total += v;
  EXPECT_EQ(s.outputs->at("y").shape().rank(), 0);
  EXPECT_NEAR(values_of(s.outputs->at("y"))[0], total, 1e-4);
  // ReduceLogSum = log(sum).
  auto pos = random_values(6, 11, 0.5f, 2.f);
  auto ls =
      run_op(13, "ReduceLogSum", {{"x", floats({2, 3}, pos)}}, {attr_ints("axes", {1})}, {"y"});
  ASSERT_RAN(ls);
  expect_near(values_of(ls.outputs->at("y")),
              {std::log(pos[0] + pos[1] + pos[2]), std::log(pos[3] + pos[4] + pos[5])});
}

TEST(OnnxTranslators, VariadicAndLegacyBroadcast) {
  auto a = random_values(6, 12), b = random_values(3, 13), c = random_values(1, 14);
  auto r =
      run_op(13, "Mean", {{"a", floats({2, 3}, a)}, {"b", floats({3}, b)}, {"c", floats({1}, c)}},
             {}, {"y"});
  ASSERT_RAN(r);
  std::vector<float> want(6);
  for (int i = 0; i < 6; ++i) want[i] = (a[i] + b[i % 3] + c[0]) / 3;
  expect_near(values_of(r.outputs->at("y")), want);
  auto mx = run_op(13, "Max", {{"a", floats({2, 3}, a)}, {"b", floats({3}, b)}}, {}, {"y"});
  ASSERT_RAN(mx);
  for (int i = 0; i < 6; ++i) want[i] = std::max(a[i], b[i % 3]);
  expect_near(values_of(mx.outputs->at("y")), want);
  auto one = run_op(13, "Sum", {{"a", floats({2, 3}, a)}}, {}, {"y"});
  ASSERT_RAN(one);
  EXPECT_EQ(values_of(one.outputs->at("y")), a);
  // Opset 6 Add with broadcast=1, axis=1: B [3] aligns with dim 1 of A [2,3,4].
  auto x = random_values(24, 15);
  auto old = run_op(6, "Add", {{"a", floats({2, 3, 4}, x)}, {"b", floats({3}, b)}},
                    {attr_int("broadcast", 1), attr_int("axis", 1)}, {"y"});
  ASSERT_RAN(old);
  std::vector<float> w(24);
  for (int i = 0; i < 24; ++i) w[i] = x[i] + b[(i / 4) % 3];
  expect_near(values_of(old.outputs->at("y")), w);
}

TEST(OnnxTranslators, DropoutMaskAndLayerNormStatistics) {
  auto x = random_values(12, 16);
  auto d = run_op(13, "Dropout", {{"x", floats({3, 4}, x)}}, {}, {"y", "mask"});
  ASSERT_RAN(d);
  EXPECT_EQ(values_of(d.outputs->at("y")), x);
  const HostTensor& mask = d.outputs->at("mask");
  EXPECT_EQ(mask.dtype(), DataType::kBool);
  EXPECT_EQ(mask.shape(), (Dims{3, 4}));
  for (int64_t i = 0; i < mask.numel(); ++i) EXPECT_EQ(mask.get_int(i), 1);
  // Training mode with a random ratio is refused.
  auto t = run_op(13, "Dropout",
                  {{"x", floats({3, 4}, x)},
                   {"r", floats({}, {0.5f}), true},
                   {"t", tensor_of(DataType::kBool, {}, {1}), true}},
                  {}, {"y"});
  EXPECT_EQ(t.parse.code(), StatusCode::kUnsupported);

  auto scale = random_values(4, 17), bias = random_values(4, 18);
  auto ln = run_op(
      17, "LayerNormalization",
      {{"x", floats({3, 4}, x)}, {"s", floats({4}, scale), true}, {"b", floats({4}, bias), true}},
      {attr_float("epsilon", 1e-3f)}, {"y", "mean", "inv"});
  ASSERT_RAN(ln);
  for (int r = 0; r < 3; ++r) {
    float mean = 0, var = 0;
    for (int i = 0; i < 4; ++i) mean += x[r * 4 + i] / 4;
    for (int i = 0; i < 4; ++i) var += (x[r * 4 + i] - mean) * (x[r * 4 + i] - mean) / 4;
    float inv = 1.f / std::sqrt(var + 1e-3f);
    EXPECT_NEAR(values_of(ln.outputs->at("mean"))[r], mean, 1e-5);
    EXPECT_NEAR(values_of(ln.outputs->at("inv"))[r], inv, 1e-4);
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(values_of(ln.outputs->at("y"))[r * 4 + i],
                  (x[r * 4 + i] - mean) * inv * scale[i] + bias[i], 1e-4);
    }
  }
  EXPECT_EQ(ln.outputs->at("mean").shape(), (Dims{3, 1}));
}

TEST(OnnxTranslators, CastByOpset) {
  auto c13 = run_op(13, "Cast", {{"x", floats({3}, {1.7f, -2.2f, 0.f})}},
                    {attr_int("to", pb::TensorProto::INT32)}, {"y"});
  ASSERT_RAN(c13);
  EXPECT_EQ(c13.outputs->at("y").dtype(), DataType::kInt32);
  EXPECT_EQ(values_of(c13.outputs->at("y")), (std::vector<float>{1, -2, 0}));
  // Opset 1-5 name the type with a string.
  auto c5 = run_op(5, "Cast", {{"x", floats({3}, {1.7f, -2.2f, 0.f})}}, {attr_string("to", "BOOL")},
                   {"y"});
  ASSERT_RAN(c5);
  EXPECT_EQ(c5.outputs->at("y").dtype(), DataType::kBool);
  EXPECT_EQ(values_of(c5.outputs->at("y")), (std::vector<float>{1, 1, 0}));
  auto bad = run_op(13, "Cast", {{"x", floats({3}, {1, 2, 3})}},
                    {attr_int("to", pb::TensorProto::UINT16)}, {"y"});
  EXPECT_EQ(bad.parse.code(), StatusCode::kUnsupported);
  EXPECT_NE(bad.errors.find("UINT16"), std::string::npos) << bad.errors;
}

TEST(OnnxTranslators, QuantizeDequantize) {
  std::vector<float> x = {-1.f, 0.f, 0.26f, 0.5f, 1.f, 100.f};
  auto q = run_op(13, "QuantizeLinear",
                  {{"x", floats({6}, x)},
                   {"s", floats({}, {0.5f}), true},
                   {"z", tensor_of(DataType::kUInt8, {}, {128}), true}},
                  {}, {"y"});
  ASSERT_RAN(q);
  EXPECT_EQ(q.outputs->at("y").dtype(), DataType::kUInt8);
  // round(x / 0.5) half to even + 128, saturated to [0, 255].
  EXPECT_EQ(values_of(q.outputs->at("y")), (std::vector<float>{126, 128, 129, 129, 130, 255}));
  auto d = run_op(13, "DequantizeLinear",
                  {{"x", tensor_of(DataType::kInt8, {2, 2}, {-128, 0, 10, 127})},
                   {"s", floats({2}, {0.5f, 2.f}), true},
                   {"z", tensor_of(DataType::kInt8, {2}, {0, 10}), true}},
                  {attr_int("axis", 0)}, {"y"});
  ASSERT_RAN(d);
  EXPECT_EQ(values_of(d.outputs->at("y")), (std::vector<float>{-64, 0, 0, 234}));
}

TEST(OnnxTranslators, NegativeLogLikelihoodLoss) {
  auto in = random_values(12, 19);  // [N=3, C=4]
  auto w = random_values(4, 20, 0.5f, 1.5f);
  std::vector<double> target = {2, 0, 3};
  auto r = run_op(13, "NegativeLogLikelihoodLoss",
                  {{"input", floats({3, 4}, in)},
                   {"target", tensor_of(DataType::kInt64, {3}, target)},
                   {"weight", floats({4}, w), true}},
                  {attr_string("reduction", "mean"), attr_int("ignore_index", 0)}, {"loss"});
  ASSERT_RAN(r);
  float num = 0, den = 0;
  for (int n = 0; n < 3; ++n) {
    int t = static_cast<int>(target[n]);
    if (t == 0) continue;  // ignored
    num += -in[n * 4 + t] * w[t];
    den += w[t];
  }
  EXPECT_EQ(r.outputs->at("loss").shape().rank(), 0);
  EXPECT_NEAR(values_of(r.outputs->at("loss"))[0], num / den, 1e-5);
  auto none =
      run_op(13, "NegativeLogLikelihoodLoss",
             {{"input", floats({3, 4}, in)}, {"target", tensor_of(DataType::kInt64, {3}, target)}},
             {attr_string("reduction", "none")}, {"loss"});
  ASSERT_RAN(none);
  expect_near(values_of(none.outputs->at("loss")), {-in[2], -in[4], -in[11]});
}

}  // namespace
}  // namespace kiln::testing::translators_test
