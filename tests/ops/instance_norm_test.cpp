// InstanceNorm: every CPU tactic against a naive per-(n, c) computation written here.
#include "common/op_harness.h"
#include "common/pool_runner.h"

#include <cmath>

namespace kiln::testing::instance_norm_test {
namespace {

constexpr DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

double tol_for(DataType dt) {
  return dt == DataType::kFloat32 ? 1e-5 : dt == DataType::kFloat16 ? 4e-3 : 2e-2;
}

OpCase in_case(HostTensor x, HostTensor scale, HostTensor bias, double eps = 1e-5) {
  OpCase c;
  c.op = "InstanceNorm";
  c.attrs.set("epsilon", eps);
  c.inputs = {std::move(x), std::move(scale), std::move(bias)};
  return c;
}

HostTensor expected_in(const HostTensor& x, const HostTensor& scale, const HostTensor& bias,
                       double eps) {
  const Dims& d = x.shape();
  int64_t spatial = 1;
  for (int i = 2; i < d.rank(); ++i) spatial *= d[i];
  HostTensor y(x.dtype(), d);
  for (int64_t n = 0; n < d[0]; ++n) {
    for (int64_t c = 0; c < d[1]; ++c) {
      std::vector<double> v;
      for (int64_t s = 0; s < spatial; ++s) v.push_back(x.get_double((n * d[1] + c) * spatial + s));
      double mean = 0, var = 0;
      for (double a : v) mean += a;
      mean /= static_cast<double>(v.size());
      for (double a : v) var += (a - mean) * (a - mean);
      var /= static_cast<double>(v.size());
      for (int64_t s = 0; s < spatial; ++s) {
        double out =
            (v[s] - mean) / std::sqrt(var + eps) * scale.get_double(c) + bias.get_double(c);
        store_from_double(y.data(), y.dtype(), (n * d[1] + c) * spatial + s, out);
      }
    }
  }
  return y;
}

void check(const OpCase& c, const HostTensor& want, double tol, const std::string& what,
           ThreadPool* pool = nullptr) {
  auto runs = pool ? run_cpu_tactics_threaded(c, pool) : run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(runs->size(), 2u) << what;
  EXPECT_EQ((*runs)[0].tactic, "InstanceNorm/cpu-ref/reference");
  EXPECT_EQ((*runs)[1].tactic, "InstanceNorm/cpu-opt/threaded");
  for (const auto& r : *runs) {
    EXPECT_TRUE(all_close(r.outputs[0], want, tol, tol)) << what << " " << r.tactic;
  }
}

TEST(InstanceNorm, RandomShapesDtypes) {
  std::mt19937 rng(61);
  for (int iter = 0; iter < 40; ++iter) {
    DataType dt = kFloatTypes[iter % 3];
    DataType pt = iter % 2 ? dt : DataType::kFloat32;
    int rank = 2 + static_cast<int>(rng() % 4);
    std::vector<int64_t> dims(rank);
    for (auto& v : dims) v = 1 + rng() % 6;
    HostTensor x = random_tensor(dt, Dims(std::span<const int64_t>(dims)), rng, -3, 3);
    HostTensor s = random_tensor(pt, {dims[1]}, rng, 0.5, 2);
    HostTensor b = random_tensor(pt, {dims[1]}, rng, -1, 1);
    double eps = iter % 4 == 0 ? 1e-2 : 1e-5;
    check(in_case(x, s, b, eps), expected_in(x, s, b, eps), tol_for(dt),
          x.shape().to_string() + " " + std::string(dtype_name(dt)));
  }
}

TEST(InstanceNorm, LargePlanesSizeOneAndZeroSize) {
  std::mt19937 rng(7);
  for (DataType dt : kFloatTypes) {
    HostTensor x = random_tensor(dt, {2, 3, 17, 31}, rng, -2, 2);
    HostTensor s = random_tensor(dt, {3}, rng, 0.5, 2), b = random_tensor(dt, {3}, rng);
    check(in_case(x, s, b), expected_in(x, s, b, 1e-5), tol_for(dt), "large");
  }
  // One element per instance: zero variance, y = bias.
  HostTensor x = random_tensor(DataType::kFloat32, {2, 3, 1}, rng);
  HostTensor s = random_tensor(DataType::kFloat32, {3}, rng);
  HostTensor b = make_tensor(DataType::kFloat32, {3}, {0.25, -1, 2});
  check(in_case(x, s, b), make_tensor(DataType::kFloat32, {2, 3, 1}, {0.25, -1, 2, 0.25, -1, 2}),
        1e-6, "size 1");
  for (Dims d : {Dims{0, 3, 4}, Dims{2, 3, 0}}) {
    HostTensor z = random_tensor(DataType::kFloat32, d, rng);
    check(in_case(z, s, b), HostTensor(DataType::kFloat32, d), 0, d.to_string());
  }
}

TEST(InstanceNorm, Errors) {
  std::mt19937 rng(1);
  auto msg = [](const OpCase& c) {
    auto g = make_graph(c);
    return g.is_ok() ? std::string("OK") : g.status().to_string();
  };
  HostTensor x = random_tensor(DataType::kFloat32, {2, 3, 4}, rng);
  HostTensor s3 = random_tensor(DataType::kFloat32, {3}, rng);
  EXPECT_EQ(msg(in_case(x, s3, s3)), "OK");
  std::string m = msg(in_case(x, random_tensor(DataType::kFloat32, {2}, rng), s3));
  EXPECT_NE(m.find("scale must have shape [C] = [3], got [2]"), std::string::npos) << m;
  m = msg(in_case(x, s3, random_tensor(DataType::kFloat32, {1, 3}, rng)));
  EXPECT_NE(m.find("bias must have shape"), std::string::npos) << m;
  EXPECT_NE(msg(in_case(random_tensor(DataType::kFloat32, {3}, rng), s3, s3)).find("rank >= 2"),
            std::string::npos);
  EXPECT_NE(msg(in_case(random_tensor(DataType::kInt8, {2, 3, 4}, rng), s3, s3)).find("int8"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::instance_norm_test

namespace kiln::testing::instance_norm_test {
namespace {

TEST(InstanceNorm, ThreadedChunks) {
  std::mt19937 rng(17);
  ThreadPool pool(4);
  HostTensor x = random_tensor(DataType::kFloat32, {4, 32, 30, 30}, rng, -3, 3);
  HostTensor s = random_tensor(DataType::kFloat32, {32}, rng, 0.5, 2);
  HostTensor b = random_tensor(DataType::kFloat32, {32}, rng);
  check(in_case(x, s, b), expected_in(x, s, b, 1e-5), 1e-5, "threaded", &pool);
}

}  // namespace
}  // namespace kiln::testing::instance_norm_test
