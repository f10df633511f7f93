// FusedElementwise CUDA tactic against the CPU reference: every instruction kind, broadcast
// inputs (full, scalar, strided; collapsed dims), integer and bool inputs, the three output
// dtypes, large tensors (grid-stride), zero size, and capture into a CUDA graph. Then every
// path of the kernel (fused_layout.h, cuda.cu): the 16-byte-item variant (up to 4 inputs of the
// output's dtype) with each input access (vector, strided vector, broadcast within rows,
// gathered, element by element where misaligned) and partial last items; the items of 4
// (mixed input dtypes, wider inputs, more than 4 inputs); one element per thread (int64 inputs
// read per element); programs with many live values (smaller blocks); in place.
#include "gpu/cuda_case_util.h"
#include "gpu/fused_cases.h"
#include "gpu/op_check.h"
#include "ops/activation/activation.h"
#include "ops/elementwise/elementwise.h"
#include "ops/fused_elementwise/fused_elementwise.h"
#include "ops/unary/unary.h"

namespace kiln::testing::fused_elementwise_cuda_test {
namespace {

using fused::kFloatTypes;
using ops::ElementWiseOp;
using ops::UnaryOp;

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

// ---- the kernel's paths (cases in fused_cases.h)

// Each case on the GPU against the CPU reference, then shifted from the allocation's alignment,
// then in place where it can.
void check_cases(const std::vector<fused::NamedCase>& cases, Device* device, cudaStream_t stream) {
  for (const fused::NamedCase& k : cases) {
    const Tol tol = dtype_tol(k.out, k.fp32);
    check_cuda_tactics(k.c, device, stream, tol, k.what);
    for (int shift : k.shifts) {
      CudaRunOptions o;
      o.misalign_elements = shift;
      check_cuda_tactics(k.c, device, stream, tol, k.what + " shifted " + std::to_string(shift), o);
    }
    if (k.in_place) {
      CudaRunOptions o;
      o.in_place = true;
      check_cuda_tactics(k.c, device, stream, tol, k.what + " in place", o);
    }
  }
}

TEST_F(FusedElementwiseCuda, BroadcastInputsEveryAccess) {
  std::mt19937 rng(5);
  check_cases(fused::broadcast_cases(rng), device(), stream());
}

TEST_F(FusedElementwiseCuda, MixedInputDtypes) {
  std::mt19937 rng(7);
  check_cases(fused::mixed_dtype_cases(rng), device(), stream());
}

TEST_F(FusedElementwiseCuda, ManyLiveValues) {
  std::mt19937 rng(8);
  check_cases(fused::live_value_cases(rng), device(), stream());
}

TEST_F(FusedElementwiseCuda, MathNanAndRoundingOnItems) {
  std::mt19937 rng(9);
  check_cases(fused::math_cases(rng), device(), stream());
}

int slot_count(const OpCase& c) {
  auto p = ops::parse_fused_program(c.attrs, static_cast<int>(c.inputs.size()));
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return p.is_ok() ? ops::allocate_fused_slots(*p).slots : -1;
}

// The slot counts of the cases below (runs without a GPU): 6 and 9 slots (items of 4, more than
// 4 inputs), 16 (smaller blocks: 64 threads at 16 bits, 128 at float32).
TEST(FusedElementwiseCudaCases, SlotCounts) {
  std::mt19937 rng(1);
  const DataType f16 = DataType::kFloat16;
  EXPECT_EQ(slot_count(fused::live_inputs_case(f16, 5, rng)), 6);
  EXPECT_EQ(slot_count(fused::live_inputs_case(f16, 8, rng)), 9);
  EXPECT_EQ(slot_count(fused::live_products_case(f16, rng)), 16);
  OpCase emb = fused_case({random_tensor(f16, Dims{2, 3}, rng), random_tensor(f16, Dims{2, 3}, rng),
                           random_tensor(f16, Dims{3}, rng)},
                          {bin(ElementWiseOp::kSum, 0, 1), bin(ElementWiseOp::kSum, 3, 2),
                           bin(ElementWiseOp::kProd, 4, -1)},
                          {0.5}, f16);
  EXPECT_EQ(slot_count(emb), 3);
}

}  // namespace
}  // namespace kiln::testing::fused_elementwise_cuda_test
