// PRelu: both tactics (serial and threaded) on random shapes with every slope broadcast pattern
// (scalar, per channel, trailing dims, full shape, leading 1s), float and integer dtypes, the ONNX
// spec example, zero-size and the errors.
#include "op_check_util.h"

namespace kiln::testing::prelu_test {
namespace {

const std::vector<std::string> kTactics = {"PRelu/cpu-ref/reference", "PRelu/cpu-opt/threaded"};

OpCase prelu_case(HostTensor x, HostTensor slope) {
  OpCase c;
  c.op = "PRelu";
  c.inputs = {std::move(x), std::move(slope)};
  return c;
}

HostTensor naive_prelu(const HostTensor& x, const HostTensor& s) {
  const Dims& xd = x.shape();
  const Dims& sd = s.shape();
  HostTensor y(x.dtype(), xd);
  for (int64_t i = 0; i < x.numel(); ++i) {
    // Unravel i over X, then ravel over slope with broadcast dims pinned to 0.
    std::vector<int64_t> idx(xd.rank());
    int64_t rem = i;
    for (int d = xd.rank() - 1; d >= 0; --d) {
      idx[d] = rem % xd[d];
      rem /= xd[d];
    }
    int64_t so = 0;
    for (int d = 0; d < sd.rank(); ++d) {
      so = so * sd[d] + (sd[d] == 1 ? 0 : idx[xd.rank() - sd.rank() + d]);
    }
    if (is_integer(x.dtype())) {
      const int64_t v = x.get_int(i);
      store_from_double(y.data(), y.dtype(), i, static_cast<double>(v < 0 ? v * s.get_int(so) : v));
    } else {
      const double v = x.get_double(i);
      store_from_double(y.data(), y.dtype(), i, v < 0 ? v * s.get_double(so) : v);
    }
  }
  return y;
}

TEST(PRelu, SpecExample) {
  // x = [[-1, 0, 2], [3, -4, 5]], slope broadcast per column.
  HostTensor x = make_tensor(DataType::kFloat32, {2, 3}, {-1, 0, 2, 3, -4, 5});
  HostTensor s = make_tensor(DataType::kFloat32, {3}, {0.5, 0.25, 2});
  check_tactics(prelu_case(x, s), make_tensor(DataType::kFloat32, {2, 3}, {-0.5, 0, 2, 3, -1, 5}),
                0, 0, kTactics, "spec");
}

TEST(PRelu, RandomBroadcastPatternsEveryDtype) {
  std::mt19937 rng(21);
  ThreadPool pool(3);
  const DataType dtypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                             DataType::kInt32, DataType::kInt64};
  for (int iter = 0; iter < 60; ++iter) {
    const DataType dt = dtypes[iter % 5];
    const int rank = 1 + static_cast<int>(rng() % 4);
    std::vector<int64_t> xd(rank);
    for (auto& v : xd) v = 1 + rng() % 6;
    // Slope: a suffix of X's dims, each kept or set to 1.
    const int srank = static_cast<int>(rng() % (rank + 1));
    std::vector<int64_t> sd(xd.end() - srank, xd.end());
    const int pattern = static_cast<int>(rng() % 3);
    for (size_t i = 0; i < sd.size(); ++i) {
      if (pattern == 1 && i != 0) sd[i] = 1;  // per "channel" like [C, 1, 1]
      if (pattern == 2 && rng() % 2) sd[i] = 1;
    }
    HostTensor x = random_tensor(dt, to_dims(xd), rng, -20, 20);
    HostTensor s = random_tensor(dt, to_dims(sd), rng, -3, 3);
    check_tactics(prelu_case(x, s), naive_prelu(x, s), float_tol(dt), float_tol(dt), kTactics,
                  x.shape().to_string() + " slope " + s.shape().to_string() + " " +
                      std::string(dtype_name(dt)),
                  &pool);
  }
  // Long rows and many chunks in the threaded path.
  HostTensor x = random_tensor(DataType::kFloat32, {2, 16, 33, 65}, rng, -1, 1);
  HostTensor s = random_tensor(DataType::kFloat32, {16, 1, 1}, rng, 0, 1);
  check_tactics(prelu_case(x, s), naive_prelu(x, s), 1e-6, 1e-6, kTactics, "large", &pool);
  HostTensor s2 = random_tensor(DataType::kFloat32, {33, 65}, rng, 0, 1);
  check_tactics(prelu_case(x, s2), naive_prelu(x, s2), 1e-6, 1e-6, kTactics, "large 2", &pool);
}

TEST(PRelu, ScalarAndZeroSize) {
  HostTensor x = make_tensor(DataType::kFloat32, {}, {-4});
  HostTensor s = make_tensor(DataType::kFloat32, {}, {0.25});
  check_tactics(prelu_case(x, s), make_tensor(DataType::kFloat32, {}, {-1}), 0, 0, kTactics,
                "scalar");
  check_tactics(prelu_case(HostTensor(DataType::kFloat32, {0, 3}),
                           make_tensor(DataType::kFloat32, {3}, {1, 2, 3})),
                HostTensor(DataType::kFloat32, {0, 3}), 0, 0, kTactics, "zero-size");
}

TEST(PRelu, Errors) {
  HostTensor x(DataType::kFloat32, {2, 3, 4});
  std::string m = infer_message(prelu_case(x, HostTensor(DataType::kFloat32, {3})));
  EXPECT_NE(m.find("slope [3] does not broadcast to X [2,3,4]"), std::string::npos) << m;
  m = infer_message(prelu_case(x, HostTensor(DataType::kFloat32, {1, 2, 3, 4})));
  EXPECT_NE(m.find("does not broadcast"), std::string::npos) << m;
  m = infer_message(prelu_case(x, HostTensor(DataType::kFloat16, {4})));
  EXPECT_NE(m.find("slope has dtype float16"), std::string::npos) << m;
  m = infer_message(
      prelu_case(HostTensor(DataType::kUInt8, {2}), HostTensor(DataType::kUInt8, {2})));
  EXPECT_NE(m.find("uint8"), std::string::npos) << m;
  OpCase one;
  one.op = "PRelu";
  one.inputs = {x};
  EXPECT_NE(infer_message(one).find("expects 2 inputs"), std::string::npos);
}

}  // namespace
}  // namespace kiln::testing::prelu_test
