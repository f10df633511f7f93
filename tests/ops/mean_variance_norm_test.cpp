// MeanVarianceNormalization: both tactics against a naive per-group mean/std written here, the
// default axes [0, 2, 3], arbitrary axis sets (negative too), every float dtype, zero-size and
// the errors.
#include "op_check_util.h"

#include <cmath>

namespace kiln::testing::mean_variance_norm_test {
namespace {

const std::vector<std::string> kTactics = {"MeanVarianceNormalization/cpu-ref/reference",
                                           "MeanVarianceNormalization/cpu-opt/threaded"};

// No axes: the default [0, 2, 3].
OpCase mvn_case(HostTensor x, const std::vector<int64_t>* axes) {
  OpCase c;
  c.op = "MeanVarianceNormalization";
  if (axes != nullptr) c.attrs.set("axes", *axes);
  c.inputs = {std::move(x)};
  return c;
}

// Group key of flat index i: its coordinates with the normalized dims zeroed.
HostTensor naive_mvn(const HostTensor& x, std::vector<int64_t> axes) {
  const Dims& d = x.shape();
  std::vector<bool> red(d.rank(), false);
  for (int64_t a : axes) red[a < 0 ? a + d.rank() : a] = true;
  auto key = [&](int64_t i) {
    int64_t k = 0, rem = i, mul = 1;
    for (int dim = d.rank() - 1; dim >= 0; --dim) {
      const int64_t c = rem % d[dim];
      rem /= d[dim];
      if (!red[dim]) k += c * mul;
      mul *= d[dim];
    }
    return k;
  };
  std::vector<double> sum(x.numel() + 1, 0), sq(x.numel() + 1, 0), cnt(x.numel() + 1, 0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    sum[key(i)] += x.get_double(i);
    cnt[key(i)] += 1;
  }
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double m = sum[key(i)] / cnt[key(i)];
    sq[key(i)] += (x.get_double(i) - m) * (x.get_double(i) - m);
  }
  HostTensor y(x.dtype(), d);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t k = key(i);
    const double m = sum[k] / cnt[k], sd = std::sqrt(sq[k] / cnt[k]);
    store_from_double(y.data(), y.dtype(), i, (x.get_double(i) - m) / (sd + 1e-9));
  }
  return y;
}

TEST(MeanVarianceNormalization, DefaultAxesAndRandomAxisSets) {
  std::mt19937 rng(17);
  ThreadPool pool(3);
  HostTensor x4 = random_tensor(DataType::kFloat32, {3, 3, 3, 1}, rng, -5, 5);
  check_tactics(mvn_case(x4, nullptr), naive_mvn(x4, {0, 2, 3}), 1e-5, 1e-5, kTactics,
                "default axes");
  for (int iter = 0; iter < 45; ++iter) {
    const DataType dt = kFloatDtypes[iter % 3];
    const int rank = 1 + static_cast<int>(rng() % 5);
    std::vector<int64_t> d(rank);
    for (auto& v : d) v = 1 + rng() % 5;
    std::vector<int64_t> axes;
    for (int a = 0; a < rank; ++a) {
      if (rng() % 2) axes.push_back(rng() % 2 ? a : a - rank);
    }
    HostTensor x = random_tensor(dt, to_dims(d), rng, -3, 3);
    std::string what = x.shape().to_string() + " axes";
    for (int64_t a : axes) what += " " + std::to_string(a);
    // Half types: an output is (x - mean) / std, so its error is the input's rounding scaled.
    check_tactics(mvn_case(x, &axes), naive_mvn(x, axes), 4 * float_tol(dt), float_tol(dt),
                  kTactics, what, &pool);
  }
}

TEST(MeanVarianceNormalization, ConstantGroupAndZeroSize) {
  // A constant group gives 0 (the 1e-9 guards the division).
  HostTensor x = make_tensor(DataType::kFloat32, {2, 2}, {4, 4, 1, 3});
  const std::vector<int64_t> one = {1};
  check_tactics(mvn_case(x, &one), make_tensor(DataType::kFloat32, {2, 2}, {0, 0, -1, 1}), 1e-6,
                1e-6, kTactics, "hand");
  check_tactics(mvn_case(HostTensor(DataType::kFloat32, {2, 0, 3, 3}), nullptr),
                HostTensor(DataType::kFloat32, {2, 0, 3, 3}), 0, 0, kTactics, "zero-size");
}

TEST(MeanVarianceNormalization, Errors) {
  HostTensor x3(DataType::kFloat32, {2, 3, 4});
  std::string m = infer_message(mvn_case(x3, nullptr));
  EXPECT_NE(m.find("axes entry 3 is out of range for X of rank 3"), std::string::npos) << m;
  const std::vector<int64_t> repeat = {1, -2};
  m = infer_message(mvn_case(x3, &repeat));
  EXPECT_NE(m.find("axes repeat dim 1"), std::string::npos) << m;
  m = infer_message(mvn_case(HostTensor(DataType::kInt32, {2, 3, 4, 5}), nullptr));
  EXPECT_NE(m.find("int32"), std::string::npos) << m;
}

}  // namespace
}  // namespace kiln::testing::mean_variance_norm_test
