// The addressing and register allocation of the FusedElementwise CUDA kernel, checked on the host
// (they are host/device code): the 32-bit fast divisors against plain division; for random
// broadcast shapes, item widths and data alignments, the offset the kernel reads for every
// output element (an item's base plus the element's step, or the element's own offset for
// kGather) against direct coordinate arithmetic, and the alignment that every vector access
// needs; the plans of the BERT embeddings and typical bias / mask shapes; and the slot program
// (allocate_fused_slots) evaluated with the kernel's slot semantics against the plain program
// for random programs.
#include "ops/fused_elementwise/fused_layout.h"
#include "common/broadcast_index.h"
#include "ops/fused_elementwise/fused_elementwise.h"

#include <gtest/gtest.h>

#include <bit>
#include <climits>
#include <random>
#include <vector>

namespace kiln::ops::fused_layout_test {
namespace {

using kiln::testing::broadcast_offset;
using kiln::testing::coords;

Dims make_dims(const std::vector<int64_t>& v) {
  return Dims(std::span<const int64_t>(v));
}

TEST(FusedFastDivisor, MatchesDivision) {
  std::mt19937 rng(1);
  std::vector<uint32_t> divisors;
  for (uint32_t d = 1; d <= 2048; ++d) divisors.push_back(d);
  for (int s = 11; s < 31; ++s) {
    const uint32_t p = 1u << s;
    divisors.insert(divisors.end(), {p - 1, p, p + 1, 3 * (p / 2) + 1});
  }
  divisors.push_back(INT32_MAX);
  divisors.push_back(INT32_MAX - 1);
  std::uniform_int_distribution<uint32_t> big(1, INT32_MAX);
  for (int i = 0; i < 2000; ++i) divisors.push_back(big(rng));
  std::uniform_int_distribution<uint32_t> dividend(0, INT32_MAX);
  for (uint32_t d : divisors) {
    const FastDivisor32 f(d);
    std::vector<uint32_t> ns = {0,
                                1,
                                d - 1,
                                d,
                                d + 1,
                                2 * d - 1,
                                INT32_MAX,
                                INT32_MAX - 1,
                                INT32_MAX - d,
                                (INT32_MAX / d) * d,
                                (INT32_MAX / d) * d - 1};
    for (int i = 0; i < 200; ++i) ns.push_back(dividend(rng));
    for (uint32_t n : ns) {
      if (n > static_cast<uint32_t>(INT32_MAX)) continue;
      ASSERT_EQ(f.div(n), n / d) << n << " / " << d;
    }
  }
  // Small divisors over a dense range of dividends.
  for (uint32_t d = 1; d <= 64; ++d) {
    const FastDivisor32 f(d);
    for (uint32_t n = 0; n < 100000; ++n) ASSERT_EQ(f.div(n), n / d) << n << " / " << d;
  }
}

// The offset in input i the kernel reads for output element e (items of `vec` elements).
template <typename Index>
int64_t kernel_offset(const FusedLayout<Index>& l, const FusedInputPlan& p, int i, int64_t e,
                      int vec) {
  const int64_t e0 = e / vec * vec;
  if (p.access[i] == FusedAccess::kGather) {
    return static_cast<int64_t>(fused_strided_offset(l, i, static_cast<Index>(e)));
  }
  return static_cast<int64_t>(fused_item_base(l, p, i, static_cast<Index>(e0))) +
         (e - e0) * fused_item_step(p, i);
}

struct Case {
  std::vector<int64_t> out;
  std::vector<std::vector<int64_t>> ins;
  std::vector<size_t> sizes;
  std::vector<uintptr_t> addr;
};

// Checks every element's offsets and every vector access's alignment for both index types.
void check_case(const Case& c, int vec, const std::string& what) {
  const int n_in = static_cast<int>(c.ins.size());
  std::vector<Dims> shapes;
  for (const auto& s : c.ins) shapes.push_back(make_dims(s));
  const Dims y = make_dims(c.out);
  FusedLayout<uint32_t> l32;
  FusedLayout<int64_t> l64;
  FusedInputPlan p32, p64;
  ASSERT_TRUE(
      plan_fused_layout(shapes.data(), c.sizes.data(), c.addr.data(), n_in, y, vec, &l32, &p32))
      << what;
  ASSERT_TRUE(
      plan_fused_layout(shapes.data(), c.sizes.data(), c.addr.data(), n_in, y, vec, &l64, &p64))
      << what;
  ASSERT_GE(l32.rank, 1);
  ASSERT_LE(l32.rank, std::max(1, y.rank())) << what;
  const int64_t n = y.volume();
  for (int i = 0; i < n_in; ++i) {
    ASSERT_EQ(p32.access[i], p64.access[i]) << what;
    ASSERT_EQ(p32.mode[i], p64.mode[i]) << what;
    int64_t numel = 1;
    for (int64_t e : c.ins[i]) numel *= e;
    for (int64_t e = 0; e < n; ++e) {
      const int64_t want = broadcast_offset(c.ins[i], coords(e, c.out));
      ASSERT_EQ(kernel_offset(l32, p32, i, e, vec), want) << what << " input " << i << " e " << e;
      ASSERT_EQ(kernel_offset(l64, p64, i, e, vec), want) << what << " input " << i << " e " << e;
    }
    // A vector access of a whole item: aligned for its bytes (up to 16).
    if (p32.access[i] == FusedAccess::kVector) {
      const size_t bytes = c.sizes[i] * static_cast<size_t>(vec);
      const size_t align = std::min<size_t>(bytes, 16);
      for (int64_t e0 = 0; e0 + vec <= n; e0 += vec) {
        const int64_t base =
            static_cast<int64_t>(fused_item_base(l32, p32, i, static_cast<uint32_t>(e0)));
        ASSERT_LE(base + vec, numel) << what;
        ASSERT_EQ((c.addr[i] + static_cast<uintptr_t>(base) * c.sizes[i]) % align, 0u)
            << what << " input " << i << " item at " << e0;
      }
    }
  }
}

TEST(FusedLayout, OffsetsMatchCoordinates) {
  std::mt19937 rng(2);
  const int64_t extents[] = {1, 1, 2, 3, 4, 5, 8, 16, 7};
  std::uniform_int_distribution<int> rank_d(0, 5), ext_d(0, 8), coin(0, 2), n_in_d(1, 5),
      size_d(0, 3), align_d(0, 15);
  const size_t sizes[] = {1, 2, 4, 8};
  int vector_reads = 0, broadcasts = 0, runs = 0, gathers = 0;
  for (int iter = 0; iter < 600; ++iter) {
    Case c;
    const int rank = rank_d(rng);
    c.out.resize(rank);
    int64_t n = 1;
    for (int64_t& e : c.out) {
      e = extents[ext_d(rng)];
      n *= e;
    }
    if (n > 20000) continue;
    const int n_in = n_in_d(rng);
    for (int i = 0; i < n_in; ++i) {
      // A suffix of the output's dims, each kept or set to 1.
      std::vector<int64_t> v(c.out.begin() + std::uniform_int_distribution<int>(0, rank)(rng),
                             c.out.end());
      for (int64_t& e : v) e = coin(rng) == 0 ? 1 : e;
      c.ins.push_back(v);
      c.sizes.push_back(sizes[size_d(rng)]);
      // Mostly 16-byte aligned buffers, some shifted by whole elements.
      const uintptr_t shift = coin(rng) == 0 ? static_cast<uintptr_t>(align_d(rng)) : 0;
      c.addr.push_back(4096 + shift * c.sizes.back());
    }
    for (int vec : {1, 4, 8}) {
      check_case(c, vec, "iter " + std::to_string(iter) + " vec " + std::to_string(vec));
      if (::testing::Test::HasFatalFailure()) return;
      std::vector<Dims> shapes;
      for (const auto& s : c.ins) shapes.push_back(make_dims(s));
      FusedLayout<uint32_t> l;
      FusedInputPlan p;
      ASSERT_TRUE(plan_fused_layout(shapes.data(), c.sizes.data(), c.addr.data(), n_in,
                                    make_dims(c.out), vec, &l, &p));
      for (int i = 0; i < n_in; ++i) {
        vector_reads += p.access[i] == FusedAccess::kVector;
        broadcasts += p.access[i] == FusedAccess::kBroadcast;
        runs += p.access[i] == FusedAccess::kRun;
        gathers += p.access[i] == FusedAccess::kGather;
      }
    }
  }
  // The random cases reach every access kind.
  EXPECT_GT(vector_reads, 50);
  EXPECT_GT(broadcasts, 50);
  EXPECT_GT(runs, 20);
  EXPECT_GT(gathers, 20);
}

TEST(FusedLayout, TypicalPlans) {
  const size_t f16[] = {2, 2, 2};
  const uintptr_t aligned[] = {1 << 20, 2 << 20, 3 << 20};
  FusedLayout<uint32_t> l;
  FusedInputPlan p;
  // BERT embeddings: [32,128,768] + [32,128,768] + [1,128,768] -> two dims, every input read
  // in 16-byte vectors.
  const Dims bert[] = {{32, 128, 768}, {32, 128, 768}, {1, 128, 768}};
  ASSERT_TRUE(plan_fused_layout(bert, f16, aligned, 3, Dims{32, 128, 768}, 8, &l, &p));
  EXPECT_EQ(l.rank, 2);
  EXPECT_EQ(l.dims[0], 32u);
  EXPECT_EQ(l.dims[1], 128u * 768u);
  EXPECT_EQ(p.mode[0], FusedMode::kFull);
  EXPECT_EQ(p.mode[2], FusedMode::kStrided);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p.access[i], FusedAccess::kVector) << i;
  // Bias [768] over [4096,768]: strided vector reads; a scalar: one element per item.
  const Dims bias[] = {{4096, 768}, {768}, {1}};
  ASSERT_TRUE(plan_fused_layout(bias, f16, aligned, 3, Dims{4096, 768}, 8, &l, &p));
  EXPECT_EQ(p.access[0], FusedAccess::kVector);
  EXPECT_EQ(p.access[1], FusedAccess::kVector);
  EXPECT_EQ(p.access[2], FusedAccess::kBroadcast);
  // Per-channel [C,1,1] over [N,C,H,W]: broadcast within rows of H*W (a multiple of 8), else
  // gathered.
  const Dims channel[] = {{8, 64, 56, 56}, {64, 1, 1}};
  ASSERT_TRUE(plan_fused_layout(channel, f16, aligned, 2, Dims{8, 64, 56, 56}, 8, &l, &p));
  EXPECT_EQ(l.rank, 3);
  EXPECT_EQ(p.access[1], FusedAccess::kBroadcast);
  const Dims odd[] = {{8, 64, 7, 7}, {64, 1, 1}};
  ASSERT_TRUE(plan_fused_layout(odd, f16, aligned, 2, Dims{8, 64, 7, 7}, 8, &l, &p));
  EXPECT_EQ(p.access[0], FusedAccess::kVector);
  EXPECT_EQ(p.access[1], FusedAccess::kGather);
  // A view shifted by one element: element by element.
  const uintptr_t shifted[] = {(1 << 20) + 2, 2 << 20};
  ASSERT_TRUE(plan_fused_layout(bias, f16, shifted, 2, Dims{4096, 768}, 8, &l, &p));
  EXPECT_EQ(p.access[0], FusedAccess::kRun);
  EXPECT_EQ(p.access[1], FusedAccess::kVector);
  // Inputs that do not broadcast.
  const Dims bad[] = {{4, 3}, {2}};
  EXPECT_FALSE(plan_fused_layout(bad, f16, aligned, 2, Dims{4, 3}, 8, &l, &p));
  const Dims too_big[] = {{2, 4, 3}};
  EXPECT_FALSE(plan_fused_layout(too_big, f16, aligned, 1, Dims{4, 3}, 8, &l, &p));
}

// ---- slot allocation

// The program evaluated on registers (as the CPU kernels do).
float run_registers(const FusedProgram& p, const std::vector<float>& in) {
  std::vector<float> regs(in);
  auto operand = [&](int16_t r) {
    return r >= 0 ? regs[static_cast<size_t>(r)] : p.constants[static_cast<size_t>(-r - 1)];
  };
  for (const FusedInstruction& ins : p.code) {
    regs.push_back(fused_eval(ins, operand(ins.x), operand(ins.y), operand(ins.z)));
  }
  return regs.back();
}

// The slot program evaluated as the CUDA kernel does: inputs in slots 0..n-1, operands read
// before the result is written, the previous result forwarded, unread operands never touched
// (filled with NaN here so that a wrong read shows).
float run_slots(const FusedProgram& p, const FusedSlotProgram& s, const std::vector<float>& in) {
  std::vector<float> slots(static_cast<size_t>(s.slots), std::nanf(""));
  for (size_t i = 0; i < in.size(); ++i) slots[i] = in[i];
  float prev = 0.f;
  for (const FusedSlotInstruction& ins : s.code) {
    auto operand = [&](int8_t r) {
      if (r == kFusedPrevious) return prev;
      if (r < 0) return p.constants[static_cast<size_t>(-r - 1)];
      EXPECT_LT(r, s.slots);
      return slots[static_cast<size_t>(r)];
    };
    const int used = fused_operand_count(ins.kind);
    const float x = operand(ins.x);
    const float y = used > 1 ? operand(ins.y) : 0.f;
    const float z = used > 2 ? operand(ins.z) : 0.f;
    FusedInstruction f;
    f.kind = ins.kind;
    f.sub = ins.sub;
    const float r = fused_eval(f, x, y, z);
    if (ins.dst >= 0) {
      EXPECT_LT(ins.dst, s.slots);
      slots[static_cast<size_t>(ins.dst)] = r;
    }
    prev = r;
  }
  return prev;
}

TEST(FusedSlots, RandomProgramsMatchRegisters) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> val(-2.f, 2.f);
  int max_slots = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    FusedProgram p;
    p.num_inputs = std::uniform_int_distribution<int>(1, kFusedMaxInputs)(rng);
    const int n_code = std::uniform_int_distribution<int>(1, kFusedMaxInstructions)(rng);
    const int n_const = std::uniform_int_distribution<int>(0, 4)(rng);
    for (int c = 0; c < n_const; ++c) p.constants.push_back(val(rng));
    for (int k = 0; k < n_code; ++k) {
      const int regs = p.num_inputs + k;
      // Operands: registers (see below) or, one time in five, constants.
      auto operand = [&]() -> int16_t {
        if (n_const > 0 && std::uniform_int_distribution<int>(0, 4)(rng) == 0) {
          return static_cast<int16_t>(-std::uniform_int_distribution<int>(1, n_const)(rng));
        }
        // Mostly the last few registers, sometimes any (long-lived values).
        const bool any = std::uniform_int_distribution<int>(0, 3)(rng) == 0;
        const int back =
            any ? regs : std::min(regs, 1 + std::uniform_int_distribution<int>(0, 5)(rng));
        return static_cast<int16_t>(std::uniform_int_distribution<int>(regs - back, regs - 1)(rng));
      };
      FusedInstruction ins;
      const int kind = std::uniform_int_distribution<int>(0, 4)(rng);
      ins.kind = static_cast<FusedKind>(kind);
      switch (ins.kind) {
        case FusedKind::kBinary:
          ins.sub = static_cast<uint8_t>(std::uniform_int_distribution<int>(0, 5)(rng));  // no pow
          break;
        case FusedKind::kUnary:
          ins.sub = 5;  // neg: defined everywhere
          break;
        case FusedKind::kActivation:
          ins.sub = 7;  // clip(x, y, z)
          break;
        case FusedKind::kWhere:
          break;
        case FusedKind::kRound:
          ins.sub = static_cast<uint8_t>(DataType::kFloat16);
          break;
      }
      ins.x = operand();
      const int used = fused_operand_count(ins.kind);
      if (used > 1) ins.y = operand();
      if (used > 2) ins.z = operand();
      p.code.push_back(ins);
    }
    const FusedSlotProgram s = allocate_fused_slots(p);
    ASSERT_EQ(s.code.size(), p.code.size());
    ASSERT_GE(s.slots, p.num_inputs);
    ASSERT_LE(s.slots, p.num_inputs + n_code);
    ASSERT_EQ(s.code.back().dst, -1);  // the output is never stored
    max_slots = std::max(max_slots, s.slots);
    for (int rep = 0; rep < 3; ++rep) {
      std::vector<float> in;
      for (int i = 0; i < p.num_inputs; ++i) in.push_back(val(rng));
      const float want = run_registers(p, in);
      const float got = run_slots(p, s, in);
      ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want))
          << "iter " << iter << ": " << got << " vs " << want;
    }
  }
  EXPECT_GT(max_slots, 8);  // some programs need the indexed-slot kernel
}

