// FusedElementwise CUDA tactic against the CPU reference: every instruction kind, broadcast
// inputs (full, scalar, strided; collapsed dims), integer and bool inputs, the three output
// dtypes, large tensors (grid-stride), zero size, and capture into a CUDA graph.
#include "gpu/cuda_case_util.h"
#include "gpu/op_check.h"
#include "ops/activation/activation.h"
#include "ops/elementwise/elementwise.h"
#include "ops/unary/unary.h"

namespace kiln::testing {
namespace {

using ops::ElementWiseOp;
using ops::UnaryOp;

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

std::vector<int64_t> bin(ElementWiseOp op, int64_t x, int64_t y) {
  return {0, static_cast<int64_t>(op), x, y, 0};
}
std::vector<int64_t> un(UnaryOp op, int64_t x) {
  return {1, static_cast<int64_t>(op), x, 0, 0};
}

OpCase fused_case(std::vector<HostTensor> inputs, std::vector<std::vector<int64_t>> code,
                  std::vector<double> constants, DataType out) {
  OpCase c;
  c.op = "FusedElementwise";
  std::vector<int64_t> program;
  for (const auto& ins : code) program.insert(program.end(), ins.begin(), ins.end());
  c.attrs.set("program", program);
  c.attrs.set("constants", constants);
  c.attrs.set("dtype", std::string(dtype_name(out)));
  c.inputs = std::move(inputs);
  return c;
}

using FusedElementwiseCuda = GpuTest;

TEST(FusedElementwiseCudaRegistry, OneKilnTactic) {
  auto t = ops::cuda_tactics("FusedElementwise");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].name, "interpreter");
  EXPECT_EQ(t[0].source, TacticSource::kKilnCuda);
}

TEST_F(FusedElementwiseCuda, ArithmeticBroadcastShapes) {
  std::mt19937 rng(1);
  struct Shapes {
    Dims a, b, c;
  };
  const Shapes shapes[] = {
      {{2, 3, 4}, {4}, {}},      {{5, 1, 7}, {1, 6, 1}, {5, 6, 7}}, {{8, 16, 32}, {8, 1, 32}, {1}},
      {{300000}, {300000}, {1}}, {{3, 1, 1, 9}, {1, 4, 5, 1}, {9}}, {{1}, {1}, {1}},
  };
  for (DataType dt : kFloatTypes) {
    for (const Shapes& s : shapes) {
      // r3 = a * 0.5; r4 = exp(-r3); r5 = r4 + b; r6 = max(r5, c); r7 = r6 / (b pow 2 + 1)
      OpCase k = fused_case({random_tensor(dt, s.a, rng, -2, 2), random_tensor(dt, s.b, rng, -2, 2),
                             random_tensor(dt, s.c, rng, -1, 1)},
                            {bin(ElementWiseOp::kProd, 0, -1), un(UnaryOp::kNeg, 3),
                             un(UnaryOp::kExp, 4), bin(ElementWiseOp::kSum, 5, 1),
                             bin(ElementWiseOp::kMax, 6, 2), bin(ElementWiseOp::kPow, 1, -2),
                             bin(ElementWiseOp::kSum, 8, -3), bin(ElementWiseOp::kDiv, 7, 9)},
                            {0.5, 2.0, 1.0}, dt);
      check_cuda_tactics(
          k, device(), stream(), dtype_tol(dt, {1e-6, 8e-6}),
          std::string(dtype_name(dt)) + " " + s.a.to_string() + s.b.to_string() + s.c.to_string());
    }
  }
}

