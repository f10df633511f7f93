// Reshape: attribute and input forms, 0 (copy) and -1 (infer), allowzero, every dtype, symbolic
// -1 on dynamic inputs, shape value pass-through, and every error.
#include "ops/reshape/reshape.h"
#include "data_movement_util.h"

#include <limits>

namespace kiln::testing::reshape_test {
namespace {

OpCase reshape_case(HostTensor x, std::vector<int64_t> target, int mode /*0 attr, 1 i64, 2 i32*/,
                    int64_t allowzero = -1) {
  OpCase c;
  c.op = "Reshape";
  c.inputs.push_back(std::move(x));
  if (mode == 0) {
    c.attrs.set("shape", std::move(target));
  } else {
    c.inputs.push_back(ints(mode == 1 ? DataType::kInt64 : DataType::kInt32, target));
    c.constant = {false, true};
  }
  if (allowzero >= 0) c.attrs.set("allowzero", allowzero);
  return c;
}

Status infer_error(const OpCase& c) {
  auto g = make_graph(c);
  return g.is_ok() ? Status::ok() : g.status();
}

void expect_error(const OpCase& c, const std::vector<std::string>& needles) {
  Status st = infer_error(c);
  ASSERT_FALSE(st.is_ok());
  for (const auto& n : needles) {
    EXPECT_NE(st.to_string().find(n), std::string::npos) << st.to_string() << " lacks " << n;
  }
}

TEST(Reshape, TargetsEveryDtypeEveryForm) {
  struct Case {
    Dims in;
    std::vector<int64_t> target;
    Dims want;
  };
  const Case cases[] = {
      {{2, 3, 4}, {24}, {24}},
      {{2, 3, 4}, {-1}, {24}},
      {{2, 3, 4}, {0, -1}, {2, 12}},
      {{2, 3, 4}, {0, 0, -1}, {2, 3, 4}},
      {{2, 3, 4}, {-1, 0}, {8, 3}},  // 0 copies the input's dim 1
      {{2, 3, 4}, {4, 1, 3, 2}, {4, 1, 3, 2}},
      {{2, 3, 4}, {1, -1, 1}, {1, 24, 1}},
      {{1, 1}, {}, {}},
      {{}, {1, 1, -1}, {1, 1, 1}},
      {{0, 4}, {0, 2, 2}, {0, 2, 2}},
      {{0, 4}, {2, 0, -1}, {2, 4, 0}},  // the 0 copies dim 1 (4); -1 = 0 / 8
  };
  std::mt19937 rng(17);
  for (const Case& k : cases) {
    for (int mode = 0; mode < 3; ++mode) {
      for (DataType dt : all_dtypes()) {
        OpCase c = reshape_case(pattern_tensor(dt, k.in, rng), k.target, mode);
        auto runs = run_cpu_tactics(c);
        ASSERT_TRUE(runs.is_ok()) << k.in.to_string() << " mode " << mode << ": "
                                  << runs.status().to_string();
        ASSERT_EQ(tactic_ids(*runs), std::vector<std::string>{"Reshape/cpu-ref/reference"});
        const HostTensor& out = (*runs)[0].outputs[0];
        EXPECT_EQ(out.shape(), k.want) << k.in.to_string();
        ASSERT_EQ(out.numel(), c.inputs[0].numel());
        HostTensor want(dt, k.want);
        for (int64_t i = 0; i < want.numel(); ++i) copy_element(c.inputs[0], i, want, i);
        EXPECT_TRUE(same(out, want)) << dtype_name(dt);
      }
    }
  }
}

TEST(Reshape, RandomFactorizations) {
  std::mt19937 rng(23);
  for (int iter = 0; iter < 40; ++iter) {
    Dims in = random_dims(rng, 1 + static_cast<int>(rng() % 4), 1, 5);
    // Split the volume into random factors, then hide one as -1.
    int64_t vol = in.volume();
    std::vector<int64_t> target;
    for (int64_t f = 2; f <= vol;) {
      if (vol % f == 0 && rng() % 2) {
        target.push_back(f);
        vol /= f;
      } else {
        ++f;
      }
    }
    target.push_back(vol);
    std::vector<int64_t> want = target;
    target[rng() % target.size()] = -1;
    DataType dt = all_dtypes()[rng() % all_dtypes().size()];
    OpCase c = reshape_case(pattern_tensor(dt, in, rng), target, 1);
    auto runs = run_cpu_tactics(c);
    ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
    EXPECT_EQ((*runs)[0].outputs[0].shape().to_vector(), want);
    EXPECT_TRUE(same((*runs)[0].outputs[0], [&] {
      HostTensor w(dt, Dims(std::span<const int64_t>(want)));
      for (int64_t i = 0; i < w.numel(); ++i) copy_element(c.inputs[0], i, w, i);
      return w;
    }()));
  }
}

TEST(Reshape, AllowZero) {
  std::mt19937 rng(2);
  // allowzero=1: a literal 0 extent (needs a zero-size input).
  OpCase c = reshape_case(pattern_tensor(DataType::kFloat32, {0, 4}, rng), {3, 0}, 1, 1);
  auto runs = run_cpu_tactics(c);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  EXPECT_EQ((*runs)[0].outputs[0].shape(), (Dims{3, 0}));
  // allowzero=0: the same 0 copies the input's dim 1 (4): [3,4] has 12 != 0 elements.
  expect_error(reshape_case(pattern_tensor(DataType::kFloat32, {0, 4}, rng), {3, 0}, 1, 0),
               {"[0,4]", "[3,0]"});
  // allowzero=1 with a non-zero input and a 0 in the target: volume mismatch.
  expect_error(reshape_case(pattern_tensor(DataType::kFloat32, {2, 4}, rng), {0, 8}, 0, 1),
               {"8 elements", "0 elements"});
  // allowzero=1 forbids 0 together with -1.
  expect_error(reshape_case(pattern_tensor(DataType::kFloat32, {0, 4}, rng), {0, -1}, 0, 1),
               {"allowzero"});
}

TEST(Reshape, Errors) {
  std::mt19937 rng(3);
  auto x = [&](Dims d) { return pattern_tensor(DataType::kFloat32, d, rng); };
  expect_error(reshape_case(x({2, 3}), {4}, 0), {"[2,3]", "[4]", "6 elements", "4 elements"});
  expect_error(reshape_case(x({2, 3}), {-1, -1}, 1), {"more than one -1"});
  expect_error(reshape_case(x({2, 3}), {4, -1}, 1), {"[2,3]", "[4,-1]", "multiple of 4"});
  expect_error(reshape_case(x({2, 3}), {-2, 3}, 0), {"invalid extent -2"});
  expect_error(reshape_case(x({5}), {}, 0), {"[5]", "[]", "5 elements", "1 elements"});
  expect_error(reshape_case(x({6}), {2, 0}, 0), {"copies dim 1", "rank 1"});
  expect_error(reshape_case(x({0, 3}), {0, -1}, 0), {"multiply to 0"});
  // Missing shape, bad shape dtype/rank, too many inputs.
  OpCase c;
  c.op = "Reshape";
  c.inputs.push_back(x({2, 3}));
  expect_error(c, {"'shape' attribute"});
  c.inputs.push_back(make_tensor(DataType::kFloat32, {2}, {3, 2}));
  c.constant = {false, true};
  expect_error(c, {"int64", "float32"});
  c.inputs[1] = HostTensor(DataType::kInt64, {1, 2});
  expect_error(c, {"1-D"});
  c.inputs[1] = ints(DataType::kInt64, {3, 2});
  c.inputs.push_back(x({1}));
  expect_error(c, {"expects 1 or 2 inputs"});
  // A shape from a graph input: data-dependent.
  OpCase d = reshape_case(x({2, 3}), {3, 2}, 1);
  d.constant = {false, false};
  expect_error(d, {"data-dependent reshape shapes are unsupported"});
}

TEST(Reshape, SymbolicInferredExtent) {
  // x[N,3,W] with attribute shape [0,-1,2]: [N, (3*W)/2]; [-1, 6]: (N*3*W)/6.
  for (auto target : {std::vector<int64_t>{0, -1}, std::vector<int64_t>{0, -1, 2},
                      std::vector<int64_t>{-1, 6}, std::vector<int64_t>{-1}}) {
    ir::Graph g;
    int x = g.add_input("x", DataType::kFloat32, Dims{-1, 3, -1});
    ir::Attrs a;
    a.set("shape", target);
    int y = g.node(g.add_node("Reshape", "r", {x}, 1, a)).outputs[0];
    ASSERT_TRUE(g.infer_shapes().is_ok());
    for (auto [n, w] : {std::pair<int64_t, int64_t>{1, 2}, {4, 6}, {3, 10}}) {
      std::vector<int64_t> sym = {n, w};
      auto got = ir::eval_shape(g.value(y).shape, sym);
      ASSERT_TRUE(got.is_ok());
      int64_t vol = n * 3 * w, known = 1;
      std::vector<int64_t> want;
      for (size_t i = 0; i < target.size(); ++i) {
        want.push_back(target[i] == 0 ? n : target[i]);
        if (target[i] != -1) known *= want.back();
      }
      for (auto& v : want) {
        if (v == -1) v = vol / known;
      }
      EXPECT_EQ(*got, want) << ir::shape_to_string(g.value(y).shape);
    }
  }
}

TEST(Reshape, DivideExtentsCancelsFactors) {
  ir::SymExpr n = ir::SymExpr::symbol(0), w = ir::SymExpr::symbol(1);
  ir::SymExpr q = ops::divide_extents(n * 3 * w * 4, w * n * 2);
  EXPECT_TRUE(q.is_const());
  EXPECT_EQ(q.value(), 6);
  ir::SymExpr r = ops::divide_extents(n * 3 * w, n);
  EXPECT_EQ(*r.eval(std::vector<int64_t>{0, 5}), 15);
  // Not structurally exact: falls back to floor division.
  ir::SymExpr f = ops::divide_extents(n * 3, w);
  EXPECT_EQ(f.kind(), ir::SymExpr::Kind::kFloorDiv);
  EXPECT_EQ(*f.eval(std::vector<int64_t>{4, 5}), 2);
}

// Constant parts whose product overflows int64 (a malformed model's extents; found by
// fuzz.onnx_parser under UBSan) fall back to floor division instead of multiplying on.
TEST(Reshape, DivideExtentsOverflowingConstantsFallBack) {
  ir::SymExpr n = ir::SymExpr::symbol(0);
  const int64_t big = int64_t{1} << 40;
  ir::SymExpr f = ops::divide_extents(n * big * big, n);
  EXPECT_EQ(f.kind(), ir::SymExpr::Kind::kFloorDiv);
  ir::SymExpr g = ops::divide_extents(n * 6, n * big * big);
  EXPECT_EQ(g.kind(), ir::SymExpr::Kind::kFloorDiv);
  ir::SymExpr m = ops::divide_extents(n * std::numeric_limits<int64_t>::min(), n * -1);
  EXPECT_FALSE(m.is_const() && m.value() == std::numeric_limits<int64_t>::min());
}

TEST(Reshape, ShapeValuePassesThrough) {
  ir::Graph g;
  int x = g.add_input("x", DataType::kFloat32, Dims{-1, 5});
  int s = g.node(g.add_node("Shape", "s", {x}, 1)).outputs[0];
  ir::Attrs a;
  a.set("shape", std::vector<int64_t>{-1});
  int r = g.node(g.add_node("Reshape", "r", {s}, 1, a)).outputs[0];
  a.set("shape", std::vector<int64_t>{1, 2});
  int r2 = g.node(g.add_node("Reshape", "r2", {s}, 1, a)).outputs[0];
  ASSERT_TRUE(g.infer_shapes().is_ok());
  ASSERT_TRUE(g.value(r).shape_value.has_value());
  EXPECT_EQ(*ir::eval_shape(*g.value(r).shape_value, std::vector<int64_t>{9}),
            (std::vector<int64_t>{9, 5}));
  EXPECT_FALSE(g.value(r2).shape_value.has_value());  // rank 2: not a shape tensor
}

}  // namespace
}  // namespace kiln::testing::reshape_test
