// LRN: both tactics against the spec formula written here (double), odd and even sizes, sizes
// larger than C, ranks 2 to 5, every float dtype, zero-size and the errors.
#include "op_check_util.h"

#include <cmath>

namespace kiln::testing::lrn_test {
namespace {

const std::vector<std::string> kTactics = {"LRN/cpu-ref/reference", "LRN/cpu-opt/threaded"};

struct LrnAttrs {
  int64_t size = 3;
  double alpha = 1e-4, beta = 0.75, bias = 1.0;
};

OpCase lrn_case(HostTensor x, const LrnAttrs& a, bool defaults = false) {
  OpCase c;
  c.op = "LRN";
  c.attrs.set("size", a.size);
  if (!defaults) {
    c.attrs.set("alpha", a.alpha);
    c.attrs.set("beta", a.beta);
    c.attrs.set("bias", a.bias);
  }
  c.inputs = {std::move(x)};
  return c;
}

HostTensor naive_lrn(const HostTensor& x, const LrnAttrs& a) {
  const Dims& d = x.shape();
  const int64_t N = d[0], C = d[1];
  int64_t S = 1;
  for (int i = 2; i < d.rank(); ++i) S *= d[i];
  HostTensor y(x.dtype(), d);
  const int64_t before = (a.size - 1) / 2;  // floor((size-1)/2)
  const int64_t after = a.size / 2;         // ceil((size-1)/2)
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t s = 0; s < S; ++s) {
        double sq = 0;
        for (int64_t i = std::max<int64_t>(0, c - before); i <= std::min(C - 1, c + after); ++i) {
          sq += std::pow(x.get_double((n * C + i) * S + s), 2);
        }
        const int64_t at = (n * C + c) * S + s;
        store_from_double(
            y.data(), y.dtype(), at,
            x.get_double(at) /
                std::pow(a.bias + a.alpha / static_cast<double>(a.size) * sq, a.beta));
      }
    }
  }
  return y;
}

TEST(LRN, RandomSizesRanksDtypes) {
  std::mt19937 rng(31);
  ThreadPool pool(3);
  for (int iter = 0; iter < 36; ++iter) {
    const DataType dt = kFloatDtypes[iter % 3];
    const int rank = 2 + static_cast<int>(rng() % 4);
    std::vector<int64_t> d(rank);
    for (auto& v : d) v = 1 + rng() % 5;
    d[1] = 1 + rng() % 8;
    LrnAttrs a;
    a.size = 1 + static_cast<int64_t>(rng() % 6);  // odd and even, sometimes > C
    a.alpha = 0.5 + (rng() % 10) / 10.0;
    a.beta = 0.5 + (rng() % 5) / 10.0;
    a.bias = 1 + (rng() % 3);
    HostTensor x = random_tensor(dt, to_dims(d), rng, -2, 2);
    check_tactics(lrn_case(x, a), naive_lrn(x, a), float_tol(dt), float_tol(dt), kTactics,
                  x.shape().to_string() + " size " + std::to_string(a.size), &pool);
  }
  // Defaults: alpha 1e-4, beta 0.75, bias 1 (ONNX spec example shape with size 3).
  HostTensor x = random_tensor(DataType::kFloat32, {5, 5, 5, 5}, rng, -10, 10);
  LrnAttrs def;
  check_tactics(lrn_case(x, def, true), naive_lrn(x, def), 1e-5, 1e-5, kTactics, "defaults");
  // A plane longer than the threaded kernel's row tile.
  HostTensor big = random_tensor(DataType::kFloat32, {1, 6, 40, 41}, rng);
  LrnAttrs a5;
  a5.size = 5;
  a5.alpha = 2;
  check_tactics(lrn_case(big, a5), naive_lrn(big, a5), 1e-5, 1e-5, kTactics, "big", &pool);
}

TEST(LRN, ZeroSizeAndErrors) {
  LrnAttrs a;
  check_tactics(lrn_case(HostTensor(DataType::kFloat32, {0, 3, 2}), a),
                HostTensor(DataType::kFloat32, {0, 3, 2}), 0, 0, kTactics, "zero-size");
  HostTensor x(DataType::kFloat32, {1, 3, 2, 2});
  OpCase no_size;
  no_size.op = "LRN";
  no_size.inputs = {x};
  EXPECT_NE(infer_message(no_size).find("'size' is required"), std::string::npos);
  a.size = 0;
  EXPECT_NE(infer_message(lrn_case(x, a)).find("'size' must be >= 1, got 0"), std::string::npos);
  a.size = 3;
  EXPECT_NE(infer_message(lrn_case(HostTensor(DataType::kFloat32, {3}), a)).find("rank >= 2"),
            std::string::npos);
  EXPECT_NE(infer_message(lrn_case(HostTensor(DataType::kInt32, {1, 3, 2}), a)).find("int32"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::lrn_test
