// FusedElementwise CUDA tactic against the CPU reference: every instruction kind, broadcast
// inputs (full, scalar, strided; collapsed dims), integer and bool inputs, the three output
// dtypes, large tensors (grid-stride), zero size, and capture into a CUDA graph. Then every
// path of the kernel (fused_layout.h, cuda.cu): the 16-byte-item variant (up to 4 inputs of the
// output's dtype) with each input access (vector, strided vector, broadcast within rows,
// gathered, element by element where misaligned) and partial last items; the items of 4
// (mixed input dtypes, wider inputs, more than 4 inputs); one element per thread (int64 inputs
// read per element); programs with many live values (smaller blocks); in place.
#include "gpu/cuda_case_util.h"
#include "gpu/op_check.h"
#include "ops/activation/activation.h"
#include "ops/elementwise/elementwise.h"
#include "ops/fused_elementwise/fused_elementwise.h"
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

// ---- the kernel's paths

// r = ((x0 + x1) + x2) ... + x[n-1], then * 0.5 (a chain: the sum is forwarded, no slots).
OpCase sum_case(std::vector<HostTensor> inputs, DataType out) {
  std::vector<std::vector<int64_t>> code;
  const int n = static_cast<int>(inputs.size());
  code.push_back(n > 1 ? bin(ElementWiseOp::kSum, 0, 1) : un(UnaryOp::kNeg, 0));
  for (int i = 2; i < n; ++i) code.push_back(bin(ElementWiseOp::kSum, n + i - 2, i));
  code.push_back(bin(ElementWiseOp::kProd, n + static_cast<int>(code.size()) - 1, -1));
  return fused_case(std::move(inputs), code, {0.5}, out);
}

// Each input shape list broadcast to `out`, random values of dtype dt.
std::vector<HostTensor> tensors(DataType dt, const std::vector<Dims>& shapes, std::mt19937& rng) {
  std::vector<HostTensor> t;
  for (const Dims& d : shapes) t.push_back(random_tensor(dt, d, rng, -2, 2));
  return t;
}

TEST_F(FusedElementwiseCuda, BroadcastInputsEveryAccess) {
  std::mt19937 rng(5);
  struct Shapes {
    const char* what;
    std::vector<Dims> in;
  };
  const Shapes cases[] = {
      // BERT embeddings (batch 4): two full inputs, one broadcast over the batch (strided,
      // contiguous rows: vector reads).
      {"embeddings", {{4, 128, 768}, {4, 128, 768}, {1, 128, 768}}},
      // A scalar (rank 0 and [1]) and a full input.
      {"scalar", {{8, 64, 96}, {}, {1}}},
      // Bias along the last dim; a column [R,1] (broadcast within rows of 40).
      {"bias and column", {{48, 40}, {40}, {48, 1}}},
      // Per-channel [C,1,1] over NCHW: rows H*W = 64 (broadcast per item) and 7x7 (gathered).
      {"channel 8x8", {{3, 16, 8, 8}, {16, 1, 1}}},
      {"channel 7x7", {{3, 16, 7, 7}, {16, 1, 1}, {1, 16, 7, 7}}},
      // Middle dim broadcast: [N,1,W] and [N,C,1] over [N,C,W]; W = 24 and W = 13 (gathered).
      {"middle 24", {{4, 5, 24}, {4, 1, 24}, {4, 5, 1}}},
      {"middle 13", {{4, 5, 13}, {4, 1, 13}, {1, 5, 1}}},
      // Sizes that are not a multiple of the item: partial last items.
      {"odd 1001", {{1001}, {1001}, {1}}},
      {"odd 3x37", {{3, 37}, {37}, {3, 1}}},
      {"tiny 5", {{5}, {5}}},
      {"one element", {{1, 1}, {1}}},
      // Broadcast on both sides: [A,1,C] + [1,B,1] -> [A,B,C] (no full input).
      {"outer", {{6, 1, 16}, {1, 9, 1}}},
      // Many dims collapsed to a few.
      {"rank 6", {{2, 3, 1, 4, 5, 8}, {1, 3, 1, 4, 1, 8}, {2, 1, 1, 1, 5, 1}}},
  };
  for (DataType dt : kFloatTypes) {
    for (const Shapes& c : cases) {
      OpCase k = sum_case(tensors(dt, c.in, rng), dt);
      const std::string what = std::string(dtype_name(dt)) + " " + c.what;
      check_cuda_tactics(k, device(), stream(), dtype_tol(dt, {1e-6, 4e-6}), what);
      // Views shifted from the allocation's alignment: 1 element (element by element) and 4
      // (8-byte aligned: no 16-byte vectors).
      for (int shift : {1, 4}) {
        CudaRunOptions o;
        o.misalign_elements = shift;
        check_cuda_tactics(k, device(), stream(), dtype_tol(dt, {1e-6, 4e-6}),
                           what + " misaligned by " + std::to_string(shift), o);
      }
    }
  }
}

