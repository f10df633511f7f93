// Activation: every kind, every CPU tactic, float dtypes, against formulas written here.
#include "common/op_harness.h"

#include <cmath>

namespace kiln::testing::activation_test {
namespace {

double expected(const std::string& kind, double x, double a, double b) {
  if (kind == "relu") return x > 0 ? x : 0;
  if (kind == "leaky_relu") return x >= 0 ? x : a * x;
  if (kind == "sigmoid") return 1 / (1 + std::exp(-x));
  if (kind == "tanh") return std::tanh(x);
  if (kind == "elu") return x >= 0 ? x : a * (std::exp(x) - 1);
  if (kind == "selu") return x > 0 ? b * x : b * a * (std::exp(x) - 1);
  if (kind == "softplus") return std::log(1 + std::exp(x));
  if (kind == "clip") return std::min(std::max(x, a), b);
  if (kind == "gelu_erf") return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  if (kind == "gelu_tanh")
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  if (kind == "silu") return x / (1 + std::exp(-x));
  if (kind == "hard_sigmoid") return std::max(0.0, std::min(1.0, a * x + b));
  if (kind == "hard_swish") return x * std::max(0.0, std::min(1.0, x / 6 + 0.5));
  if (kind == "thresholded_relu") return x > a ? x : 0;
  if (kind == "celu") return std::max(0.0, x) + std::min(0.0, a * (std::exp(x / a) - 1));
  if (kind == "mish") return x * std::tanh(std::log(1 + std::exp(x)));
  if (kind == "softsign") return x / (1 + std::fabs(x));
  ADD_FAILURE() << "unknown " << kind;
  return 0;
}

struct Kind {
  const char* name;
  double alpha, beta;
};

TEST(Activation, EveryKindEveryTacticFloat32AndHalf) {
  const Kind kinds[] = {{"relu", 0, 0},       {"leaky_relu", 0.1, 0},
                        {"sigmoid", 0, 0},    {"tanh", 0, 0},
                        {"elu", 0.7, 0},      {"selu", 1.67326, 1.0507},
                        {"softplus", 0, 0},   {"clip", -0.5, 0.8},
                        {"gelu_erf", 0, 0},   {"gelu_tanh", 0, 0},
                        {"silu", 0, 0},       {"hard_sigmoid", 0.2, 0.5},
                        {"hard_swish", 0, 0}, {"thresholded_relu", 0.5, 0},
                        {"celu", 1.3, 0},     {"mish", 0, 0},
                        {"softsign", 0, 0}};
  std::mt19937 rng(7);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    for (const Kind& k : kinds) {
      OpCase c;
      c.op = "Activation";
      c.attrs.set("type", std::string(k.name));
      c.attrs.set("alpha", k.alpha);
      c.attrs.set("beta", k.beta);
      c.inputs.push_back(random_tensor(dt, {3, 5, 7}, rng, -4, 4));
      HostTensor want(dt, {3, 5, 7});
      for (int64_t i = 0; i < want.numel(); ++i) {
        store_from_double(want.data(), dt, i,
                          expected(k.name, c.inputs[0].get_double(i), k.alpha, k.beta));
      }
      auto runs = run_cpu_tactics(c);
      ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
      EXPECT_EQ(runs->size(), 2u);
      double tol = dt == DataType::kFloat32 ? 1e-5 : 1e-2;
      for (const auto& r : *runs) {
        EXPECT_TRUE(all_close(r.outputs[0], want, tol, tol))
            << k.name << " " << dtype_name(dt) << " " << r.tactic;
      }
    }
  }
}

// Defaults of the kinds added for ONNX ThresholdedRelu / Celu (alpha 1), and spec values.
TEST(Activation, NewKindsDefaultsAndHandValues) {
  struct Case {
    const char* kind;
    std::vector<double> x, y;
  };
  const Case cases[] = {
      {"thresholded_relu", {-2, 0.5, 1, 1.5, 3}, {0, 0, 0, 1.5, 3}},
      {"celu", {-1, 0, 2}, {std::exp(-1.0) - 1, 0, 2}},
      {"softsign", {-3, 0, 1}, {-0.75, 0, 0.5}},
      {"mish", {0, 1}, {0, std::tanh(std::log1p(std::exp(1.0)))}},
  };
  for (const Case& k : cases) {
    OpCase c;
    c.op = "Activation";
    c.attrs.set("type", std::string(k.kind));
    const Dims d{static_cast<int64_t>(k.x.size())};
    c.inputs.push_back(make_tensor(DataType::kFloat32, d, k.x));
    auto runs = run_cpu_tactics(c);
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    ASSERT_EQ(runs->size(), 2u);
    for (const auto& r : *runs) {
      EXPECT_TRUE(all_close(r.outputs[0], make_tensor(DataType::kFloat32, d, k.y), 1e-6, 1e-6))
          << k.kind << " " << r.tactic;
    }
  }
  // Mish of large inputs is the identity; of very negative ones it goes to 0 without NaN.
  OpCase c;
  c.op = "Activation";
  c.attrs.set("type", std::string("mish"));
  c.inputs.push_back(make_tensor(DataType::kFloat32, {2}, {50, -100}));
  auto runs = run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok());
  EXPECT_TRUE(
      all_close((*runs)[0].outputs[0], make_tensor(DataType::kFloat32, {2}, {50, 0}), 1e-6, 1e-6));
}

TEST(Activation, CeluRejectsZeroAlpha) {
  std::mt19937 rng(1);
  OpCase c;
  c.op = "Activation";
  c.attrs.set("type", std::string("celu"));
  c.attrs.set("alpha", 0.0);
  c.inputs.push_back(random_tensor(DataType::kFloat32, {2}, rng));
  auto g = make_graph(c);
  ASSERT_FALSE(g.is_ok());
  EXPECT_NE(g.status().to_string().find("alpha"), std::string::npos);
}

TEST(Activation, ZeroSizeAndScalar) {
  std::mt19937 rng(1);
  for (Dims d : {Dims{0, 4}, Dims{}}) {
    OpCase c;
    c.op = "Activation";
    c.attrs.set("type", std::string("relu"));
    c.inputs.push_back(random_tensor(DataType::kFloat32, d, rng));
    auto runs = run_cpu_tactics(c);
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    for (const auto& r : *runs) EXPECT_EQ(r.outputs[0].shape(), d);
  }
}

TEST(Activation, RejectsUnknownTypeAndIntegerInput) {
  std::mt19937 rng(1);
  OpCase c;
  c.op = "Activation";
  c.attrs.set("type", std::string("swishy"));
  c.inputs.push_back(random_tensor(DataType::kFloat32, {2}, rng));
  auto g = make_graph(c);
  ASSERT_FALSE(g.is_ok());
  EXPECT_NE(g.status().to_string().find("swishy"), std::string::npos);
  c.attrs.set("type", std::string("relu"));
  c.inputs[0] = random_tensor(DataType::kInt32, {2}, rng);
  EXPECT_FALSE(make_graph(c).is_ok());
}

}  // namespace
}  // namespace kiln::testing::activation_test
