// FusedElementwise: every CPU tactic against expected values computed here for concrete
// programs (broadcast inputs, immediates, int / bool inputs, rounding, where, activations), the
// output rank attribute, and the program validation errors.
#include "common/fused_program.h"
#include "ops/activation/activation.h"
#include "ops/elementwise/elementwise.h"
#include "ops/op_check_util.h"
#include "ops/unary/unary.h"

#include <cmath>

namespace kiln::testing::fused_elementwise_test {
namespace {

using ops::ElementWiseOp;
using ops::UnaryOp;

const std::vector<std::string> kTactics = {"FusedElementwise/cpu-ref/reference",
                                           "FusedElementwise/cpu-opt/threaded"};

// Element of `t` broadcast (right-aligned) to coordinates `co` of a shape of rank co.size().
double at(const HostTensor& t, const std::vector<int64_t>& co) {
  const Dims& d = t.shape();
  int64_t off = 0;
  for (int i = 0; i < d.rank(); ++i) {
    const int64_t c = co[co.size() - d.rank() + i];
    off = off * d[i] + (d[i] == 1 ? 0 : c);
  }
  return t.get_double(off);
}

// Fills `out` with f(coordinates).
template <typename F>
HostTensor expected(DataType dt, const Dims& shape, F f) {
  HostTensor y(dt, shape);
  std::vector<int64_t> co(shape.rank());
  for (int64_t e = 0; e < y.numel(); ++e) {
    int64_t rest = e;
    for (int d = shape.rank() - 1; d >= 0; --d) {
      co[d] = rest % shape[d];
      rest /= shape[d];
    }
    store_from_double(y.data(), dt, e, static_cast<float>(f(co)));
  }
  return y;
}

TEST(FusedElementwise, BroadcastArithmeticAndImmediates) {
  std::mt19937 rng(1);
  ThreadPool pool(3);
  for (DataType dt : kFloatDtypes) {
    HostTensor a = random_tensor(dt, Dims{2, 3, 4}, rng, -2, 2);
    HostTensor b = random_tensor(dt, Dims{4}, rng, -2, 2);
    HostTensor c = random_tensor(dt, Dims{}, rng, -1, 1);
    // r3 = a * 0.5; r4 = -r3; r5 = exp(r4); r6 = r5 + b; r7 = max(r6, c)
    OpCase k =
        fused_case({a, b, c},
                   {bin(ElementWiseOp::kProd, 0, -1), un(UnaryOp::kNeg, 3), un(UnaryOp::kExp, 4),
                    bin(ElementWiseOp::kSum, 5, 1), bin(ElementWiseOp::kMax, 6, 2)},
                   {0.5}, dt);
    HostTensor want = expected(dt, Dims{2, 3, 4}, [&](const std::vector<int64_t>& co) {
      float v = std::exp(-(static_cast<float>(at(a, co)) * 0.5f)) + static_cast<float>(at(b, co));
      return std::max(v, static_cast<float>(at(c, co)));
    });
    check_tactics(k, want, float_tol(dt), float_tol(dt), kTactics, std::string(dtype_name(dt)),
                  &pool);
  }
}

TEST(FusedElementwise, MaskArithmeticFromInt64AndHalfOutput) {
  // (1 - float(mask)) * -10000, the old BERT mask, from an int64 [N, 1, 1, S] input.
  HostTensor m = make_tensor(DataType::kInt64, Dims{2, 1, 1, 5}, {1, 1, 1, 0, 0, 1, 0, 1, 0, 1});
  OpCase k = fused_case({m}, {bin(ElementWiseOp::kSub, -1, 0), bin(ElementWiseOp::kProd, 1, -2)},
                        {1.0, -10000.0}, DataType::kFloat16);
  HostTensor want = expected(DataType::kFloat16, Dims{2, 1, 1, 5},
                             [&](const auto& co) { return (1.0 - at(m, co)) * -10000.0; });
  check_tactics(k, want, 0, 0, kTactics, "mask");
}

TEST(FusedElementwise, WhereRoundActivationAndUnaryOps) {
  std::mt19937 rng(2);
  HostTensor cond = random_tensor(DataType::kBool, Dims{3, 1}, rng, -1, 1);
  HostTensor x = random_tensor(DataType::kFloat32, Dims{3, 4}, rng, -3, 3);
  // r2 = where(cond, x, 0.25); r3 = round_f16(r2); r4 = gelu_erf(r3); r5 = r4 * 3;
  // r6 = sign(r5); r7 = r5 / r6 ... keep it finite: r7 = r5 pow 2; r8 = floor(r7)
  OpCase k = fused_case({cond, x},
                        {{3, 0, 0, 1, -1},
                         {4, static_cast<int64_t>(DataType::kFloat16), 2, 0, 0},
                         {2, static_cast<int64_t>(ops::ActivationKind::kGeluErf), 3, -2, -2},
                         bin(ElementWiseOp::kProd, 4, -3),
                         un(UnaryOp::kSign, 5),
                         bin(ElementWiseOp::kPow, 5, -4),
                         bin(ElementWiseOp::kMin, 7, 6),
                         un(UnaryOp::kRound, 8)},
                        {0.25, 0.0, 3.0, 2.0});
  HostTensor want = expected(DataType::kFloat32, Dims{3, 4}, [&](const auto& co) {
    float v = at(cond, co) != 0 ? static_cast<float>(at(x, co)) : 0.25f;
    v = static_cast<float>(Half(v));
    v = ops::apply_activation(ops::ActivationKind::kGeluErf, v, 0, 0) * 3.f;
    float s = std::isnan(v) ? v : (v > 0 ? 1.f : (v < 0 ? -1.f : 0.f));
    float p = std::pow(v, 2.f);
    return std::nearbyint(std::min(p, s));
  });
  check_tactics(k, want, 1e-6, 1e-6, kTactics, "where/round/gelu");
}

TEST(FusedElementwise, MinMaxPropagateNanAndBoolInputs) {
  HostTensor a = make_tensor(DataType::kFloat32, Dims{4}, {1, NAN, -2, 3});
  HostTensor b = make_tensor(DataType::kBool, Dims{4}, {1, 0, 1, 0});
  // r2 = min(a, b as 0/1); r3 = max(r2, -1)
  OpCase k =
      fused_case({a, b}, {bin(ElementWiseOp::kMin, 0, 1), bin(ElementWiseOp::kMax, 2, -1)}, {-1.0});
  HostTensor want = make_tensor(DataType::kFloat32, Dims{4}, {1, NAN, -1, 0});
  check_tactics(k, want, 0, 0, kTactics, "nan");
}

TEST(FusedElementwise, OutputRankPadsBroadcastShape) {
  std::mt19937 rng(3);
  HostTensor a = random_tensor(DataType::kFloat32, Dims{3}, rng);
  OpCase k = fused_case({a}, {bin(ElementWiseOp::kProd, 0, -1)}, {2.0}, DataType::kFloat32, 3);
  auto g = make_graph(k);
  ASSERT_TRUE(g.is_ok()) << g.status().to_string();
  EXPECT_EQ(ir::shape_to_string(g->value(g->node(0).outputs[0]).shape), "[1,1,3]");
  HostTensor want =
      expected(DataType::kFloat32, Dims{1, 1, 3}, [&](const auto& co) { return 2.0 * at(a, co); });
  check_tactics(k, want, 0, 0, kTactics, "rank");
}

TEST(FusedElementwise, ProgramErrors) {
  std::mt19937 rng(4);
  HostTensor a = random_tensor(DataType::kFloat32, Dims{3}, rng);
  auto expect_error = [&](const OpCase& c, const std::string& needle) {
    std::string m = infer_message(c);
    EXPECT_NE(m.find(needle), std::string::npos) << m;
  };
  expect_error(fused_case({a}, {bin(ElementWiseOp::kSum, 0, 1)}, {}), "operand 1");  // r1 unset
  expect_error(fused_case({a}, {bin(ElementWiseOp::kSum, 0, -2)}, {1.0}), "operand 1");
  expect_error(fused_case({a}, {{7, 0, 0, 0, 0}}, {}), "unknown kind");
  expect_error(fused_case({a}, {bin(ElementWiseOp::kEqual, 0, 0)}, {}), "invalid binary");
  expect_error(fused_case({a}, {un(UnaryOp::kNot, 0)}, {}), "invalid unary");
  expect_error(fused_case({a}, {{1, 0, 0, 5, 0}}, {}), "operand 1");  // unused operand set
  expect_error(fused_case({a}, {{4, static_cast<int64_t>(DataType::kInt8), 0, 0, 0}}, {}),
               "float16 or bfloat16");
  OpCase c = fused_case({a}, {un(UnaryOp::kExp, 0)}, {});
  c.attrs.set("program", std::vector<int64_t>{1, 0, 0});
  expect_error(c, "5 ints per instruction");
  c = fused_case({a}, {un(UnaryOp::kExp, 0)}, {}, DataType::kInt32);
  expect_error(c, "dtype");
  std::vector<HostTensor> many(9, a);
  expect_error(fused_case(many, {un(UnaryOp::kExp, 0)}, {}), "1 to 8 inputs");
  expect_error(fused_case({a, random_tensor(DataType::kFloat32, Dims{4}, rng)},
                          {bin(ElementWiseOp::kSum, 0, 1)}, {}),
               "cannot be broadcast");
}

}  // namespace
}  // namespace kiln::testing::fused_elementwise_test
