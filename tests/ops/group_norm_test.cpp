// GroupNormalization: both tactics (serial and threaded) against naive per-group statistics,
// per-channel (opset 21) and per-group (opset 18) scale/bias, group counts from 1 to C, ranks 2
// to 5, every float dtype, mixed parameter dtypes, zero-size and the errors.
#include "op_check_util.h"

#include <cmath>

namespace kiln::testing::group_norm_test {
namespace {

const std::vector<std::string> kTactics = {"GroupNormalization/cpu-ref/reference",
                                           "GroupNormalization/cpu-opt/threaded"};

OpCase gn_case(HostTensor x, HostTensor scale, HostTensor bias, int64_t groups,
               std::optional<double> eps = std::nullopt, bool per_group = false) {
  OpCase c;
  c.op = "GroupNormalization";
  c.attrs.set("num_groups", groups);
  if (eps) c.attrs.set("epsilon", *eps);
  if (per_group) c.attrs.set("per_group_affine", int64_t{1});
  c.inputs = {std::move(x), std::move(scale), std::move(bias)};
  return c;
}

HostTensor naive_gn(const HostTensor& x, const HostTensor& scale, const HostTensor& bias,
                    int64_t groups, double eps, bool per_group) {
  const Dims& d = x.shape();
  const int64_t N = d[0], C = d[1], cg = C / groups;
  int64_t S = 1;
  for (int i = 2; i < d.rank(); ++i) S *= d[i];
  HostTensor y(x.dtype(), d);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t g = 0; g < groups; ++g) {
      double mean = 0, var = 0;
      const int64_t cnt = cg * S;
      for (int64_t c = g * cg; c < (g + 1) * cg; ++c) {
        for (int64_t s = 0; s < S; ++s) mean += x.get_double((n * C + c) * S + s);
      }
      mean /= static_cast<double>(cnt);
      for (int64_t c = g * cg; c < (g + 1) * cg; ++c) {
        for (int64_t s = 0; s < S; ++s)
          var += std::pow(x.get_double((n * C + c) * S + s) - mean, 2);
      }
      var /= static_cast<double>(cnt);
      for (int64_t c = g * cg; c < (g + 1) * cg; ++c) {
        const int64_t pi = per_group ? g : c;
        for (int64_t s = 0; s < S; ++s) {
          const int64_t at = (n * C + c) * S + s;
          store_from_double(
              y.data(), y.dtype(), at,
              (x.get_double(at) - mean) / std::sqrt(var + eps) * scale.get_double(pi) +
                  bias.get_double(pi));
        }
      }
    }
  }
  return y;
}

TEST(GroupNormalization, RandomShapesGroupsDtypes) {
  std::mt19937 rng(101);
  ThreadPool pool(3);
  for (int iter = 0; iter < 48; ++iter) {
    const DataType dt = kFloatDtypes[iter % 3];
    const int rank = 2 + static_cast<int>(rng() % 4);
    std::vector<int64_t> d(rank);
    for (auto& v : d) v = 1 + rng() % 5;
    const int64_t groups = 1 + static_cast<int64_t>(rng() % 4);
    d[1] = groups * (1 + static_cast<int64_t>(rng() % 3));
    const bool per_group = rng() % 3 == 0;
    const int64_t plen = per_group ? groups : d[1];
    const DataType pt = rng() % 2 ? dt : DataType::kFloat32;
    HostTensor x = random_tensor(dt, to_dims(d), rng, -3, 3);
    HostTensor scale = random_tensor(pt, {plen}, rng, 0.5, 2);
    HostTensor bias = random_tensor(pt, {plen}, rng, -1, 1);
    const double eps = rng() % 2 ? 1e-5 : 1e-2;
    check_tactics(gn_case(x, scale, bias, groups, eps, per_group),
                  naive_gn(x, scale, bias, groups, eps, per_group), float_tol(dt), float_tol(dt),
                  kTactics,
                  x.shape().to_string() + " groups " + std::to_string(groups) +
                      (per_group ? " per group " : " per channel ") + std::string(dtype_name(dt)),
                  &pool);
  }
  // Default epsilon, long groups (lane loops and their tails), many groups in parallel.
  HostTensor x = random_tensor(DataType::kFloat32, {3, 32, 17, 9}, rng, -2, 2);
  HostTensor s = random_tensor(DataType::kFloat32, {32}, rng, 0.5, 1.5);
  HostTensor b = random_tensor(DataType::kFloat32, {32}, rng);
  check_tactics(gn_case(x, s, b, 8), naive_gn(x, s, b, 8, 1e-5, false), 1e-5, 1e-5, kTactics,
                "long", &pool);
}

