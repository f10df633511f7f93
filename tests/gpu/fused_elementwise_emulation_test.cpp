// The FusedElementwise CUDA kernel's item code (fused_item.cuh: input reads by access kind, raw
// bytes to float, slots, the program with the previous result in place, vector or element
// stores) run on the host for every item, with the host's formulas for the instructions, and
// compared bit for bit with the CPU reference. Every kernel variant that applies to a case runs
// (16-byte items of the output's dtype, items of 4, one element with 32-bit and with 64-bit
// indices), on buffers aligned as the device allocator aligns them, shifted by whole elements,
// and in place. The cases are the GPU tests' (fused_cases.h); no GPU needed. What this cannot
// show (the device math functions, the launch, shared memory) the GPU tests do.
#include "gpu/fused_cases.h"
#include "ops/fused_elementwise/fused_item.cuh"

#include <cstring>

namespace kiln::testing::fused_elementwise_emulation_test {
namespace {

// fused_process_item's instruction evaluation with the CPU reference's formulas. b and c are
// read only for the kinds that have them, where fused_process_item has loaded them (GCC cannot
// tell, hence the pragma).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
struct HostEval {
  template <int V>
  void operator()(ops::FusedKind kind, uint8_t sub, float (&acc)[V], const float (&b)[V],
                  const float (&c)[V]) const {
    ops::FusedInstruction ins;
    ins.kind = kind;
    ins.sub = sub;
    const int used = ops::fused_operand_count(kind);
    for (int k = 0; k < V; ++k) {
      acc[k] = ops::fused_eval(ins, acc[k], used > 1 ? b[k] : 0.f, used > 2 ? c[k] : 0.f);
    }
  }
};
#pragma GCC diagnostic pop

// Host memory at a 256-byte boundary (as device allocations) plus `shift` bytes.
class HostBuffer {
 public:
  HostBuffer(const void* data, size_t bytes, size_t shift) : mem_(bytes + shift + 512) {
    const auto base = reinterpret_cast<uintptr_t>(mem_.data());
    p_ = mem_.data() + ((256 - base % 256) % 256) + shift;
    if (data) std::memcpy(p_, data, bytes);
  }
  unsigned char* get() const { return p_; }

