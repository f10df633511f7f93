// Shrink: the ONNX spec examples (hard and soft shrink), random floats in every float dtype,
// integer dtypes, defaults, zero-size and the errors.
#include "op_check_util.h"

#include <cmath>

namespace kiln::testing::shrink_test {
namespace {

const std::vector<std::string> kTactics = {"Shrink/cpu-ref/reference", "Shrink/cpu-opt/threaded"};

OpCase shrink_case(HostTensor x, std::optional<double> lambd, std::optional<double> bias) {
  OpCase c;
  c.op = "Shrink";
  if (lambd) c.attrs.set("lambd", *lambd);
  if (bias) c.attrs.set("bias", *bias);
  c.inputs = {std::move(x)};
  return c;
}

double shrink(double x, double lambd, double bias) {
  if (x < -lambd) return x + bias;
  if (x > lambd) return x - bias;
  return 0;
}

TEST(Shrink, SpecExamples) {
  HostTensor x = make_tensor(DataType::kFloat32, {5}, {-2, -1, 0, 1, 2});
  check_tactics(shrink_case(x, 1.5, std::nullopt),
                make_tensor(DataType::kFloat32, {5}, {-2, 0, 0, 0, 2}), 0, 0, kTactics, "hard");
  check_tactics(shrink_case(x, 1.5, 1.5),
                make_tensor(DataType::kFloat32, {5}, {-0.5, 0, 0, 0, 0.5}), 0, 0, kTactics, "soft");
  // Defaults: lambd 0.5, bias 0.
  check_tactics(shrink_case(make_tensor(DataType::kFloat32, {4}, {-0.6, -0.5, 0.5, 0.7}),
                            std::nullopt, std::nullopt),
                make_tensor(DataType::kFloat32, {4}, {-0.6, 0, 0, 0.7}), 0, 0, kTactics,
                "defaults");
}

TEST(Shrink, RandomEveryDtype) {
  std::mt19937 rng(12);
  ThreadPool pool(3);
  for (DataType dt : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kInt8,
                      DataType::kUInt8, DataType::kInt32, DataType::kInt64}) {
    const bool is_int = is_integer(dt);
    const double lo = dt == DataType::kUInt8 ? 0 : -50, hi = 50;
    HostTensor x = random_tensor(dt, {3, 7, 11}, rng, lo, hi);
    const double lambd = is_int ? 10 : 20.5, bias = is_int ? 3.7 : 1.25;
    HostTensor want(dt, x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
      double v = shrink(x.get_double(i), lambd, bias);
      if (is_int) v = std::trunc(v);
      store_from_double(want.data(), dt, i, v);
    }
    check_tactics(shrink_case(x, lambd, bias), want, is_int ? 0 : float_tol(dt), float_tol(dt),
                  kTactics, std::string(dtype_name(dt)), &pool);
  }
  // int64 beyond float precision keeps every bit.
  HostTensor big = make_tensor(DataType::kInt64, {2}, {0, 0});
  big.as<int64_t>()[0] = (int64_t{1} << 40) + 3;
  big.as<int64_t>()[1] = -((int64_t{1} << 40) + 5);
  HostTensor want(DataType::kInt64, {2});
  want.as<int64_t>()[0] = (int64_t{1} << 40) + 1;
  want.as<int64_t>()[1] = -((int64_t{1} << 40) + 3);
  check_tactics(shrink_case(big, 1.0, 2.0), want, 0, 0, kTactics, "int64 exact");
}

TEST(Shrink, ZeroSizeAndErrors) {
  check_tactics(shrink_case(HostTensor(DataType::kFloat32, {0, 3}), 1.0, 0.0),
                HostTensor(DataType::kFloat32, {0, 3}), 0, 0, kTactics, "zero-size");
  EXPECT_NE(infer_message(shrink_case(HostTensor(DataType::kBool, {2}), 1.0, 0.0)).find("bool"),
            std::string::npos);
  EXPECT_NE(
      infer_message(shrink_case(HostTensor(DataType::kFloat32, {2}), NAN, 0.0)).find("finite"),
      std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::shrink_test