TEST_F(FusedElementwiseCuda, InPlaceVectorItems) {
  std::mt19937 rng(6);
  for (DataType dt : kFloatTypes) {
    for (Dims d : {Dims{64, 768}, Dims{3, 333}}) {
      OpCase k = sum_case(tensors(dt, {d, Dims{d[1]}}, rng), dt);
      CudaRunOptions o;
      o.in_place = true;
      check_cuda_tactics(k, device(), stream(), dtype_tol(dt, {1e-6, 4e-6}),
                         std::string(dtype_name(dt)) + " in place " + d.to_string(), o);
    }
  }
}

TEST_F(FusedElementwiseCuda, MixedInputDtypes) {
  std::mt19937 rng(7);
  const DataType f16 = DataType::kFloat16, f32 = DataType::kFloat32;
  // A float16 chain with a float32 full input and a float32 scalar (items of 4:
  // 16-byte float32 reads, 8-byte float16 ones).
  for (int shift : {0, 1}) {
    OpCase k = sum_case(
        {random_tensor(f16, Dims{16, 200}, rng, -2, 2),
         random_tensor(f32, Dims{16, 200}, rng, -2, 2), random_tensor(f32, Dims{}, rng, -2, 2)},
        f16);
    CudaRunOptions o;
    o.misalign_elements = shift;
    check_cuda_tactics(k, device(), stream(), dtype_tol(f16, {1e-6, 4e-6}),
                       "f16 + f32 misaligned " + std::to_string(shift), o);
  }
  // Attention-style masks: where(bool [B,1,1,S], x, -10000) + float(int) * 0.5 with the int
  // input of every integer dtype, [B,1,1,S] (strided) or a scalar; S = 64 (rows of whole items)
  // and S = 30 (gathered). int64 [B,1,1,S] reads one element per thread.
  for (int64_t seq : {64, 30}) {
    for (DataType it :
         {DataType::kInt64, DataType::kInt32, DataType::kInt8, DataType::kUInt8, DataType::kBool}) {
      for (bool scalar : {false, true}) {
        HostTensor cond = random_tensor(DataType::kBool, Dims{2, 1, 1, seq}, rng, -1, 1);
        HostTensor x = random_tensor(f16, Dims{2, 3, seq, seq}, rng, -3, 3);
        HostTensor ints = random_tensor(it, scalar ? Dims{1} : Dims{2, 1, 1, seq}, rng, 0, 100);
        OpCase k = fused_case({cond, x, ints},
                              {{3, 0, 0, 1, -1},  // r3 = where(cond, x, -10000)
                               bin(ElementWiseOp::kProd, 2, -2),
                               bin(ElementWiseOp::kSum, 3, 4)},
                              {-10000.0, 0.5}, f16);
        const std::string what = std::string("mask ") + std::string(dtype_name(it)) +
                                 (scalar ? " scalar" : " rows") + " seq " + std::to_string(seq);
        check_cuda_tactics(k, device(), stream(), dtype_tol(f16, {1e-6, 4e-6}), what);
        CudaRunOptions o;
        o.misalign_elements = 1;
        check_cuda_tactics(k, device(), stream(), dtype_tol(f16, {1e-6, 4e-6}),
                           what + " misaligned", o);
      }
    }
  }
  // Integer inputs alone into a float32 output (every dtype through the per-input dispatch).
  for (DataType it : {DataType::kInt64, DataType::kInt32, DataType::kInt8, DataType::kUInt8,
                      DataType::kBool, DataType::kBFloat16}) {
    const bool is_unsigned = it == DataType::kUInt8 || it == DataType::kBool;
    const double lo = is_unsigned ? 0 : -50, hi = it == DataType::kBool ? 1 : 50;
    OpCase k = sum_case(
        {random_tensor(it, Dims{5, 77}, rng, lo, hi), random_tensor(it, Dims{77}, rng, lo, hi)},
        f32);
    check_cuda_tactics(k, device(), stream(), {1e-6, 4e-6},
                       std::string("ints ") + std::string(dtype_name(it)));
  }
}

// n_in inputs alternating [24,40] and [40]: acc = -x0; acc = acc op -x_i (the negation
// forwarded, acc in a slot); then acc + x_i for every input: n_in + 1 live values.
OpCase live_inputs_case(DataType dt, int n_in, std::mt19937& rng) {
  std::vector<HostTensor> in;
  std::vector<std::vector<int64_t>> code;
  for (int i = 0; i < n_in; ++i) {
    in.push_back(random_tensor(dt, i % 2 ? Dims{24, 40} : Dims{40}, rng, -2, 2));
  }
  code.push_back(un(UnaryOp::kNeg, 0));
  int acc = n_in;
  for (int i = 1; i < n_in; ++i) {
    code.push_back(un(UnaryOp::kNeg, i));
    code.push_back(bin(i % 2 ? ElementWiseOp::kMax : ElementWiseOp::kSub, acc,
                       n_in + static_cast<int>(code.size()) - 1));
    acc = n_in + static_cast<int>(code.size()) - 1;
  }
  for (int i = 0; i < n_in; ++i) {
    code.push_back(bin(ElementWiseOp::kSum, acc, i));
    acc = n_in + static_cast<int>(code.size()) - 1;
  }
  return fused_case(in, code, {}, dt);
}

