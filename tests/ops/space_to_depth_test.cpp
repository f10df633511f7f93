// SpaceToDepth: the ONNX example, random cases (every dtype, block sizes 1-3) against the spec's
// reshape-transpose-reshape written as index maps, and errors.
#include "data_movement_util.h"

namespace kiln::testing::space_to_depth_test {
namespace {

OpCase s2d_case(const HostTensor& x, int64_t b) {
  OpCase c;
  c.op = "SpaceToDepth";
  c.attrs.set("blocksize", b);
  c.inputs = {x};
  return c;
}

// The spec: reshape to [N, C, H/b, b, W/b, b], transpose (0, 3, 5, 1, 2, 4).
HostTensor naive_s2d(const HostTensor& x, int64_t b) {
  const Dims& d = x.shape();
  const int64_t n = d[0], c = d[1], h = d[2] / b, w = d[3] / b;
  const Dims six{n, c, h, b, w, b};
  const int perm[] = {0, 3, 5, 1, 2, 4};
  std::vector<int64_t> td;
  for (int p : perm) td.push_back(six[p]);
  const Dims t = dims_of(td);
  HostTensor y(x.dtype(), {n, c * b * b, h, w});
  for (int64_t o = 0; o < y.numel(); ++o) {
    const auto ti = unravel(o, t);
    std::vector<int64_t> si(6);
    for (int k = 0; k < 6; ++k) si[perm[k]] = ti[k];
    copy_element(x, ravel(si, six), y, o);
  }
  return y;
}

TEST(SpaceToDepth, OnnxExample) {
  const HostTensor x = make_tensor(
      DataType::kFloat32, {1, 1, 4, 6},
      {0, 6, 1, 7, 2, 8, 12, 18, 13, 19, 14, 20, 3, 9, 4, 10, 5, 11, 15, 21, 16, 22, 17, 23});
  std::vector<double> iota(24);
  for (int i = 0; i < 24; ++i) iota[i] = i;
  const HostTensor want = make_tensor(DataType::kFloat32, {1, 4, 2, 3}, iota);
  EXPECT_TRUE(same(naive_s2d(x, 2), want));
  auto runs = run_cpu_tactics(s2d_case(x, 2));
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  EXPECT_TRUE(same((*runs)[0].outputs[0], want));
}

TEST(SpaceToDepth, RandomEveryDtype) {
  std::mt19937 rng(47);
  for (int iter = 0; iter < 100; ++iter) {
    const int64_t b = 1 + static_cast<int64_t>(rng() % 3);
    const int64_t n = rng() % 3, c = 1 + rng() % 3, h = rng() % 4, w = 1 + rng() % 3;
    const DataType dt = all_dtypes()[rng() % all_dtypes().size()];
    const HostTensor x = pattern_tensor(dt, {n, c, h * b, w * b}, rng);
    auto runs = run_cpu_tactics(s2d_case(x, b));
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"SpaceToDepth/cpu-ref/reference"});
    EXPECT_TRUE(same((*runs)[0].outputs[0], naive_s2d(x, b))) << "iter " << iter;
  }
}

TEST(SpaceToDepth, Errors) {
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  expect_error(s2d_case(HostTensor(DataType::kFloat32, {1, 1, 3, 4}), 2),
               "height 3 is not divisible by blocksize 2");
  expect_error(s2d_case(HostTensor(DataType::kFloat32, {1, 1, 4, 5}), 2),
               "width 5 is not divisible by blocksize 2");
  expect_error(s2d_case(HostTensor(DataType::kFloat32, {1, 1, 4, 4}), -1),
               "blocksize must be >= 1");
  expect_error(s2d_case(HostTensor(DataType::kFloat32, {1, 4, 4}), 2), "rank 4");
}

}  // namespace
}  // namespace kiln::testing::space_to_depth_test
