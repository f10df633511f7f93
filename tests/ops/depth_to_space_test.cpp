// DepthToSpace: the ONNX examples (DCR and CRD), random cases (every dtype, block sizes 1-3)
// against the spec's reshape-transpose-reshape written as index maps, SpaceToDepth round trips,
// symbolic extents, and errors.
#include "data_movement_util.h"

namespace kiln::testing::depth_to_space_test {
namespace {

OpCase d2s_case(const HostTensor& x, int64_t b, const std::string& mode) {
  OpCase c;
  c.op = "DepthToSpace";
  c.attrs.set("blocksize", b);
  if (!mode.empty()) c.attrs.set("mode", mode);
  c.inputs = {x};
  return c;
}

// The spec: DCR reshapes to [N, b, b, C/b^2, H, W] and transposes (0, 3, 4, 1, 5, 2); CRD
// reshapes to [N, C/b^2, b, b, H, W] and transposes (0, 1, 4, 2, 5, 3).
HostTensor naive_d2s(const HostTensor& x, int64_t b, bool crd) {
  const Dims& d = x.shape();
  const int64_t n = d[0], c = d[1] / (b * b), h = d[2], w = d[3];
  const Dims six = crd ? Dims{n, c, b, b, h, w} : Dims{n, b, b, c, h, w};
  const std::vector<int> perm =
      crd ? std::vector<int>{0, 1, 4, 2, 5, 3} : std::vector<int>{0, 3, 4, 1, 5, 2};
  std::vector<int64_t> td;
  for (int p : perm) td.push_back(six[p]);
  const Dims t = dims_of(td);
  HostTensor y(x.dtype(), {n, c, h * b, w * b});
  // The transposed tensor's row-major order is the output's.
  for (int64_t o = 0; o < y.numel(); ++o) {
    const auto ti = unravel(o, t);
    std::vector<int64_t> si(6);
    for (int k = 0; k < 6; ++k) si[perm[k]] = ti[k];
    copy_element(x, ravel(si, six), y, o);
  }
  return y;
}

void check(const HostTensor& x, int64_t b, const std::string& mode, const std::string& what) {
  auto runs = run_cpu_tactics(d2s_case(x, b, mode));
  ASSERT_TRUE(runs.is_ok()) << what << ": " << runs.status().to_string();
  ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"DepthToSpace/cpu-ref/reference"});
  EXPECT_TRUE(same((*runs)[0].outputs[0], naive_d2s(x, b, mode == "CRD"))) << what;
}

const std::vector<double> kExampleInput = {
    0,  1,  2,  3,  4,  5,  9,  10, 11, 12, 13, 14, 18, 19, 20, 21, 22, 23, 27, 28, 29, 30, 31, 32,
    36, 37, 38, 39, 40, 41, 45, 46, 47, 48, 49, 50, 54, 55, 56, 57, 58, 59, 63, 64, 65, 66, 67, 68};

TEST(DepthToSpace, OnnxExamples) {
  const HostTensor x = make_tensor(DataType::kFloat32, {1, 8, 2, 3}, kExampleInput);
  auto run = [&](const std::string& mode) {
    auto runs = run_cpu_tactics(d2s_case(x, 2, mode));
    EXPECT_TRUE(runs.is_ok()) << runs.status().to_string();
    return runs.is_ok() ? (*runs)[0].outputs[0] : HostTensor();
  };
  const HostTensor dcr =
      make_tensor(DataType::kFloat32, {1, 2, 4, 6},
                  {0,  18, 1,  19, 2,  20, 36, 54, 37, 55, 38, 56, 3,  21, 4,  22,
                   5,  23, 39, 57, 40, 58, 41, 59, 9,  27, 10, 28, 11, 29, 45, 63,
                   46, 64, 47, 65, 12, 30, 13, 31, 14, 32, 48, 66, 49, 67, 50, 68});
  const HostTensor crd =
      make_tensor(DataType::kFloat32, {1, 2, 4, 6},
                  {0,  9,  1,  10, 2,  11, 18, 27, 19, 28, 20, 29, 3,  12, 4,  13,
                   5,  14, 21, 30, 22, 31, 23, 32, 36, 45, 37, 46, 38, 47, 54, 63,
                   55, 64, 56, 65, 39, 48, 40, 49, 41, 50, 57, 66, 58, 67, 59, 68});
  EXPECT_TRUE(same(run(""), dcr));
  EXPECT_TRUE(same(run("DCR"), dcr));
  EXPECT_TRUE(same(run("CRD"), crd));
  EXPECT_TRUE(same(naive_d2s(x, 2, false), dcr));
  EXPECT_TRUE(same(naive_d2s(x, 2, true), crd));
}

TEST(DepthToSpace, RandomEveryDtype) {
  std::mt19937 rng(43);
  for (int iter = 0; iter < 100; ++iter) {
    const int64_t b = 1 + static_cast<int64_t>(rng() % 3);
    const int64_t n = rng() % 3, c = 1 + rng() % 3, h = rng() % 4, w = 1 + rng() % 4;
    const DataType dt = all_dtypes()[rng() % all_dtypes().size()];
    const HostTensor x = pattern_tensor(dt, {n, c * b * b, h, w}, rng);
    check(x, b, rng() % 2 ? "DCR" : "CRD",
          "iter " + std::to_string(iter) + " " + x.shape().to_string());
  }
}

TEST(DepthToSpace, InverseOfSpaceToDepthAndSymbolic) {
  // SpaceToDepth then DepthToSpace (DCR) is the identity, on dynamic H and W.
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat16, Dims{-1, 3, -1, -1});
  ir::Attrs a;
  a.set("blocksize", int64_t{2});
  int s = g.node(g.add_node("SpaceToDepth", "s", {x}, 1, a)).outputs[0];
  int y = g.node(g.add_node("DepthToSpace", "d", {s}, 1, a)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok()) << g.infer_shapes().to_string();
  const std::vector<int64_t> sym = {2, 4, 6};
  EXPECT_EQ(*ir::eval_shape(g.value(s).shape, sym), (std::vector<int64_t>{2, 12, 2, 3}));
  EXPECT_EQ(*ir::eval_shape(g.value(y).shape, sym), (std::vector<int64_t>{2, 3, 4, 6}));
  std::mt19937 rng(6);
  const HostTensor xv = pattern_tensor(DataType::kFloat16, {2, 3, 4, 6}, rng);
  auto values = interpret(g, {{x, xv}}, sym);
  ASSERT_TRUE(values.is_ok()) << values.status().to_string();
  EXPECT_TRUE(same((*values)[y], xv));
}

TEST(DepthToSpace, Errors) {
  const HostTensor x(DataType::kFloat32, {1, 8, 2, 2});
  auto expect_error = [](const OpCase& c, const std::string& needle) {
    auto g = make_graph(c);
    ASSERT_FALSE(g.is_ok()) << needle;
    EXPECT_NE(g.status().to_string().find(needle), std::string::npos) << g.status().to_string();
  };
  expect_error(d2s_case(x, 3, ""), "channels 8 are not divisible by blocksize^2 = 9");
  expect_error(d2s_case(x, 0, ""), "blocksize must be >= 1");
  expect_error(d2s_case(x, 2, "RCD"), "mode must be 'DCR' or 'CRD'");
  expect_error(d2s_case(HostTensor(DataType::kFloat32, {8, 2, 2}), 2, ""), "rank 4");
  OpCase c = d2s_case(x, 2, "");
  c.attrs.erase("blocksize");
  expect_error(c, "needs attribute 'blocksize'");
}

}  // namespace
}  // namespace kiln::testing::depth_to_space_test
