// LayerNorm: every CPU tactic against a naive per-row computation written here; Scale/Bias
// broadcasting, optional Bias, the Mean/InvStdDev outputs, and the errors.
#include "common/op_harness.h"
#include "common/pool_runner.h"

#include <cmath>

namespace kiln::testing::layer_norm_test {
namespace {

constexpr DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

double tol_for(DataType dt) {
  return dt == DataType::kFloat32 ? 1e-5 : dt == DataType::kFloat16 ? 4e-3 : 2e-2;
}

OpCase ln_case(HostTensor x, HostTensor scale, HostTensor bias, int64_t axis, double eps = 1e-5,
               int num_outputs = 1) {
  OpCase c;
  c.op = "LayerNorm";
  c.attrs.set("axis", axis);
  c.attrs.set("epsilon", eps);
  c.inputs = {std::move(x), std::move(scale)};
  if (!bias.empty()) c.inputs.push_back(std::move(bias));
  c.num_outputs = num_outputs;
  return c;
}

// Parameter element for normalized-dims coordinate list `nc` (right-aligned broadcasting).
double param_at(const HostTensor& p, const std::vector<int64_t>& nc) {
  const Dims& pd = p.shape();
  int64_t off = 0;
  for (int i = 0; i < pd.rank(); ++i) {
    int64_t c = nc[nc.size() - pd.rank() + i];
    off = off * pd[i] + (pd[i] == 1 ? 0 : c);
  }
  return p.get_double(off);
}

struct Expected {
  HostTensor y, mean, inv_std;
};

Expected expected_ln(const HostTensor& x, const HostTensor& scale, const HostTensor& bias,
                     int64_t axis, double eps) {
  const Dims& d = x.shape();
  if (axis < 0) axis += d.rank();
  int64_t rows = 1, D = 1;
  std::vector<int64_t> stat_dims, norm_dims;
  for (int i = 0; i < d.rank(); ++i) {
    if (i < axis) {
      rows *= d[i];
      stat_dims.push_back(d[i]);
    } else {
      D *= d[i];
      stat_dims.push_back(1);
      norm_dims.push_back(d[i]);
    }
  }
  Expected e{HostTensor(x.dtype(), d),
             HostTensor(DataType::kFloat32, Dims(std::span<const int64_t>(stat_dims))),
             HostTensor(DataType::kFloat32, Dims(std::span<const int64_t>(stat_dims)))};
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < D; ++j) mean += x.get_double(r * D + j) / static_cast<double>(D);
    for (int64_t j = 0; j < D; ++j) {
      var += std::pow(x.get_double(r * D + j) - mean, 2) / static_cast<double>(D);
    }
    for (int64_t j = 0; j < D; ++j) {
      std::vector<int64_t> nc(norm_dims.size());
      int64_t rest = j;
      for (int i = static_cast<int>(norm_dims.size()) - 1; i >= 0; --i) {
        nc[i] = rest % norm_dims[i];
        rest /= norm_dims[i];
      }
      double s = param_at(scale, nc), b = bias.empty() ? 0.0 : param_at(bias, nc);
      double v = (x.get_double(r * D + j) - mean) / std::sqrt(var + eps) * s + b;
      store_from_double(e.y.data(), e.y.dtype(), r * D + j, v);
    }
    e.mean.as<float>()[r] = static_cast<float>(mean);
    e.inv_std.as<float>()[r] = static_cast<float>(1 / std::sqrt(var + eps));
  }
  return e;
}

void check(const OpCase& c, const Expected& want, double tol, const std::string& what,
           ThreadPool* pool = nullptr) {
  auto runs = pool ? run_cpu_tactics_threaded(c, pool) : run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(runs->size(), 2u) << what;
  EXPECT_EQ((*runs)[0].tactic, "LayerNorm/cpu-ref/reference");
  EXPECT_EQ((*runs)[1].tactic, "LayerNorm/cpu-opt/threaded");
  for (const auto& r : *runs) {
    EXPECT_TRUE(all_close(r.outputs[0], want.y, tol, tol)) << what << " " << r.tactic;
    if (c.num_outputs == 3) {
      EXPECT_TRUE(all_close(r.outputs[1], want.mean, 1e-5, 1e-5)) << what << " mean " << r.tactic;
      EXPECT_TRUE(all_close(r.outputs[2], want.inv_std, 1e-4, 1e-4))
          << what << " inv_std " << r.tactic;
    }
  }
}