TEST_F(FusedElementwiseCuda, EveryUnaryAndActivation) {
  std::mt19937 rng(2);
  for (int u = 0; u < static_cast<int>(UnaryOp::kNot); ++u) {
    const bool positive = u == static_cast<int>(UnaryOp::kLog) ||
                          u == static_cast<int>(UnaryOp::kSqrt) ||
                          u == static_cast<int>(UnaryOp::kRsqrt);
    OpCase k =
        fused_case({random_tensor(DataType::kFloat32, Dims{5, 33}, rng, positive ? 0.1 : -3, 3)},
                   {un(static_cast<UnaryOp>(u), 0), bin(ElementWiseOp::kProd, 1, -1)}, {1.0},
                   DataType::kFloat32);
    check_cuda_tactics(k, device(), stream(), {1e-6, 4e-6}, "unary " + std::to_string(u));
  }
  for (int a = 0; a <= static_cast<int>(ops::ActivationKind::kSoftsign); ++a) {
    double alpha, beta;
    ops::activation_defaults(static_cast<ops::ActivationKind>(a), &alpha, &beta);
    if (a == static_cast<int>(ops::ActivationKind::kClip)) {
      alpha = -1;
      beta = 1;
    }
    OpCase k = fused_case({random_tensor(DataType::kFloat16, Dims{4, 65}, rng, -4, 4)},
                          {{2, a, 0, -1, -2}}, {alpha, beta}, DataType::kFloat16);
    check_cuda_tactics(k, device(), stream(), dtype_tol(DataType::kFloat16, {1e-6, 4e-6}),
                       "activation " + std::to_string(a));
  }
}

TEST_F(FusedElementwiseCuda, IntegerBoolInputsWhereAndRounding) {
  std::mt19937 rng(3);
  for (DataType it : {DataType::kInt64, DataType::kInt32, DataType::kInt8, DataType::kUInt8}) {
    HostTensor m = random_tensor(it, Dims{2, 1, 1, 77}, rng, 0, 3);
    // (1 - float(m)) * -10000 in float16.
    OpCase k = fused_case({m}, {bin(ElementWiseOp::kSub, -1, 0), bin(ElementWiseOp::kProd, 1, -2)},
                          {1.0, -10000.0}, DataType::kFloat16);
    check_cuda_tactics(k, device(), stream(), {0, 0}, std::string(dtype_name(it)) + " mask");
  }
  HostTensor cond = random_tensor(DataType::kBool, Dims{6, 1}, rng, -1, 1);
  HostTensor x = random_tensor(DataType::kFloat32, Dims{6, 40}, rng, -3, 3);
  for (int64_t round_to :
       {static_cast<int64_t>(DataType::kFloat16), static_cast<int64_t>(DataType::kBFloat16)}) {
    OpCase k = fused_case({cond, x},
                          {{3, 0, 0, 1, -1},
                           {4, round_to, 2, 0, 0},
                           bin(ElementWiseOp::kMin, 3, -2),
                           un(UnaryOp::kRound, 4)},
                          {0.25, 1.5}, DataType::kFloat32);
    check_cuda_tactics(k, device(), stream(), {0, 0}, "where/round");
  }
  // NaN propagation of min/max.
  HostTensor a = make_tensor(DataType::kFloat32, Dims{4}, {1, NAN, -2, 3});
  OpCase k = fused_case({a}, {bin(ElementWiseOp::kMin, 0, -1), bin(ElementWiseOp::kMax, 1, -2)},
                        {0.5, -1.0}, DataType::kFloat32);
  check_cuda_tactics(k, device(), stream(), {0, 0}, "nan");
}

TEST_F(FusedElementwiseCuda, ZeroSizeAndCapture) {
  std::mt19937 rng(4);
  OpCase z = fused_case({random_tensor(DataType::kFloat32, Dims{0, 5}, rng),
                         random_tensor(DataType::kFloat32, Dims{5}, rng)},
                        {bin(ElementWiseOp::kSum, 0, 1)}, {}, DataType::kFloat32);
  check_cuda_tactics(z, device(), stream(), {0, 0}, "zero size");
  OpCase k = fused_case({random_tensor(DataType::kFloat16, Dims{32, 128, 768}, rng),
                         random_tensor(DataType::kFloat16, Dims{768}, rng)},
                        {bin(ElementWiseOp::kSum, 0, 1),
                         {2, static_cast<int64_t>(ops::ActivationKind::kGeluErf), 2, -1, -1}},
                        {0.0}, DataType::kFloat16);
  const Tol t = dtype_tol(DataType::kFloat16, {1e-6, 4e-6});
  EXPECT_EQ(expect_capturable(k, device(), stream(), t.atol, t.rtol, "bias gelu"), 1);
}

}  // namespace
}  // namespace kiln::testing