TEST(GroupNormalization, HandValues) {
  // One group of [1, 3] and [5, 7] per image: mean 4, var 5 over the whole group.
  HostTensor x = make_tensor(DataType::kFloat32, {1, 2, 2}, {1, 3, 5, 7});
  HostTensor s = make_tensor(DataType::kFloat32, {2}, {1, 2});
  HostTensor b = make_tensor(DataType::kFloat32, {2}, {0, 10});
  const double k = 1 / std::sqrt(5.0);
  check_tactics(gn_case(x, s, b, 1, 0.0),
                make_tensor(DataType::kFloat32, {1, 2, 2}, {-3 * k, -k, 10 + 2 * k, 10 + 6 * k}),
                1e-6, 1e-6, kTactics, "one group");
  // Two groups (one channel each): each channel normalized alone, mean 2 / 6, var 1.
  check_tactics(gn_case(x, s, b, 2, 0.0),
                make_tensor(DataType::kFloat32, {1, 2, 2}, {-1, 1, 8, 12}), 1e-6, 1e-6, kTactics,
                "two groups");
}

TEST(GroupNormalization, ZeroSize) {
  HostTensor s = make_tensor(DataType::kFloat32, {4}, {1, 1, 1, 1});
  check_tactics(gn_case(HostTensor(DataType::kFloat32, {0, 4, 3}), s, s, 2),
                HostTensor(DataType::kFloat32, {0, 4, 3}), 0, 0, kTactics, "zero batch");
}

TEST(GroupNormalization, Errors) {
  HostTensor x(DataType::kFloat32, {2, 6, 3});
  HostTensor p6(DataType::kFloat32, {6}), p3(DataType::kFloat32, {3});
  EXPECT_EQ(infer_message(gn_case(x, p6, p6, 3)), "OK");
  EXPECT_EQ(infer_message(gn_case(x, p3, p3, 3, std::nullopt, true)), "OK");
  std::string m = infer_message(gn_case(x, p6, p6, 4));
  EXPECT_NE(m.find("channels 6 are not divisible by num_groups 4"), std::string::npos) << m;
  m = infer_message(gn_case(x, p3, p6, 3));
  EXPECT_NE(m.find("scale must have shape [C] = [6], got [3]"), std::string::npos) << m;
  m = infer_message(gn_case(x, p3, p6, 3, std::nullopt, true));
  EXPECT_NE(m.find("bias must have shape [num_groups] = [3], got [6]"), std::string::npos) << m;
  m = infer_message(gn_case(x, p6, p6, 0));
  EXPECT_NE(m.find("'num_groups' must be >= 1"), std::string::npos) << m;
  OpCase no_groups = gn_case(x, p6, p6, 3);
  no_groups.attrs.erase("num_groups");
  EXPECT_NE(infer_message(no_groups).find("'num_groups' is required"), std::string::npos);
  m = infer_message(gn_case(x, p6, p6, 3, -1.0));
  EXPECT_NE(m.find("epsilon must be >= 0"), std::string::npos) << m;
  m = infer_message(gn_case(HostTensor(DataType::kInt32, {2, 6}), p6, p6, 3));
  EXPECT_NE(m.find("int32"), std::string::npos) << m;
  m = infer_message(gn_case(x, HostTensor(DataType::kInt64, {6}), p6, 3));
  EXPECT_NE(m.find("scale must be a float tensor"), std::string::npos) << m;
  m = infer_message(gn_case(HostTensor(DataType::kFloat32, {6}), p6, p6, 3));
  EXPECT_NE(m.find("rank >= 2"), std::string::npos) << m;
}

}  // namespace
}  // namespace kiln::testing::group_norm_test