TEST(LayerNorm, RandomShapesAxesParamShapesDtypes) {
  std::mt19937 rng(41);
  for (int iter = 0; iter < 60; ++iter) {
    DataType dt = kFloatTypes[iter % 3];
    int rank = 1 + static_cast<int>(rng() % 4);
    std::vector<int64_t> dims(rank);
    for (auto& v : dims) v = 1 + rng() % 6;
    int64_t axis = static_cast<int64_t>(rng() % (2 * rank)) - rank;
    int64_t a = axis < 0 ? axis + rank : axis;
    // Scale/Bias: a suffix of the normalized dims, some dims set to 1.
    std::vector<int64_t> pdims(dims.begin() + a + static_cast<int64_t>(rng() % (rank - a + 1)),
                               dims.end());
    for (auto& v : pdims) {
      if (rng() % 3 == 0) v = 1;
    }
    Dims pd{std::span<const int64_t>(pdims)};
    DataType pt = rng() % 2 ? dt : DataType::kFloat32;
    HostTensor x = random_tensor(dt, Dims(std::span<const int64_t>(dims)), rng, -3, 3);
    HostTensor scale = random_tensor(pt, pd, rng, 0.5, 2);
    HostTensor bias = rng() % 2 ? random_tensor(pt, pd, rng, -1, 1) : HostTensor();
    int outs = rng() % 2 ? 3 : 1;
    double eps = rng() % 2 ? 1e-5 : 1e-2;
    std::string what = x.shape().to_string() + " axis " + std::to_string(axis) + " scale " +
                       pd.to_string() + (bias.empty() ? " no bias " : " bias ") +
                       std::string(dtype_name(dt));
    check(ln_case(x, scale, bias, axis, eps, outs), expected_ln(x, scale, bias, axis, eps),
          tol_for(dt), what);
  }
}

TEST(LayerNorm, LongRowsAndConstantRows) {
  std::mt19937 rng(6);
  for (DataType dt : kFloatTypes) {
    HostTensor x = random_tensor(dt, {3, 1027}, rng, -2, 2);
    HostTensor s = random_tensor(dt, {1027}, rng, 0.5, 1.5), b = random_tensor(dt, {1027}, rng);
    check(ln_case(x, s, b, -1), expected_ln(x, s, b, -1, 1e-5), tol_for(dt), "long rows");
  }
  // A constant row has zero variance: y = bias.
  HostTensor x = make_tensor(DataType::kFloat32, {2, 3}, {5, 5, 5, -1, -1, -1});
  HostTensor s = make_tensor(DataType::kFloat32, {3}, {2, 2, 2});
  HostTensor b = make_tensor(DataType::kFloat32, {3}, {0.5, -0.5, 1});
  Expected want = expected_ln(x, s, b, 1, 1e-5);
  EXPECT_TRUE(all_close(
      want.y, make_tensor(DataType::kFloat32, {2, 3}, {0.5, -0.5, 1, 0.5, -0.5, 1}), 0, 0));
  check(ln_case(x, s, b, 1), want, 1e-6, "constant rows");
}

TEST(LayerNorm, ZeroSize) {
  std::mt19937 rng(2);
  for (auto [d, pd] : {std::pair{Dims{0, 4}, Dims{4}}, std::pair{Dims{3, 0}, Dims{0}}}) {
    auto runs =
        run_cpu_tactics(ln_case(random_tensor(DataType::kFloat32, d, rng),
                                random_tensor(DataType::kFloat32, pd, rng), HostTensor(), -1));
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    EXPECT_EQ(runs->size(), 2u);
    for (const auto& r : *runs) EXPECT_EQ(r.outputs[0].shape(), d);
  }
}