// x * c_k for 16 constants, then their sum: 16 live values.
OpCase live_products_case(DataType dt, std::mt19937& rng) {
  HostTensor x = random_tensor(dt, Dims{7, 129}, rng, -1, 1);
  std::vector<std::vector<int64_t>> code;
  for (int k = 0; k < 16; ++k) code.push_back(bin(ElementWiseOp::kProd, 0, -(k % 4) - 1));
  int acc = 1;
  for (int k = 1; k < 16; ++k) {
    code.push_back(bin(ElementWiseOp::kSum, acc, 1 + k));
    acc = 1 + static_cast<int>(code.size()) - 1;
  }
  code.push_back(un(UnaryOp::kAbs, acc));
  return fused_case({x}, code, {0.5, -1.25, 2.0, 3.0}, dt);
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
  EXPECT_EQ(slot_count(live_inputs_case(f16, 5, rng)), 6);
  EXPECT_EQ(slot_count(live_inputs_case(f16, 8, rng)), 9);
  EXPECT_EQ(slot_count(live_products_case(f16, rng)), 16);
  OpCase emb = fused_case({random_tensor(f16, Dims{2, 3}, rng), random_tensor(f16, Dims{2, 3}, rng),
                           random_tensor(f16, Dims{3}, rng)},
                          {bin(ElementWiseOp::kSum, 0, 1), bin(ElementWiseOp::kSum, 3, 2),
                           bin(ElementWiseOp::kProd, 4, -1)},
                          {0.5}, f16);
  EXPECT_EQ(slot_count(emb), 3);
}

TEST_F(FusedElementwiseCuda, ManyLiveValues) {
  std::mt19937 rng(8);
  for (DataType dt : kFloatTypes) {
    for (int n_in : {5, 8}) {
      check_cuda_tactics(live_inputs_case(dt, n_in, rng), device(), stream(),
                         dtype_tol(dt, {1e-6, 4e-6}),
                         std::string(dtype_name(dt)) + " " + std::to_string(n_in) + " inputs");
    }
    check_cuda_tactics(live_products_case(dt, rng), device(), stream(), dtype_tol(dt, {1e-6, 8e-6}),
                       std::string(dtype_name(dt)) + " 16 live values");
  }
}

TEST_F(FusedElementwiseCuda, HeavyMathOnVectorItems) {
  // Transcendental ops over 16-byte items of a broadcast case (their register demand), NaN
  // propagation through min/max on items, and round-to-float16 inside a float32 chain.
  std::mt19937 rng(9);
  for (DataType dt : kFloatTypes) {
    HostTensor x = random_tensor(dt, Dims{8, 136}, rng, 0.1, 3);
    HostTensor b = random_tensor(dt, Dims{136}, rng, -1, 1);
    OpCase k = fused_case({x, b},
                          {bin(ElementWiseOp::kPow, 0, -1),
                           un(UnaryOp::kSin, 2),
                           bin(ElementWiseOp::kSum, 3, 1),
                           {2, static_cast<int64_t>(ops::ActivationKind::kGeluTanh), 4, -2, -2},
                           un(UnaryOp::kErf, 5),
                           {2, static_cast<int64_t>(ops::ActivationKind::kMish), 6, -2, -2}},
                          {1.5, 0.0}, dt);
    check_cuda_tactics(k, device(), stream(), dtype_tol(dt, {2e-6, 2e-5}),
                       std::string(dtype_name(dt)) + " heavy math");
  }
  HostTensor a = make_tensor(DataType::kFloat16, Dims{2, 12},
                             {1,   NAN, -2, 3, 0.5, 7, NAN, -1, 2, 2,   2, 2,  //
                              NAN, 0,   0,  0, -4,  4, 1,   1,  1, NAN, 9, -9});
  HostTensor m =
      make_tensor(DataType::kFloat16, Dims{12}, {0, 1, 2, NAN, 4, 5, 6, 7, 8, 9, 10, 11});
  OpCase nan = fused_case({a, m}, {bin(ElementWiseOp::kMin, 0, 1), bin(ElementWiseOp::kMax, 2, -1)},
                          {0.25}, DataType::kFloat16);
  check_cuda_tactics(nan, device(), stream(), {0, 0}, "nan items");
  HostTensor f = random_tensor(DataType::kFloat32, Dims{4, 100}, rng, -70000, 70000);
  OpCase round = fused_case(
      {f},
      {{4, static_cast<int64_t>(DataType::kFloat16), 0, 0, 0}, bin(ElementWiseOp::kSum, 1, -1)},
      {0.125}, DataType::kFloat32);
  check_cuda_tactics(round, device(), stream(), {0, 0}, "round to f16 items");
}

}  // namespace
}  // namespace kiln::testing