TEST(FusedSlots, ChainsNeedFewSlots) {
  // BERT embeddings: (a + b) + c: three input slots, the sum forwarded.
  FusedProgram emb;
  emb.num_inputs = 3;
  emb.code = {{FusedKind::kBinary, 0, 0, 1, 0}, {FusedKind::kBinary, 0, 3, 2, 0}};
  FusedSlotProgram s = allocate_fused_slots(emb);
  EXPECT_EQ(s.slots, 3);
  EXPECT_EQ(s.code[0].dst, -1);
  EXPECT_EQ(s.code[1].x, kFusedPrevious);
  EXPECT_EQ(s.code[1].y, 2);
  // A long unary chain on one input: one slot.
  FusedProgram chain;
  chain.num_inputs = 1;
  chain.code.push_back({FusedKind::kUnary, 5, 0, 0, 0});
  for (int k = 1; k < kFusedMaxInstructions; ++k) {
    chain.code.push_back({FusedKind::kUnary, 5, static_cast<int16_t>(k), 0, 0});
  }
  EXPECT_EQ(allocate_fused_slots(chain).slots, 1);
  // A value read two instructions later is kept in a slot (reusing a dead input's).
  FusedProgram keep;
  keep.num_inputs = 2;
  keep.code = {{FusedKind::kBinary, 0, 0, 1, 0},   // r2 = r0 + r1
               {FusedKind::kUnary, 5, 2, 0, 0},    // r3 = -r2
               {FusedKind::kBinary, 2, 3, 2, 0}};  // r4 = r3 * r2
  s = allocate_fused_slots(keep);
  EXPECT_EQ(s.slots, 2);
  EXPECT_GE(s.code[0].dst, 0);
  EXPECT_EQ(s.code[2].x, kFusedPrevious);
  EXPECT_EQ(s.code[2].y, s.code[0].dst);
}

}  // namespace
}  // namespace kiln::ops::fused_layout_test