TEST(LayerNorm, Errors) {
  std::mt19937 rng(1);
  HostTensor x = random_tensor(DataType::kFloat32, {2, 3, 4}, rng);
  auto msg = [](const OpCase& c) {
    auto g = make_graph(c);
    return g.is_ok() ? std::string("OK") : g.status().to_string();
  };
  HostTensor s4 = random_tensor(DataType::kFloat32, {4}, rng);
  EXPECT_EQ(msg(ln_case(x, random_tensor(DataType::kFloat32, {3, 1}, rng), HostTensor(), 1)), "OK");
  std::string m = msg(ln_case(x, random_tensor(DataType::kFloat32, {5}, rng), HostTensor(), -1));
  EXPECT_NE(m.find("Scale shape [5] does not broadcast to the normalized shape [4]"),
            std::string::npos)
      << m;
  m = msg(ln_case(x, s4, random_tensor(DataType::kFloat32, {3}, rng), -1));
  EXPECT_NE(m.find("Bias shape [3]"), std::string::npos) << m;
  m = msg(ln_case(x, random_tensor(DataType::kFloat32, {2, 3, 4}, rng), HostTensor(), 1));
  EXPECT_NE(m.find("Scale shape [2,3,4]"), std::string::npos) << m;
  EXPECT_NE(msg(ln_case(x, s4, HostTensor(), 3)).find("axis 3 is out of range"), std::string::npos);
  EXPECT_NE(msg(ln_case(random_tensor(DataType::kInt32, {2, 4}, rng), s4, HostTensor(), -1))
                .find("int32"),
            std::string::npos);
  OpCase two_outputs = ln_case(x, s4, HostTensor(), -1);
  two_outputs.num_outputs = 2;
  EXPECT_NE(msg(two_outputs).find("expects 1 output"), std::string::npos);
  OpCase no_scale;
  no_scale.op = "LayerNorm";
  no_scale.inputs = {x};
  EXPECT_NE(msg(no_scale).find("Scale"), std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::layer_norm_test

namespace kiln::testing::layer_norm_test {
namespace {

TEST(LayerNorm, ThreadedChunks) {
  std::mt19937 rng(15);
  ThreadPool pool(4);
  HostTensor x = random_tensor(DataType::kFloat32, {500, 256}, rng, -3, 3);
  HostTensor s = random_tensor(DataType::kFloat32, {256}, rng, 0.5, 2);
  HostTensor b = random_tensor(DataType::kFloat32, {256}, rng);
  check(ln_case(x, s, b, -1, 1e-5, 3), expected_ln(x, s, b, -1, 1e-5), 1e-5, "threaded", &pool);
}

}  // namespace
}  // namespace kiln::testing::layer_norm_test

// The Residual input: LayerNorm(X + Residual), the sum taken in float.
namespace kiln::testing::layer_norm_test {
namespace {

TEST(LayerNorm, ResidualInput) {
  std::mt19937 rng(51);
  ThreadPool pool(3);
  for (DataType dt : kFloatTypes) {
    for (Dims d : {Dims{4, 8}, Dims{2, 3, 16}, Dims{3, 5000}}) {
      for (bool with_bias : {true, false}) {
        HostTensor x = random_tensor(dt, d, rng, -3, 3);
        HostTensor r = random_tensor(dt, d, rng, -3, 3);
        const int64_t D = d[d.rank() - 1];
        HostTensor scale = random_tensor(DataType::kFloat32, Dims{D}, rng, 0.5, 1.5);
        HostTensor bias = with_bias ? random_tensor(dt, Dims{D}, rng) : HostTensor();
        OpCase c = ln_case(x, scale, bias, -1, 1e-5, 3);
        if (!with_bias) c.inputs.push_back(HostTensor());  // absent Bias, then Residual
        c.inputs.push_back(r);
        // Expected: the float sum, normalized, rounded to dt.
        HostTensor sum(DataType::kFloat32, d);
        for (int64_t e = 0; e < sum.numel(); ++e) {
          sum.as<float>()[e] =
              static_cast<float>(x.get_double(e)) + static_cast<float>(r.get_double(e));
        }
        Expected want = expected_ln(sum, scale, bias, -1, 1e-5);
        HostTensor y(dt, d);
        for (int64_t e = 0; e < y.numel(); ++e) {
          store_from_double(y.data(), dt, e, want.y.get_double(e));
        }
        want.y = y;
        check(c, want, tol_for(dt),
              std::string(dtype_name(dt)) + " " + d.to_string() + (with_bias ? "" : " no bias"),
              &pool);
      }
    }
  }
}

TEST(LayerNorm, ResidualErrors) {
  std::mt19937 rng(52);
  auto message = [](const OpCase& c) {
    auto g = make_graph(c);
    return g.is_ok() ? std::string("OK") : g.status().to_string();
  };
  OpCase c = ln_case(random_tensor(DataType::kFloat32, {2, 4}, rng),
                     random_tensor(DataType::kFloat32, {4}, rng), HostTensor(), -1);
  c.inputs.push_back(HostTensor());
  c.inputs.push_back(random_tensor(DataType::kFloat16, {2, 4}, rng));
  EXPECT_NE(message(c).find("Residual dtype"), std::string::npos) << message(c);
  c.inputs[3] = random_tensor(DataType::kFloat32, {1, 4}, rng);  // no broadcasting
  EXPECT_NE(message(c).find("Residual shape"), std::string::npos) << message(c);
  c.inputs[3] = random_tensor(DataType::kFloat32, {2, 4}, rng);
  c.inputs.push_back(random_tensor(DataType::kFloat32, {2, 4}, rng));  // 5 inputs
  EXPECT_NE(message(c).find("expects inputs"), std::string::npos) << message(c);
}

}  // namespace
}  // namespace kiln::testing::layer_norm_test