 private:
  std::vector<unsigned char> mem_;
  unsigned char* p_;
};

template <typename T>
struct OutputType;
template <>
struct OutputType<float> {
  static constexpr DataType kDtype = DataType::kFloat32;
};
template <>
struct OutputType<__half> {
  static constexpr DataType kDtype = DataType::kFloat16;
};
template <>
struct OutputType<__nv_bfloat16> {
  static constexpr DataType kDtype = DataType::kBFloat16;
};

// Runs the case through one kernel variant on the host; false (nothing run) where the variant
// does not apply (an input's item does not fit its raw registers).
template <typename T, typename Index, int V, bool kSame, int kInputs>
bool emulate(const OpCase& c, const HostTensor& want, int shift, bool in_place, HostTensor* got) {
  auto program = ops::parse_fused_program(c.attrs, static_cast<int>(c.inputs.size()));
  EXPECT_TRUE(program.is_ok()) << program.status().to_string();
  if (!program.is_ok()) return false;
  const int n_in = static_cast<int>(c.inputs.size());
  std::vector<HostBuffer> buffers;
  buffers.reserve(n_in + 1);
  ops::FusedInputPointers in;
  Dims shapes[ops::kFusedMaxInputs];
  size_t sizes[ops::kFusedMaxInputs] = {};
  uintptr_t addr[ops::kFusedMaxInputs] = {};
  for (int i = 0; i < n_in; ++i) {
    const HostTensor& t = c.inputs[i];
    buffers.emplace_back(t.data(), t.nbytes(), shift * dtype_size(t.dtype()));
    in.ptr[i] = buffers.back().get();
    in.dtype[i] = t.dtype();
    sizes[i] = dtype_size(t.dtype());
    in.size[i] = static_cast<uint8_t>(sizes[i]);
    shapes[i] = t.shape();
    addr[i] = reinterpret_cast<uintptr_t>(buffers.back().get());
  }
  const Dims& y = want.shape();
  ops::FusedLayout<Index> l;
  ops::FusedInputPlan plan;
  EXPECT_TRUE(ops::plan_fused_layout(shapes, sizes, addr, n_in, y, V, &l, &plan));
  if (!ops::fused_fits_raw(plan, sizes, V)) return false;
  const ops::FusedSlotProgram slots = ops::allocate_fused_slots(*program);
  const ops::FusedSlotCode code = ops::make_fused_slot_code(*program, slots);
  std::vector<float> slot_memory(static_cast<size_t>(slots.slots) * V, std::nanf(""));
  const ops::FusedSlots<V> storage{slot_memory.data(), 1, 0};
  T* out = in_place ? static_cast<T*>(const_cast<void*>(in.ptr[0]))
                    : reinterpret_cast<T*>(
                          buffers.emplace_back(nullptr, want.nbytes(), shift * sizeof(T)).get());
  const bool out_vector = reinterpret_cast<uintptr_t>(out) % (sizeof(T) * V) == 0;
  const Index n = static_cast<Index>(y.volume());
  const Index items = n / V + (n % V != 0 ? 1 : 0);
  for (Index item = 0; item < items; ++item) {
    ops::fused_process_item<T, Index, V, kSame, kInputs>(out, n, out_vector, l, plan, in, code,
                                                         storage, HostEval{}, item);
  }
  *got = HostTensor(want.dtype(), y);
  std::memcpy(got->data(), out, got->nbytes());
  return true;
}

// Every variant that applies, as the kernel's launch() would consider them.
template <typename T>
int check_variants(const fused::NamedCase& k, const HostTensor& want, int shift, bool in_place) {
  constexpr int kVec = cuda::kVectorWidth<T>;
  const std::string what =
      k.what + (in_place ? " in place" : "") + (shift ? " shifted " + std::to_string(shift) : "");
  bool same = k.c.inputs.size() <= 4;
  for (const HostTensor& t : k.c.inputs) same = same && t.dtype() == k.out;
  int ran = 0;
  auto check = [&](bool done, const HostTensor& got, const char* variant) {
    if (!done) return;
    ++ran;
    EXPECT_TRUE(all_close(got, want, 0, 0)) << what << ", " << variant;
  };
  HostTensor got;
  if (same) {
    check(emulate<T, uint32_t, kVec, true, 4>(k.c, want, shift, in_place, &got), got,
          "16-byte items");
  }
  check(emulate<T, uint32_t, 4, false, ops::kFusedMaxInputs>(k.c, want, shift, in_place, &got), got,
        "items of 4");
  check(emulate<T, uint32_t, 1, false, ops::kFusedMaxInputs>(k.c, want, shift, in_place, &got), got,
        "one element, 32-bit indices");
  check(emulate<T, int64_t, 1, false, ops::kFusedMaxInputs>(k.c, want, shift, in_place, &got), got,
        "one element, 64-bit indices");
  return ran;
}

// Runs every case's variants, unshifted, shifted and in place; returns the variant runs.
int check_cases(const std::vector<fused::NamedCase>& cases) {
  int runs = 0;
  for (const fused::NamedCase& k : cases) {
    auto want = run_reference_case(k.c);
    EXPECT_TRUE(want.is_ok()) << k.what << ": " << want.status().to_string();
    if (!want.is_ok()) continue;
    std::vector<std::pair<int, bool>> layouts = {{0, false}};
    for (int s : k.shifts) layouts.push_back({s, false});
    if (k.in_place) layouts.push_back({0, true});
    for (auto [shift, in_place] : layouts) {
      const HostTensor& w = (*want)[0];
      int ran = 0;
      switch (k.out) {
        case DataType::kFloat32:
          ran = check_variants<float>(k, w, shift, in_place);
          break;
        case DataType::kFloat16:
          ran = check_variants<__half>(k, w, shift, in_place);
          break;
        default:
          ran = check_variants<__nv_bfloat16>(k, w, shift, in_place);
          break;
      }
      EXPECT_GE(ran, 2) << k.what;  // one element per thread, both index types, at least
      runs += ran;
    }
  }
  return runs;
}

TEST(FusedElementwiseEmulation, BroadcastInputsEveryAccess) {
  std::mt19937 rng(5);
  const auto cases = fused::broadcast_cases(rng);
  // Each case: 16-byte items, items of 4 and both one-element variants.
  EXPECT_GE(check_cases(cases), static_cast<int>(cases.size()) * 3 * 4);
}

TEST(FusedElementwiseEmulation, MixedInputDtypes) {
  std::mt19937 rng(7);
  EXPECT_GT(check_cases(fused::mixed_dtype_cases(rng)), 0);
}

TEST(FusedElementwiseEmulation, ManyLiveValues) {
  std::mt19937 rng(8);
  EXPECT_GT(check_cases(fused::live_value_cases(rng)), 0);
}

TEST(FusedElementwiseEmulation, MathNanAndRoundingOnItems) {
  std::mt19937 rng(9);
  EXPECT_GT(check_cases(fused::math_cases(rng)), 0);
}

}  // namespace
}  // namespace kiln::testing::fused_elementwise_emulation_test
