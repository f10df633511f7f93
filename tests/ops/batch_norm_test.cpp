// BatchNorm (inference): every CPU tactic against the formula applied per element here.
#include "common/op_harness.h"
#include "common/pool_runner.h"

#include <cmath>

namespace kiln::testing::batch_norm_test {
namespace {

constexpr DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

double tol_for(DataType dt) {
  return dt == DataType::kFloat32 ? 1e-5 : dt == DataType::kFloat16 ? 2e-3 : 1e-2;
}

struct Params {
  HostTensor scale, bias, mean, var;
};

Params random_params(DataType dt, int64_t C, std::mt19937& rng) {
  return {random_tensor(dt, {C}, rng, 0.5, 2), random_tensor(dt, {C}, rng, -1, 1),
          random_tensor(dt, {C}, rng, -1, 1), random_tensor(dt, {C}, rng, 0.1, 3)};
}

OpCase bn_case(HostTensor x, const Params& p, double eps = 1e-5) {
  OpCase c;
  c.op = "BatchNorm";
  c.attrs.set("epsilon", eps);
  c.inputs = {std::move(x), p.scale, p.bias, p.mean, p.var};
  return c;
}

HostTensor expected_bn(const HostTensor& x, const Params& p, double eps) {
  const Dims& d = x.shape();
  int64_t spatial = 1;
  for (int i = 2; i < d.rank(); ++i) spatial *= d[i];
  HostTensor y(x.dtype(), d);
  for (int64_t e = 0; e < x.numel(); ++e) {
    int64_t c = (e / spatial) % d[1];
    double v = p.scale.get_double(c) * (x.get_double(e) - p.mean.get_double(c)) /
                   std::sqrt(p.var.get_double(c) + eps) +
               p.bias.get_double(c);
    store_from_double(y.data(), y.dtype(), e, v);
  }
  return y;
}

void check(const OpCase& c, const HostTensor& want, double tol, const std::string& what,
           ThreadPool* pool = nullptr) {
  auto runs = pool ? run_cpu_tactics_threaded(c, pool) : run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(runs->size(), 2u) << what;
  EXPECT_EQ((*runs)[0].tactic, "BatchNorm/cpu-ref/reference");
  EXPECT_EQ((*runs)[1].tactic, "BatchNorm/cpu-opt/threaded");
  for (const auto& r : *runs) {
    EXPECT_TRUE(all_close(r.outputs[0], want, tol, tol)) << what << " " << r.tactic;
  }
}

TEST(BatchNorm, RandomShapesDtypes) {
  std::mt19937 rng(51);
  for (int iter = 0; iter < 40; ++iter) {
    DataType dt = kFloatTypes[iter % 3];
    DataType pt = iter % 2 ? dt : DataType::kFloat32;
    int rank = 2 + static_cast<int>(rng() % 4);
    std::vector<int64_t> dims(rank);
    for (auto& v : dims) v = 1 + rng() % 5;
    HostTensor x = random_tensor(dt, Dims(std::span<const int64_t>(dims)), rng, -3, 3);
    Params p = random_params(pt, dims[1], rng);
    double eps = iter % 4 == 0 ? 1e-2 : 1e-5;
    check(bn_case(x, p, eps), expected_bn(x, p, eps), tol_for(dt),
          x.shape().to_string() + " " + std::string(dtype_name(dt)));
  }
}

TEST(BatchNorm, HandValuesAndZeroSize) {
  // scale 2, bias 1, mean 3, var 4-eps: y = 2 * (x - 3) / 2 + 1 = x - 2.
  double eps = 1e-5;
  Params p{make_tensor(DataType::kFloat32, {1}, {2}), make_tensor(DataType::kFloat32, {1}, {1}),
           make_tensor(DataType::kFloat32, {1}, {3}),
           make_tensor(DataType::kFloat32, {1}, {4 - eps})};
  HostTensor x = make_tensor(DataType::kFloat32, {1, 1, 3}, {3, 5, -1});
  check(bn_case(x, p, eps), make_tensor(DataType::kFloat32, {1, 1, 3}, {1, 3, -3}), 1e-6, "hand");
  std::mt19937 rng(2);
  for (Dims d : {Dims{0, 3, 4}, Dims{2, 3, 0}, Dims{2, 3}}) {
    HostTensor z = random_tensor(DataType::kFloat32, d, rng);
    Params q = random_params(DataType::kFloat32, 3, rng);
    check(bn_case(z, q), expected_bn(z, q, 1e-5), 1e-5, d.to_string());
  }
}

TEST(BatchNorm, Errors) {
  std::mt19937 rng(1);
  auto msg = [](const OpCase& c) {
    auto g = make_graph(c);
    return g.is_ok() ? std::string("OK") : g.status().to_string();
  };
  HostTensor x = random_tensor(DataType::kFloat32, {2, 3, 4}, rng);
  Params p = random_params(DataType::kFloat32, 3, rng);
  EXPECT_EQ(msg(bn_case(x, p)), "OK");
  Params bad = p;
  bad.scale = random_tensor(DataType::kFloat32, {4}, rng);
  std::string m = msg(bn_case(x, bad));
  EXPECT_NE(m.find("scale must have shape [C] = [3], got [4]"), std::string::npos) << m;
  bad = p;
  bad.var = random_tensor(DataType::kFloat32, {3, 1}, rng);
  EXPECT_NE(msg(bn_case(x, bad)).find("var must have shape"), std::string::npos);
  bad = p;
  bad.mean = random_tensor(DataType::kInt32, {3}, rng);
  EXPECT_NE(msg(bn_case(x, bad)).find("mean must be a float tensor"), std::string::npos);
  EXPECT_NE(msg(bn_case(random_tensor(DataType::kFloat32, {3}, rng), p)).find("rank >= 2"),
            std::string::npos);
  EXPECT_NE(msg(bn_case(random_tensor(DataType::kInt64, {2, 3}, rng), p)).find("int64"),
            std::string::npos);
  OpCase four = bn_case(x, p);
  four.inputs.pop_back();
  EXPECT_NE(msg(four).find("expects 5 inputs"), std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::batch_norm_test

namespace kiln::testing::batch_norm_test {
namespace {

TEST(BatchNorm, ThreadedChunks) {
  std::mt19937 rng(16);
  ThreadPool pool(4);
  HostTensor x = random_tensor(DataType::kFloat32, {8, 16, 40, 40}, rng, -3, 3);
  Params p = random_params(DataType::kFloat32, 16, rng);
  check(bn_case(x, p), expected_bn(x, p, 1e-5), 1e-5, "threaded", &pool);
}

}  // namespace
}  // namespace kiln::testing::batch_norm_test
