// FloatClass (IsNaN / IsInf): both tactics on special values in every float dtype, the
// detect_positive / detect_negative flags, zero-size input and the errors.
#include "op_check_util.h"

#include <cmath>
#include <limits>

namespace kiln::testing::float_class_test {
namespace {

const std::vector<std::string> kTactics = {"FloatClass/cpu-ref/reference",
                                           "FloatClass/cpu-opt/threaded"};

OpCase fc_case(HostTensor x, const std::string& op, int pos = -1, int neg = -1) {
  OpCase c;
  c.op = "FloatClass";
  c.attrs.set("op", op);
  if (pos >= 0) c.attrs.set("detect_positive", int64_t{pos});
  if (neg >= 0) c.attrs.set("detect_negative", int64_t{neg});
  c.inputs = {std::move(x)};
  return c;
}

TEST(FloatClass, SpecialValuesEveryDtypeAndFlags) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> x = {-1.2, nan, inf, 2.8, -inf, inf, 0, -0.0, 1e30, -nan};
  ThreadPool pool(3);
  for (DataType dt : kFloatDtypes) {
    HostTensor xt = make_tensor(dt, {2, 5}, x);
    struct Case {
      std::string op;
      int pos, neg;
    };
    for (const Case& k : {Case{"isnan", -1, -1}, Case{"isinf", -1, -1}, Case{"isinf", 1, 0},
                          Case{"isinf", 0, 1}, Case{"isinf", 0, 0}}) {
      std::vector<double> want(x.size());
      for (size_t i = 0; i < x.size(); ++i) {
        // 1e30 overflows float16 to +inf.
        const double v = xt.get_double(static_cast<int64_t>(i));
        if (k.op == "isnan") {
          want[i] = std::isnan(v);
        } else {
          want[i] = (v == inf && k.pos != 0) || (v == -inf && k.neg != 0);
        }
      }
      check_tactics(fc_case(xt, k.op, k.pos, k.neg), make_tensor(DataType::kBool, {2, 5}, want), 0,
                    0, kTactics, k.op + " " + std::string(dtype_name(dt)), &pool);
    }
  }
  // Spec example of IsInf: [-1.2, nan, inf, 2.8, -inf, inf] -> [0, 0, 1, 0, 1, 1].
  check_tactics(
      fc_case(make_tensor(DataType::kFloat32, {6}, {-1.2, nan, inf, 2.8, -inf, inf}), "isinf"),
      make_tensor(DataType::kBool, {6}, {0, 0, 1, 0, 1, 1}), 0, 0, kTactics, "spec");
}

TEST(FloatClass, LargeThreadedAndZeroSize) {
  std::mt19937 rng(3);
  ThreadPool pool(4);
  HostTensor x = random_tensor(DataType::kFloat32, {70000}, rng);
  HostTensor want(DataType::kBool, {70000});
  for (int64_t i = 0; i < x.numel(); i += 7) {
    x.as<float>()[i] = std::numeric_limits<float>::quiet_NaN();
    want.as<uint8_t>()[i] = 1;
  }
  check_tactics(fc_case(x, "isnan"), want, 0, 0, kTactics, "large", &pool);
  check_tactics(fc_case(HostTensor(DataType::kFloat16, {3, 0}), "isinf"),
                HostTensor(DataType::kBool, {3, 0}), 0, 0, kTactics, "zero-size");
}

TEST(FloatClass, Errors) {
  std::mt19937 rng(1);
  HostTensor x = random_tensor(DataType::kFloat32, {3}, rng);
  EXPECT_NE(infer_message(fc_case(x, "isfinite")).find("'op' must be"), std::string::npos);
  EXPECT_NE(infer_message(fc_case(x, "")).find("'op' must be"), std::string::npos);
  EXPECT_NE(
      infer_message(fc_case(random_tensor(DataType::kInt32, {3}, rng), "isnan")).find("int32"),
      std::string::npos);
  OpCase two = fc_case(x, "isnan");
  two.inputs.push_back(x);
  EXPECT_NE(infer_message(two).find("expects 1 input"), std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::float_class_test
